import { DEFAULT_KEY_DIR, type ApplyMode } from "../model";

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

/** Where a Proxmox VE node keeps an interface's config: always the RFC's folder, whatever the key folder. */
export function proxmoxConfigPath(iface: string): string {
  return `${DEFAULT_KEY_DIR}/${iface}.conf`;
}

/** Where an interface's config is written in `mode`: wg-quick's folder, beside the keys for ifupdown2, or Proxmox VE's. */
export function configPath(mode: ApplyMode, keyDir: string, iface: string): string {
  if (mode === "ifupdown2") return setconfPath(keyDir, iface);
  if (mode === "proxmox") return proxmoxConfigPath(iface);
  return wgQuickConfigPath(iface);
}
