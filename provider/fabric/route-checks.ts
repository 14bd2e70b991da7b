import { Cidr, parseEndpoint, type Fabric, type InternalNode } from "../model";
import type { Report } from "./report";
import { peerIndexOf, routesOf, type InterfaceView, type PeerView } from "./resolve";

/**
 * The checks of what each interface routes to its peers. A 1000-node mesh has a million peers
 * but a few thousand distinct routes and peer views (shared, see resolveInterfaces): each route
 * is worked out once and given ranks, so the per-interface checks compare small integers.
 */

/** A route with the ranks of its first and last address among all routes' bounds (IPv4 below IPv6). */
interface RankedRoute {
  /** Its number among the distinct routes. */
  readonly id: number;
  readonly route: Cidr;
  readonly first: number;
  readonly last: number;
  /** Endpoint addresses of the fabric's peers inside it (none for a default route). */
  readonly endpoints: readonly Cidr[];
  /** The ids of the other routes it overlaps (filled in by `linkOverlaps`). */
  readonly partners: number[];
}

/** What the checks need of one peer view, in its claims' order: allowed IPs, then host routes. */
interface PeerRoutes {
  readonly claims: readonly RankedRoute[];
  /** Its allowed IPs that are default routes (0.0.0.0/0, ::/0). */
  readonly defaultRoutes: readonly Cidr[];
  readonly coversEndpoint: boolean;
}

/** Claims of one interface are sorted as `first rank × CLAIM_SPAN + claim number`. */
const CLAIM_SPAN = 2 ** 21;

const compareAddresses = (a: Cidr, b: Cidr, ofA: bigint, ofB: bigint): number => a.family - b.family || (ofA < ofB ? -1 : ofA > ofB ? 1 : 0);

/** What {@link rankRoutes} works out once for a fabric. */
interface RankedRoutes {
  /** Every distinct peer view with its ranked routes. */
  readonly byPeer: Map<PeerView, PeerRoutes>;
  readonly routeCount: number;
  /** True when each route knows the routes it overlaps (see `linkOverlaps`). */
  readonly linked: boolean;
  /** Every peer endpoint's address as a host route; null for a hostname. */
  readonly endpointAddresses: ReadonlyMap<string, Cidr | null>;
}

/** Every distinct peer view of `views` with its ranked routes. */
function rankRoutes(views: readonly InterfaceView[]): RankedRoutes {
  const peers = new Set<PeerView>();
  for (const view of views) for (const peer of view.peers) peers.add(peer);
  const endpointOf = new Map<string, Cidr | null>();
  const routes = new Set<Cidr>();
  for (const peer of peers) {
    for (const route of peer.allowedIps) routes.add(route);
    for (const route of peer.hostRoutes) routes.add(route);
    if (peer.endpoint !== undefined && !endpointOf.has(peer.endpoint)) endpointOf.set(peer.endpoint, endpointAddress(peer.endpoint));
  }
  const endpoints = uniqueSorted([...endpointOf.values()].filter((address): address is Cidr => address !== null));
  // ranks: every route's first and last address sorted together, equal addresses one rank
  const bounds = [...routes].flatMap((route) => [
    { route, value: route.first, isFirst: true },
    { route, value: route.last, isFirst: false },
  ]);
  bounds.sort((a, b) => compareAddresses(a.route, b.route, a.value, b.value));
  const firstRank = new Map<Cidr, number>();
  const lastRank = new Map<Cidr, number>();
  let rank = -1;
  bounds.forEach((bound, i) => {
    const before = bounds[i - 1];
    if (!before || compareAddresses(before.route, bound.route, before.value, bound.value) !== 0) rank++;
    (bound.isFirst ? firstRank : lastRank).set(bound.route, rank);
  });
  const ranked = new Map<Cidr, RankedRoute>();
  for (const route of routes) {
    const inside = route.prefix === 0 ? [] : endpointsInside(endpoints, route);
    ranked.set(route, { id: ranked.size, route, first: firstRank.get(route) as number, last: lastRank.get(route) as number, endpoints: inside, partners: [] });
  }
  const linked = linkOverlaps([...ranked.values()]);
  const byPeer = new Map<PeerView, PeerRoutes>();
  for (const peer of peers) {
    const claims = [...peer.allowedIps, ...peer.hostRoutes].map((route) => ranked.get(route) as RankedRoute);
    byPeer.set(peer, {
      claims,
      defaultRoutes: peer.allowedIps.filter((route) => route.prefix === 0),
      coversEndpoint: claims.some((claim) => claim.endpoints.length > 0),
    });
  }
  return { byPeer, routeCount: ranked.size, linked, endpointAddresses: endpointOf };
}

