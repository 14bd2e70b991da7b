import { Cidr, parseEndpoint, type Fabric, type InternalNode } from "../model";
import type { Report } from "./report";
import { hostRoutesOf, peerIndexOf, routesOf, type InterfaceView, type PeerView } from "./resolve";

/**
 * The checks of what each interface routes to its peers. WireGuard, like the kernel's route
 * lookup, gives an address to the peer with the longest matching prefix: nested prefixes (a
 * hub's summary, a spoke's subnet of it) are fine; only the very same prefix on two peers is
 * not (WireGuard silently moves it to the peer set last). A 1000-node mesh has a million peers
 * but a few thousand distinct routes and peer views (shared, see resolveInterfaces): each route
 * is numbered once, so the per-interface checks compare small integers.
 */

/** A distinct route of the fabric. */
interface NumberedRoute {
  /** Its number among the distinct routes. */
  readonly id: number;
  readonly route: Cidr;
  /** Endpoint addresses of the fabric's peers inside it (none for a default route). */
  readonly endpoints: readonly Cidr[];
}

/** What the checks need of one peer view, in its claims' order: allowed IPs, then host routes. */
interface PeerRoutes {
  readonly claims: readonly NumberedRoute[];
  /** Its allowed IPs that are default routes (0.0.0.0/0, ::/0). */
  readonly defaultRoutes: readonly Cidr[];
  readonly coversEndpoint: boolean;
}

const compareAddresses = (a: Cidr, b: Cidr): number => a.family - b.family || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0);

/** What {@link numberRoutes} works out once for a fabric. */
interface NumberedRoutes {
  /** Every distinct peer view with its numbered routes. */
  readonly byPeer: Map<PeerView, PeerRoutes>;
  readonly routeCount: number;
  /** Every peer endpoint's address as a host route; null for a hostname. */
  readonly endpointAddresses: ReadonlyMap<string, Cidr | null>;
}

/** Every distinct peer view of `views` with its numbered routes; equal prefixes get one number. */
function numberRoutes(views: readonly InterfaceView[]): NumberedRoutes {
  const peers = new Set<PeerView>();
  for (const view of views) for (const peer of view.peers) peers.add(peer);
  const endpointOf = new Map<string, Cidr | null>();
  const routes = new Set<Cidr>();
  for (const peer of peers) {
    for (const route of peer.allowedIps) routes.add(route);
    for (const route of hostRoutesOf(peer)) routes.add(route);
    if (peer.endpoint !== undefined && !endpointOf.has(peer.endpoint)) endpointOf.set(peer.endpoint, endpointAddress(peer.endpoint));
  }
  const endpoints = uniqueSorted([...endpointOf.values()].filter((address): address is Cidr => address !== null));
  const byPrefix = new Map<string, NumberedRoute>();
  const numbered = new Map<Cidr, NumberedRoute>();
  for (const route of routes) {
    const prefix = route.toString();
    let entry = byPrefix.get(prefix);
    if (!entry) byPrefix.set(prefix, (entry = { id: byPrefix.size, route, endpoints: route.prefix === 0 ? [] : endpointsInside(endpoints, route) }));
    numbered.set(route, entry);
  }
  const byPeer = new Map<PeerView, PeerRoutes>();
  for (const peer of peers) {
    const claims = [...peer.allowedIps, ...hostRoutesOf(peer)].map((route) => numbered.get(route) as NumberedRoute);
    byPeer.set(peer, {
      claims,
      defaultRoutes: peer.allowedIps.filter((route) => route.prefix === 0),
      coversEndpoint: claims.some((claim) => claim.endpoints.length > 0),
    });
  }
  return { byPeer, routeCount: byPrefix.size, endpointAddresses: endpointOf };
}

/** The address of an endpoint as a host route; null for a hostname or what does not parse. */
function endpointAddress(endpoint: string): Cidr | null {
  const parsed = parseEndpoint(endpoint);
  return typeof parsed === "string" || parsed.kind === "hostname" ? null : Cidr.of(`${parsed.host}/${parsed.kind === "ipv4" ? 32 : 128}`);
}

function uniqueSorted(addresses: Cidr[]): Cidr[] {
  const unique = [...new Map(addresses.map((address) => [address.toString(), address])).values()];
  return unique.sort(compareAddresses);
}

/** The endpoints (sorted) inside a route, found by binary search. */
function endpointsInside(sorted: readonly Cidr[], route: Cidr): Cidr[] {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (compareAddresses(sorted[mid] as Cidr, route) < 0) low = mid + 1;
    else high = mid;
  }
  const found: Cidr[] = [];
  for (let i = low; i < sorted.length && (sorted[i] as Cidr).family === route.family && (sorted[i] as Cidr).first <= route.last; i++) found.push(sorted[i] as Cidr);
  return found;
}

/**
 * Per interface: the same prefix on two peers (WireGuard keeps it for one only), a default
 * route without `fullTunnel` (all the node's traffic, its SSH session too, would enter the
 * tunnel) or in an apply mode that installs no policy routing for it; and warns of an AllowedIP
 * covering a peer's endpoint (WireGuard's own packets to it would enter the tunnel, and the
 * tunnel die, unless the node routes it more specifically: only the node's routes tell, which
 * the apply checks; see plan/endpoint-routes.ts).
 */
