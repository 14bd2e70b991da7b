import {
  DEFAULT_ENDPOINT_REFRESH,
  DEFAULT_KEY_DIR,
  formatEndpoint,
  type ApplyMode,
  type Cidr,
  type Fabric,
  type FabricNode,
  type Interface,
  type InternalNode,
  type Peer,
  type WgKey,
} from "../model";
import { keyId, peerLabel } from "./keys";
import type { PairKeyRef } from "./wg-format";

/** Whose public key a peer stanza carries. */
export type PeerKeySource = { readonly kind: "internal"; readonly id: string } | { readonly kind: "external"; readonly key: WgKey };

/** A peer as it appears in one interface's config, overrides applied. */
export interface PeerView {
  /** `node/iface` for internal peers, `node` for external ones. */
  readonly label: string;
  /** Whose public key the peer section carries. */
  readonly key: PeerKeySource;
  /** The peer node's own IPv4 address as /32, when it is not one of its interface's (internal peers only). */
  readonly nodeRoute?: Cidr;
  /** The peer interface's addresses (`ip`, then `ip6`) as /32 or /128 (internal peers only). */
  readonly hostRoutes: readonly Cidr[];
  /** The node's allowed_ips (or the peer's override), then the peer's extra ones. */
  readonly allowedIps: readonly Cidr[];
  /** True when no routes are made for this peer (Proxmox VE's `skip_route_generation`). */
  readonly skipRouteGeneration?: boolean;
  /** `host:port`, brackets around IPv6. */
  readonly endpoint?: string;
  /** Keepalive (seconds; 0 = off): the peer's, else its node's, else the fabric's. */
  readonly persistentKeepalive?: number;
  /** The peering's pre-shared key, if any. */
  readonly presharedKey?: WgKey;
  /** The peering's pair key, made on the nodes (set by the fabric where it has them: see pair-keys.ts). */
  readonly pairKey?: PairKeyRef;
}

/** A peer's stanza before overrides, and the port an overriding endpoint without port dials. */
interface Base {
  readonly view: PeerView;
  readonly port?: number;
}

/**
 * How the peers of an internal interface route it: its node's own IPv4 address when it is not
 * one of the interface's (as Proxmox VE routes it; not its ip6, which Proxmox VE does not), and
 * the interface's addresses, as host routes.
 */
export function interfaceRoutes(node: InternalNode, iface: Interface): Pick<PeerView, "nodeRoute" | "hostRoutes"> {
  const hostRoutes = interfaceAddresses(iface).map((address) => address.hostRoute());
  const nodeRoute = node.ip && !hostRoutes.some((route) => route.toString() === node.ip?.toString()) ? node.ip : undefined;
  return { ...(nodeRoute ? { nodeRoute } : {}), hostRoutes };
}

/** A peer's host routes: its node's own address first, as Proxmox VE routes it, then its interface's addresses. */
export function hostRoutesOf(peer: Pick<PeerView, "nodeRoute" | "hostRoutes">): Cidr[] {
  return peer.nodeRoute ? [peer.nodeRoute, ...peer.hostRoutes] : [...peer.hostRoutes];
}

/** Everything routed to a peer: its host routes, then its allowed IPs. */
export function routesOf(peer: PeerView): Cidr[] {
  return [...hostRoutesOf(peer), ...peer.allowedIps];
}

/**
 * The routes `wg-quick up` adds for an interface: every AllowedIP of its peers once, except
 * default routes (a full tunnel's, which go into a table of their own: see policy-routing.ts) and
 * prefixes inside one of the interface's own subnets (the kernel routes those already).
 */
export function routedPrefixes(addresses: readonly Cidr[], allowedIps: Iterable<Cidr>): Cidr[] {
  const routes = new Map<string, Cidr>();
  for (const route of allowedIps) {
    if (route.prefix === 0) continue;
    if (addresses.some((subnet) => subnet.overlaps(route) && route.prefix >= subnet.prefix)) continue;
    routes.set(route.toString(), route);
  }
  return [...routes.values()];
}