/** Overlapping pairs beyond this many per route: the per-interface checks sort claims instead. */
const PARTNERS_PER_ROUTE = 8;

/**
 * Gives each route the routes it overlaps (most fabrics have none): an interface whose claims
 * touch no overlapping pair has nothing to report, found without sorting. False when there are
 * too many pairs to be worth it.
 */
function linkOverlaps(routes: RankedRoute[]): boolean {
  const byFirst = [...routes].sort((a, b) => a.first - b.first);
  let pairs = 0;
  for (let i = 0; i < byFirst.length; i++) {
    const route = byFirst[i] as RankedRoute;
    for (let j = i + 1; j < byFirst.length && (byFirst[j] as RankedRoute).first <= route.last; j++) {
      const other = byFirst[j] as RankedRoute;
      if (++pairs > PARTNERS_PER_ROUTE * routes.length) return false;
      route.partners.push(other.id);
      other.partners.push(route.id);
    }
  }
  return true;
}

/** The address of an endpoint as a host route; null for a hostname or what does not parse. */
function endpointAddress(endpoint: string): Cidr | null {
  const parsed = parseEndpoint(endpoint);
  return typeof parsed === "string" || parsed.kind === "hostname" ? null : Cidr.of(`${parsed.host}/${parsed.kind === "ipv4" ? 32 : 128}`);
}

function uniqueSorted(addresses: Cidr[]): Cidr[] {
  const unique = [...new Map(addresses.map((address) => [address.toString(), address])).values()];
  return unique.sort((a, b) => compareAddresses(a, b, a.first, b.first));
}

/** The endpoints (sorted) inside a route, found by binary search. */
function endpointsInside(sorted: readonly Cidr[], route: Cidr): Cidr[] {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (compareAddresses(sorted[mid] as Cidr, route, (sorted[mid] as Cidr).first, route.first) < 0) low = mid + 1;
    else high = mid;
  }
  const found: Cidr[] = [];
  for (let i = low; i < sorted.length && (sorted[i] as Cidr).family === route.family && (sorted[i] as Cidr).first <= route.last; i++) found.push(sorted[i] as Cidr);
  return found;
}

/**
 * Per interface: two peers claiming the same addresses (wg routes them to only one), a default
 * route without `fullTunnel` (all the node's traffic, its SSH session too, would enter the
 * tunnel), and an AllowedIP covering a peer's endpoint (WireGuard's own packets to it would
 * enter the tunnel, and the tunnel dies).
 */
export function checkInterfaceRoutes(fabric: Fabric, views: readonly InterfaceView[], report: Report): void {
  const ranked = rankRoutes(views);
  // per route id: the interface (its number + 1) and the peer position that last claimed it
  const claimedIn = new Int32Array(ranked.routeCount);
  const claimedBy = new Int32Array(ranked.routeCount);
  views.forEach((view, v) => {
    const node = fabric.nodes[view.node] as InternalNode;
    const infos = view.peers.map((peer) => ranked.byPeer.get(peer) as PeerRoutes);
    // a peer's index in its node's entries, only for messages
    const indexAt = (position: number): number => peerIndexOf(fabric, view, position);
    if (!ranked.linked || claimsOverlap(infos, claimedIn, claimedBy, v + 1)) checkOverlaps(view, infos, indexAt, report);
    // most interfaces have neither: one plain pass finds out
    let defaultRoutes = false;
    let coversEndpoint = false;
    for (const info of infos) {
      defaultRoutes ||= info.defaultRoutes.length > 0;
      coversEndpoint ||= info.coversEndpoint;
    }
    if (defaultRoutes && !node.fullTunnel) {
      infos.forEach((info, position) => {
        for (const route of info.defaultRoutes) {
          report(
            `${view.node}: peers[${indexAt(position)}]: allowedIps`,
            `${route.toString()} would route all of ${view.node}'s traffic (its SSH connection too) to ${(view.peers[position] as PeerView).label}; set fullTunnel: true on ${view.node} if that is meant`,
          );
        }
      });
    }
    if (coversEndpoint) checkEndpointsOutsideTunnel(view, infos, ranked.endpointAddresses, indexAt, report);
  });
}

