import { refreshHookLines } from "./endpoint-refresh";
import { DEFAULT_WG_MTU } from "./render-context";
import { configPath } from "./paths";
import { IPV6_ADDRGEN_OFF, stanzaSyncLine } from "./proxmox";
import { routedPeerPrefixes, routedPrefixes, type InterfaceView } from "./resolve";

/**
 * Our /etc/network/interfaces stanza: the link is created unless it exists (by the kernel, else
 * by wireguard-go, as wg-quick does) and brought to the file beside the keys with `wg syncconf`
 * unless it runs the file's key already (an `ifreload -a`, which runs every stanza again, leaves
 * a running link as it is: no peer loses a packet or its session), and the peers' AllowedIPs
 * outside the interface's own subnet get routes (wg-quick would add them; ifupdown2 does not).
 * A peer reached by name gets the interface's follower of endpoint names, started and stopped
 * with the link.
 */
export function renderIfupdown2(view: InterfaceView): string {
  const { iface } = view;
  // one stanza for both families; an IPv6-only interface keeps the `inet6` it always had
  const ipv6Only = view.addresses.length > 0 && view.addresses.every((address) => address.family === 6);
  const lines = [`auto ${iface}`, `iface ${iface} inet${ipv6Only ? "6" : ""} static`];
  for (const address of view.addresses) lines.push(`\taddress ${address.toString()}`);
  // always stated, as is ipv6-addrgen off: without them every ifreload sets ifupdown2's default
  // MTU (1500), not WireGuard's, and takes the link down and up to set IPv6 address generation
  lines.push(`\tmtu ${view.mtu ?? DEFAULT_WG_MTU}`, IPV6_ADDRGEN_OFF);
  // the userspace fallback is wg-quick's, for hosts without the kernel module (containers)
  lines.push(`\tpre-up ip link show dev ${iface} >/dev/null 2>&1 || ip link add dev ${iface} type wireguard || wireguard-go ${iface}`);
  const config = configPath("ifupdown2", view.keyDir, iface);
  lines.push(stanzaSyncLine("pre-up", iface, config));
  for (const route of routedPrefixes(view.addresses, routedPeerPrefixes(view))) {
    lines.push(`\tup ip route replace ${route.toString()} dev ${iface}`);
  }
  lines.push(...refreshHookLines(view, "stanza", config), `\tpost-down ip link delete dev ${iface}`);
  return `${lines.join("\n")}\n`;
}