/** What the interface's routes are made for: every peer's {@link routesOf} but those that skip route generation. */
export function routedPeerPrefixes(view: InterfaceView): Cidr[] {
  return view.peers.flatMap((peer) => (peer.skipRouteGeneration ? [] : routesOf(peer)));
}

/** Everything needed to render, write and apply one interface of an internal node. */
export interface InterfaceView {
  /** The internal node. */
  readonly node: string;
  /** The interface's name. */
  readonly iface: string;
  /** `node/iface`. */
  readonly id: string;
  /** `fabric/node/iface`: who manages the interface's files on the node. */
  readonly owner: string;
  /** The UDP port it listens on, if set. */
  readonly listenPort?: number;
  /** Its addresses with prefix: `ip`, then `ip6`. */
  readonly addresses: readonly Cidr[];
  /** Its MTU, if set. */
  readonly mtu?: number;
  /** The node's key folder. */
  readonly keyDir: string;
  /** How the node applies it. */
  readonly applyMode: ApplyMode;
  /** Seconds between looks at its peers' endpoint names on the node (0: off). */
  readonly endpointRefresh: number;
  /** Its peers, overrides applied. */
  readonly peers: readonly PeerView[];
}

/** An interface's addresses: `ip`, then `ip6`. */
export function interfaceAddresses(iface: Interface): Cidr[] {
  return [...(iface.ip ? [iface.ip] : []), ...(iface.ip6 ? [iface.ip6] : [])];
}

function hasOverrides(peer: Peer): boolean {
  return (
    peer.endpoint !== undefined ||
    peer.allowedIps !== undefined ||
    peer.extraAllowedIps !== undefined ||
    peer.skipRouteGeneration !== undefined ||
    peer.persistentKeepalive !== undefined ||
    peer.presharedKey !== undefined
  );
}

/** True when a peer's reference resolves: its node exists with its type and, when internal, has its interface. */
function resolves(fabric: Fabric, peer: Peer): boolean {
  const target: FabricNode | undefined = fabric.nodes[peer.node];
  if (!target || target.role !== peer.type) return false;
  return target.role === "external" || (peer.type === "internal" && target.interfaces[peer.nodeIface] !== undefined);
}

/** The stanza a peer gets from the node it references, before overrides; undefined if dangling. */
function basePeer(fabric: Fabric, peer: Peer): Base | undefined {
  if (!resolves(fabric, peer)) return undefined;
  const target = fabric.nodes[peer.node] as FabricNode;
  if (target.role === "external") {
    const view: PeerView = {
      label: peerLabel(peer),
      key: { kind: "external", key: target.publicKey },
      hostRoutes: [],
      allowedIps: target.allowedIps,
      endpoint: target.endpoint && formatEndpoint(target.endpoint),
      persistentKeepalive: target.persistentKeepalive ?? fabric.persistentKeepalive,
    };
    return { view };
  }
  const nodeIface = (peer as Peer & { type: "internal" }).nodeIface;
  const iface = target.interfaces[nodeIface] as Interface;
  const view: PeerView = {
    label: peerLabel(peer),
    key: { kind: "internal", id: keyId(peer.node, nodeIface) },
    ...interfaceRoutes(target, iface),
    allowedIps: target.allowedIps,
    endpoint: target.endpoint && formatEndpoint(target.endpoint, iface.listenPort),
    persistentKeepalive: target.persistentKeepalive ?? fabric.persistentKeepalive,
  };
  // An overriding endpoint without port still dials the peer interface's listen port.
  return { view, port: iface.listenPort };
}

/**
 * The index in its node's `peers` of a view's peer at `position`: views leave out peers that do
 * not resolve, and several entries may name one peer. For messages; it walks the node's peers.
 */
export function peerIndexOf(fabric: Fabric, view: InterfaceView, position: number): number {
  const node = fabric.nodes[view.node] as InternalNode;
  let seen = -1;
  return node.peers.findIndex((peer) => peer.iface === view.iface && resolves(fabric, peer) && ++seen === position);
}

