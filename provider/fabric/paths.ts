import type { ApplyMode } from "../model";

/** Where wg-quick (and its boot unit `wg-quick@<iface>`) reads an interface's config. */
export function wgQuickConfigPath(iface: string): string {
  return `/etc/wireguard/${iface}.conf`;
}

/** Where the ifupdown2 stanza of an interface is written. */
export function ifupdown2StanzaPath(iface: string): string {
  return `/etc/network/interfaces.d/wg-fabric-${iface}`;
}

/** Where the `setconf` file of an interface lives in ifupdown2 mode (beside its keys). */
export function setconfPath(keyDir: string, iface: string): string {
  return `${keyDir}/${iface}.conf`;
}

/** Where an interface's config is written in `mode`: wg-quick's folder, or beside the keys for ifupdown2. */
export function configPath(mode: ApplyMode, keyDir: string, iface: string): string {
  return mode === "ifupdown2" ? setconfPath(keyDir, iface) : wgQuickConfigPath(iface);
}
