import type { Cidr, WgKey } from "../model";
import { refreshHookLines } from "./endpoint-refresh";
import { configPath, proxmoxConfigPath } from "./paths";
import { DEFAULT_WG_MTU } from "./render-context";
import { joinConfig, peerSections, type ConfigParts, type RenderContext } from "./render-context";
import { routedPeerPrefixes, routesOf, type InterfaceView, type PeerView } from "./resolve";
import { writePeerSection } from "./wg-format";

/**
 * The two files a Proxmox VE node writes for a WireGuard fabric interface (proxmox-ve-rs's
 * `WireGuardConfigBuilder` and proxmox-perl-rs's ifupdown2 stanza), so that an interface this
 * package manages and one Proxmox VE's SDN manages look the same on the node.
 */

/** One [Peer] section as Proxmox VE writes it: all AllowedIPs on one line (host routes first). A pre-shared key is ours: Proxmox VE has none. */
function proxmoxPeer(peer: PeerView, publicKey: WgKey): string {
  return writePeerSection(peer, publicKey, routesOf(peer), []);
}

/**
 * `/etc/wireguard/proxmox/<iface>.conf` in wg(8) `setconf` format: `ListenPort` and the peers;
 * addresses live in the stanza. Without a private key in `context`, the `PrivateKey` line is
 * left out: the node adds its own.
 */
export function renderProxmoxConfig(view: InterfaceView, context: RenderContext): string {
  return joinConfig(proxmoxConfigParts(view, context));
}

/** Proxmox VE's config in parts (see {@link renderProxmoxConfig}). */
export function proxmoxConfigParts(view: InterfaceView, context: RenderContext): ConfigParts {
  let head = "[Interface]\n";
  if (context.privateKey !== undefined) head += `PrivateKey = ${context.privateKey}\n`;
  if (view.listenPort !== undefined) head += `ListenPort = ${view.listenPort}\n`;
  return { head, peers: peerSections(view, context, proxmoxPeer) };
}

/**
 * The prefixes the stanza routes to the interface: every AllowedIP of every peer that does not
 * skip route generation, host routes included, each once; never a default route (a full tunnel
 * is refused in proxmox mode: see route-checks.ts).
 */
export function proxmoxRoutes(view: InterfaceView): Cidr[] {
  const routes = new Map<string, Cidr>();
  for (const route of routedPeerPrefixes(view)) if (route.prefix !== 0) routes.set(route.toString(), route);
  return [...routes.values()];
}

/**
 * The ifupdown2 stanza Proxmox VE writes for one of its own fabric's interfaces (into
 * `/etc/network/interfaces.d/sdn`): `inet static` with the IPv4 address (`inet manual` without
 * one), `link-type wireguard`, `wg syncconf` from its config in Proxmox VE's folder, a route pair
 * per routed prefix, and an `inet6` block for the IPv6 address. An MTU (ours) is the one line
 * Proxmox VE would not write.
 */
export function renderProxmoxStanza(view: InterfaceView): string {
  const config = proxmoxConfigPath(view.iface);
  return proxmoxStanza(view, `\tpost-up wg syncconf ${view.iface} ${config}`, [], []);
}

/**
 * The stanza `proxmox` apply mode writes: Proxmox VE's shape, with the config read from our key
 * folder (Proxmox VE's network apply empties its own), the MTU always stated and `ipv6-addrgen
 * off`, so that an `ifreload -a` (every Proxmox VE network apply) changes nothing on the link:
 * without them ifupdown2 sets its own default MTU (1500), and takes the link down and up to set
 * IPv6 address generation (a WireGuard link has no use for a link-local address; the kernel
 * creates it without one). A peer reached by name gets the follower of endpoint names.
 */
export function renderProxmoxModeStanza(view: InterfaceView): string {
  const config = configPath("proxmox", view.keyDir, view.iface);
  return proxmoxStanza({ ...view, mtu: view.mtu ?? DEFAULT_WG_MTU }, stanzaSyncLine("post-up", view.iface, config), [IPV6_ADDRGEN_OFF], refreshHookLines(view, "stanza", config));
}

/** The line that keeps ifupdown2 from flapping a WireGuard link on every reload (see {@link renderProxmoxModeStanza}). */
export const IPV6_ADDRGEN_OFF = "\tipv6-addrgen off";

/**
 * Our stanzas' line that brings the link to its config: `wg syncconf`, on a link that does not
 * run the config's key yet (one just made: at boot, by ifup, after wireguard-go died). A link
 * that runs it is left as it is, as apply keeps it to the file peer by peer: syncconf sets every
 * peer's AllowedIPs anew (wireguard-tools, src/config.c), and a packet that arrives in between is
 * dropped, on every `ifreload -a` (every Proxmox VE network apply). The key is read on the node,
 * on a pipe.
 */
export function stanzaSyncLine(hook: "pre-up" | "post-up", iface: string, config: string): string {
  const runs = `"$(wg show ${iface} public-key 2>/dev/null)"`;
  const declares = `"$(sed -n 's/^PrivateKey *= *//p' ${config} | wg pubkey 2>/dev/null)"`;
  return `\t${hook} [ ${runs} = ${declares} ] || wg syncconf ${iface} ${config}`;
}

/** `sync`: the line that loads the config; `ours`: lines of ours after the address and MTU; `hooks`: ours after Proxmox VE's own up and down lines. */
function proxmoxStanza(view: InterfaceView, sync: string, ours: readonly string[], hooks: readonly string[]): string {
  const { iface } = view;
  const ip4 = view.addresses.find((address) => address.family === 4);
  const ip6 = view.addresses.find((address) => address.family === 6);
  const lines = [`auto ${iface}`, ip4 ? `iface ${iface} inet static` : `iface ${iface} inet manual`];
  if (ip4) lines.push(`\taddress ${ip4.toString()}`);
  if (view.mtu !== undefined) lines.push(`\tmtu ${view.mtu}`);
  lines.push(...ours, "\tlink-type wireguard", "\tip-forward 1", sync);
  for (const route of proxmoxRoutes(view)) {
    lines.push(`\tpost-up ip route add ${route.toString()} dev ${iface}`, `\tdown ip route del ${route.toString()} dev ${iface}`);
  }
  lines.push(...hooks);
  if (ip6) lines.push("", `iface ${iface} inet6 static`, `\taddress ${ip6.toString()}`);
  return `${lines.join("\n")}\n`;
}