/** The view of a peer with overrides: its target's, changed by them. */
function overriddenView(base: Base, peer: Peer): PeerView {
  return {
    ...base.view,
    allowedIps: [...(peer.allowedIps ?? base.view.allowedIps), ...(peer.extraAllowedIps ?? [])],
    ...(peer.skipRouteGeneration ? { skipRouteGeneration: true } : {}),
    endpoint: peer.endpoint ? formatEndpoint(peer.endpoint, base.port) : base.view.endpoint,
    persistentKeepalive: peer.persistentKeepalive ?? base.view.persistentKeepalive,
    presharedKey: peer.presharedKey,
  };
}

/**
 * Resolves every interface of every internal node into the view its config is rendered from.
 * Peers that do not resolve (dangling references) are left out: validation names them, and
 * `prepareFabric` gives the views of a valid fabric only.
 * Peers without overrides share one view object per target, so large meshes stay small.
 */
export function resolveInterfaces(fabric: Fabric): InterfaceView[] {
  const resolver = new PeerResolver(fabric);
  const views: InterfaceView[] = [];
  for (const [nodeName, node] of Object.entries(fabric.nodes)) {
    if (node.role !== "internal") continue;
    views.push(...resolveNode(fabric, nodeName, node, resolver));
  }
  return views;
}

/**
 * Peer views, each worked out once: bases per target, and views of peers with overrides per
 * peer object (a fabrics.cfg's equal lines share one).
 */
class PeerResolver {
  /** Bases by node, then interface ("" for an external node): no string made per peer. */
  private readonly bases = new Map<string, Map<string, Base | null>>();
  private readonly overridden = new Map<Peer, PeerView>();

  constructor(private readonly fabric: Fabric) {}

  /** The peer's view, or null when its reference does not resolve. Peers without overrides share their target's: a mesh has a million. */
  view(peer: Peer): PeerView | null {
    const base = this.base(peer);
    if (base === null || !hasOverrides(peer)) return base && base.view;
    let view = this.overridden.get(peer);
    if (!view) this.overridden.set(peer, (view = overriddenView(base, peer)));
    return view;
  }

  private base(peer: Peer): Base | null {
    let byIface = this.bases.get(peer.node);
    if (!byIface) this.bases.set(peer.node, (byIface = new Map()));
    const targetIface = peer.type === "internal" ? peer.nodeIface : "";
    let base = byIface.get(targetIface);
    if (base === undefined) byIface.set(targetIface, (base = basePeer(this.fabric, peer) ?? null));
    return base;
  }
}

function resolveNode(fabric: Fabric, nodeName: string, node: InternalNode, resolver: PeerResolver): InterfaceView[] {
  const peersByIface = new Map<string, PeerView[]>();
  // a node's peers mostly come interface by interface: the list is looked up when it changes
  let iface: string | undefined;
  let list: PeerView[] = [];
  for (const peer of node.peers) {
    const view = resolver.view(peer);
    if (view === null) continue;
    if (peer.iface !== iface) {
      iface = peer.iface;
      list = peersByIface.get(iface) ?? [];
      peersByIface.set(iface, list);
    }
    list.push(view);
  }
  return Object.entries(node.interfaces).map(([ifaceName, iface]) => ({
    node: nodeName,
    iface: ifaceName,
    id: keyId(nodeName, ifaceName),
    owner: `${fabric.name}/${keyId(nodeName, ifaceName)}`,
    listenPort: iface.listenPort,
    addresses: interfaceAddresses(iface),
    mtu: iface.mtu,
    keyDir: node.keyDir ?? fabric.keyDir ?? DEFAULT_KEY_DIR,
    applyMode: node.applyMode ?? fabric.applyMode,
    endpointRefresh: node.endpointRefresh ?? fabric.endpointRefresh ?? DEFAULT_ENDPOINT_REFRESH,
    peers: peersByIface.get(ifaceName) ?? [],
  }));
}
