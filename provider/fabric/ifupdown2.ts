import { routesOf, type InterfaceView } from "./resolve";

/** Where the ifupdown2 stanza of an interface is written. */
export function ifupdown2StanzaPath(iface: string): string {
  return `/etc/network/interfaces.d/wg-fabric-${iface}`;
}

/** Where the `setconf` file of an interface lives in ifupdown2 mode (beside its keys). */
export function setconfPath(keyDir: string, iface: string): string {
  return `${keyDir}/${iface}.conf`;
}

/**
 * An /etc/network/interfaces stanza as Proxmox writes for its fabrics: the link is created (by
 * the kernel, else by wireguard-go, as wg-quick does) and configured with `wg setconf` from the
 * file beside the keys, and the peers' AllowedIPs outside the interface's own subnet get
 * routes (wg-quick would add them; ifupdown2 does not).
 */
export function renderIfupdown2(view: InterfaceView): string {
  const { iface } = view;
  const lines = [`auto ${iface}`, `iface ${iface} inet${view.address?.family === 6 ? "6" : ""} static`];
  if (view.address) lines.push(`\taddress ${view.address.toString()}`);
  if (view.mtu !== undefined) lines.push(`\tmtu ${view.mtu}`);
  // the userspace fallback is wg-quick's, for hosts without the kernel module (containers)
  lines.push(`\tpre-up ip link add dev ${iface} type wireguard || wireguard-go ${iface}`);
  lines.push(`\tpre-up wg setconf ${iface} ${setconfPath(view.keyDir, iface)}`);
  const seen = new Set<string>();
  for (const peer of view.peers) {
    for (const route of routesOf(peer)) {
      const text = route.toString();
      if (seen.has(text) || (view.address && view.address.network().overlaps(route) && route.prefix >= view.address.prefix)) continue;
      seen.add(text);
      lines.push(`\tup ip route replace ${text} dev ${iface}`);
    }
  }
  lines.push(`\tpost-down ip link delete dev ${iface}`);
  return `${lines.join("\n")}\n`;
}