/** True when two peers of an interface claim one route, or two routes that overlap (then checkOverlaps says which). */
function claimsOverlap(infos: readonly PeerRoutes[], claimedIn: Int32Array, claimedBy: Int32Array, stamp: number): boolean {
  for (let position = 0; position < infos.length; position++) {
    for (const claim of (infos[position] as PeerRoutes).claims) {
      if (claimedIn[claim.id] === stamp && claimedBy[claim.id] !== position) return true;
      for (const partner of claim.partners) if (claimedIn[partner] === stamp && claimedBy[partner] !== position) return true;
      claimedIn[claim.id] = stamp;
      claimedBy[claim.id] = position;
    }
  }
  return false;
}

/** A sweep over the interface's claims by first address: the claim reaching furthest so far overlaps any later one that starts before it ends. */
function checkOverlaps(view: InterfaceView, infos: readonly PeerRoutes[], indexAt: (position: number) => number, report: Report): void {
  const count = infos.reduce((sum, info) => sum + info.claims.length, 0);
  const keys = new Float64Array(count);
  const claims: RankedRoute[] = new Array(count);
  const positions = new Int32Array(count);
  let c = 0;
  infos.forEach((info, position) => {
    for (const claim of info.claims) {
      keys[c] = claim.first * CLAIM_SPAN + c;
      claims[c] = claim;
      positions[c++] = position;
    }
  });
  keys.sort();
  let widest = -1;
  for (const key of keys) {
    const i = key % CLAIM_SPAN;
    const claim = claims[i] as RankedRoute;
    if (widest >= 0) {
      const reach = claims[widest] as RankedRoute;
      const [mine, theirs] = [positions[i] as number, positions[widest] as number];
      if (claim.first <= reach.last && mine !== theirs) {
        report(
          `${view.node}: ${view.iface}: peers[${indexAt(mine)}]`,
          `AllowedIPs ${claim.route.toString()} of ${(view.peers[mine] as PeerView).label} overlaps ${reach.route.toString()} of peers[${indexAt(theirs)}] ` +
            `(${(view.peers[theirs] as PeerView).label}); each address may be routed to one peer only`,
        );
      }
      if (claim.last <= reach.last) continue;
    }
    widest = i;
  }
}

/** WireGuard sends its own packets to a peer's endpoint outside the tunnel: an AllowedIP of the same interface must not cover it. */
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
        `${view.node}: ${view.iface}: peers[${indexAt(position)}]: allowedIps`,
        `${claim.route.toString()} of ${(view.peers[position] as PeerView).label} covers ${hit.addressText()}, the endpoint of ${local.get(hit.toString())}: ` +
          "WireGuard's own packets to it would enter the tunnel",
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
        if (peer.skipRoutes) return;
        for (const route of routesOf(peer)) {
          if (route.prefix === 0) continue;
          const prefix = route.toString();
          const first = routed.get(prefix);
          if (!first) routed.set(prefix, { iface: view.iface, label: peer.label });
          else if (first.iface !== view.iface) {
            report(
              `${view.node}: ${view.iface}: peers[${peerIndexOf(fabric, view, position)}]: allowedIps`,
              `${prefix} of ${peer.label} is already routed through ${first.iface} (to ${first.label}); a node routes a prefix through one interface only: ` +
                "override allowedIps on one of the two peers, or set skipRouteGeneration on one",
            );
          }
        }
      });
    }
  }
}
