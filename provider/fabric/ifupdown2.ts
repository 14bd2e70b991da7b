import { routedPrefixes } from "./declared";
import { setconfPath } from "./paths";
import { DEFAULT_WG_MTU } from "./sync-plan";
import { routedPeerPrefixes, type InterfaceView } from "./resolve";

/**
 * An /etc/network/interfaces stanza as Proxmox writes for its fabrics: the link is created (by
 * the kernel, else by wireguard-go, as wg-quick does) and configured with `wg setconf` from the
 * file beside the keys, and the peers' AllowedIPs outside the interface's own subnet get
 * routes (wg-quick would add them; ifupdown2 does not).
 */
export function renderIfupdown2(view: InterfaceView): string {
  const { iface } = view;
  // one stanza for both families; an IPv6-only interface keeps the `inet6` it always had
  const ipv6Only = view.addresses.length > 0 && view.addresses.every((address) => address.family === 6);
  const lines = [`auto ${iface}`, `iface ${iface} inet${ipv6Only ? "6" : ""} static`];
  for (const address of view.addresses) lines.push(`\taddress ${address.toString()}`);
  // always stated: without it ifupdown2 sets its own default (1500), not WireGuard's
  lines.push(`\tmtu ${view.mtu ?? DEFAULT_WG_MTU}`);
  // the userspace fallback is wg-quick's, for hosts without the kernel module (containers)
  lines.push(`\tpre-up ip link add dev ${iface} type wireguard || wireguard-go ${iface}`);
  lines.push(`\tpre-up wg setconf ${iface} ${setconfPath(view.keyDir, iface)}`);
  for (const route of routedPrefixes(view.addresses, routedPeerPrefixes(view))) {
    lines.push(`\tup ip route replace ${route.toString()} dev ${iface}`);
  }
  lines.push(`\tpost-down ip link delete dev ${iface}`);
  return `${lines.join("\n")}\n`;
}