export function checkInterfaceRoutes(fabric: Fabric, views: readonly InterfaceView[], report: Report): void {
  const numbered = numberRoutes(views);
  // per route id: the interface (its number + 1) and the peer position that first claimed it
  const claimedIn = new Int32Array(numbered.routeCount);
  const claimedBy = new Int32Array(numbered.routeCount);
  views.forEach((view, v) => {
    const node = fabric.nodes[view.node] as InternalNode;
    const infos = view.peers.map((peer) => numbered.byPeer.get(peer) as PeerRoutes);
    // a peer's index in its node's entries, only for messages
    const indexAt = (position: number): number => peerIndexOf(fabric, view, position);
    infos.forEach((info, position) => {
      for (const claim of info.claims) {
        if (claimedIn[claim.id] !== v + 1) {
          claimedIn[claim.id] = v + 1;
          claimedBy[claim.id] = position;
        } else if (claimedBy[claim.id] !== position && (view.peers[claimedBy[claim.id] as number] as PeerView).label !== (view.peers[position] as PeerView).label) {
          // (the same peer listed twice is one mistake, reported as such by the duplicate check)
          const first = claimedBy[claim.id] as number;
          report(
            ["nodes", view.node, "interfaces", view.iface, "peers", indexAt(position), "allowedIps"],
            `${claim.route.toString()} of ${(view.peers[position] as PeerView).label} is also an AllowedIP of peers[${indexAt(first)}] (${(view.peers[first] as PeerView).label}): ` +
              "WireGuard keeps a prefix for one peer only (the last one set); route it to one of them (a narrower or wider prefix may go to the other: the longest match wins)",
          );
        }
      }
    });
    // most interfaces have neither: one plain pass finds out
    let defaultRoutes = false;
    let coversEndpoint = false;
    for (const info of infos) {
      defaultRoutes ||= info.defaultRoutes.length > 0;
      coversEndpoint ||= info.coversEndpoint;
    }
    if (defaultRoutes) checkDefaultRoutes(view, node, infos, indexAt, report);
    if (coversEndpoint) checkEndpointsOutsideTunnel(view, infos, numbered.endpointAddresses, indexAt, report);
  });
}

/**
 * A default route takes all of the node's traffic: only with `fullTunnel`, and only where the
 * node installs wg-quick's policy routing for it (its fwmark, its table, the two rules that keep
 * the main table's more specific routes, the node's own SSH path among them, in front).
 */
function checkDefaultRoutes(view: InterfaceView, node: InternalNode, infos: readonly PeerRoutes[], indexAt: (position: number) => number, report: Report): void {
  infos.forEach((info, position) => {
    const label = (view.peers[position] as PeerView).label;
    for (const route of info.defaultRoutes) {
      const where = ["nodes", view.node, "peers", indexAt(position), "allowedIps"];
      if (!node.fullTunnel) {
        report(where, `${route.toString()} would route all of ${view.node}'s traffic (its SSH connection too) to ${label}; set fullTunnel: true on ${view.node} if that is meant`);
      } else if (view.applyMode === "ifupdown2" || view.applyMode === "proxmox") {
        report(
          where,
          `${route.toString()} to ${label} needs the wg-quick apply mode: ${view.applyMode} mode installs no policy routing for a default route ` +
            "(Proxmox VE's fabrics have no full tunnel either)",
        );
      }
    }
  });
}

/** WireGuard sends its own packets to a peer's endpoint outside the tunnel: an AllowedIP of the same interface covering it is a warning (the node's own routes decide). */
function checkEndpointsOutsideTunnel(
  view: InterfaceView,
  infos: readonly PeerRoutes[],
  endpointAddresses: ReadonlyMap<string, Cidr | null>,
  indexAt: (position: number) => number,
  report: Report,
): void {
  const local = new Map<string, string>();
  for (const peer of view.peers) {
    const address = peer.endpoint === undefined ? null : endpointAddresses.get(peer.endpoint);
    if (address) local.set(address.toString(), peer.label);
  }
  infos.forEach((info, position) => {
    for (const claim of info.claims) {
      const hit = claim.endpoints.find((endpoint) => local.has(endpoint.toString()));
      if (!hit) continue;
      report(
        ["nodes", view.node, "interfaces", view.iface, "peers", indexAt(position), "allowedIps"],
        `${claim.route.toString()} of ${(view.peers[position] as PeerView).label} covers ${hit.addressText()}, the endpoint of ${local.get(hit.toString())}: ` +
          `WireGuard's own packets to it would enter the tunnel, unless ${view.node} routes it more specifically outside the tunnel (up checks the node's routes before any change)`,
        "warning",
      );
    }
  });
}

/**
 * A node routes a prefix through one interface only: the same prefix routed through two (the
 * node's allowed IPs reach both when two interfaces peer with one node) makes each apply take
 * the route from the other, and wg-quick fail at boot. Nodes with one interface are skipped.
 */
export function checkRoutesAcrossInterfaces(fabric: Fabric, views: readonly InterfaceView[], report: Report): void {
  const byNode = new Map<string, InterfaceView[]>();
  for (const view of views) {
    const list = byNode.get(view.node) ?? [];
    list.push(view);
    byNode.set(view.node, list);
  }
  for (const nodeViews of byNode.values()) {
    if (nodeViews.length < 2) continue;
    const routed = new Map<string, { iface: string; label: string }>();
    for (const view of nodeViews) {
      view.peers.forEach((peer, position) => {
        if (peer.skipRouteGeneration) return;
        for (const route of routesOf(peer)) {
          if (route.prefix === 0) continue;
          const prefix = route.toString();
          const first = routed.get(prefix);
          if (!first) routed.set(prefix, { iface: view.iface, label: peer.label });
          else if (first.iface !== view.iface) {
            report(
              ["nodes", view.node, "interfaces", view.iface, "peers", peerIndexOf(fabric, view, position), "allowedIps"],
              `${prefix} of ${peer.label} is already routed through ${first.iface} (to ${first.label}); a node routes a prefix through one interface only ` +
                "(Proxmox VE's stanzas would fail on the second `ip route add`): override allowedIps on one of the two peers, or set skipRouteGeneration on one",
            );
          }
        }
      });
    }
  }
}
