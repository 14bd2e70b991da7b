import type { ApplyMode } from "../model";

/**
 * Proxmox VE's own folder for the configs of its SDN WireGuard fabrics. Every network apply of
 * a Proxmox VE node (GUI "Apply Configuration", every SDN apply) unlinks each `*.conf` in it
 * before writing its own (pve-network, `PVE::Network::SDN::WireGuard::write_wireguard_config`),
 * so nothing of ours lives there unless the user names it.
 */
export const PROXMOX_CONFIG_DIR = "/etc/wireguard/proxmox";

/** Folders a Proxmox VE node owns: its WireGuard configs, and the cluster file system. */
export const PROXMOX_OWNED_DIRS = [PROXMOX_CONFIG_DIR, "/etc/pve"] as const;

/** The Proxmox VE folder that holds `dir` (itself or a parent), if any. */
export function proxmoxOwnedDir(dir: string): string | undefined {
  return PROXMOX_OWNED_DIRS.find((owned) => dir === owned || dir.startsWith(`${owned}/`));
}

/** Where wg-quick (and its boot unit `wg-quick@<iface>`) reads an interface's config. */
export function wgQuickConfigPath(iface: string): string {
  return `/etc/wireguard/${iface}.conf`;
}

/** Where the ifupdown2 stanza of an interface is written (ifupdown2 and proxmox modes). */
export function ifupdown2StanzaPath(iface: string): string {
  return `/etc/network/interfaces.d/wg-fabric-${iface}`;
}

/** Where a Proxmox VE node keeps the config of one of its own SDN fabric's interfaces. */
export function proxmoxConfigPath(iface: string): string {
  return `${PROXMOX_CONFIG_DIR}/${iface}.conf`;
}

/**
 * Where an interface's config is written in `mode`: wg-quick's folder (`wg-quick`, `none`), or
 * our key folder beside its key (`ifupdown2`, `proxmox`: the stanza names it).
 */
export function configPath(mode: ApplyMode, keyDir: string, iface: string): string {
  return mode === "ifupdown2" || mode === "proxmox" ? `${keyDir}/${iface}.conf` : wgQuickConfigPath(iface);
}

/**
 * Where releases before 0.3 wrote it: the same, but `proxmox` mode used Proxmox VE's own folder
 * (which Proxmox VE's network apply empties). State of those releases does not record the path.
 */
export function legacyConfigPath(mode: ApplyMode, keyDir: string, iface: string): string {
  return mode === "proxmox" ? proxmoxConfigPath(iface) : configPath(mode, keyDir, iface);
}

/**
 * Where a config of the interface that someone else wrote would be: wg-quick's own, or, for the
 * stanza modes, the one Proxmox VE's SDN writes. With `adopt` its key is kept and the running
 * interface taken over; without, it is refused.
 */
export function foreignConfigPath(mode: ApplyMode, iface: string): string {
  return mode === "ifupdown2" || mode === "proxmox" ? proxmoxConfigPath(iface) : wgQuickConfigPath(iface);
}

/**
 * The file of a pair key in a key folder: named by the node's interface and the peer interface
 * it shares the key with (`wg0@pve2@wg0.psk`), so each end holds its own file of the pair.
 */
export function pairKeyFile(iface: string, peerNode: string, peerIface: string): string {
  return `${iface}@${peerNode}@${peerIface}.psk`;
}

/** True for a name {@link pairKeyFile} can give (node and interface names have no `@` or `/`). */
export function isPairKeyFile(name: string): boolean {
  return /^[a-zA-Z0-9][a-zA-Z0-9_=+.-]*@[a-zA-Z0-9-]+@[a-zA-Z0-9][a-zA-Z0-9_=+.-]*\.psk$/.test(name);
}

/**
 * The script that follows an interface's endpoint names (endpoint-refresh.sh), beside its key:
 * a folder only root may write to, as a script root runs must be in.
 */
export function endpointRefreshScriptPath(keyDir: string, iface: string): string {
  return `${keyDir}/${iface}.endpoint-refresh.sh`;
}
