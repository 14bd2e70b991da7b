import type { ApplyMode, Cidr, WgKey } from "../model";
import { keyId } from "../fabric/keys";
import { presharedKeyDigest } from "../remote/plan/sync-plan";
import type { InterfaceView, PeerView } from "../fabric/resolve";

/**
 * One peer of an interface as the config resource takes it, under its name (`node/iface` of an
 * internal peer, the node for an external one): plain fields, so `pulumi preview --diff` shows
 * each change by peer and field. `presharedKey` is the only secret.
 */
export interface PeerEntry {
  readonly publicKey: string;
  readonly presharedKey?: string;
  /**
   * {@link presharedKeyFingerprint} of `presharedKey`: the engine shows every secret as the same
   * `[secret]`, so a preview shows a new pre-shared key by this field changing.
   */
  readonly presharedKeyFingerprint?: string;
  /** The peer node's own IPv4 address as /32 (Proxmox VE's router address), routed first (internal peers). */
  readonly nodeRoute?: string;
  /** The peer interface's own address as /32 or /128 (internal peers). */
  readonly hostRoute?: string;
  /** Its second address (the `ip6` of a dual-stack interface) as /128. */
  readonly hostRoute6?: string;
  /** `host:port`. */
  readonly endpoint?: string;
  /** The networks behind the peer (left out when none, which keeps large meshes' state small). */
  readonly allowedIps?: string[];
  readonly persistentKeepalive?: number;
  /** No routes for this peer's AllowedIPs. */
  readonly skipRouteGeneration?: boolean;
}

/** The first 16 hex digits of a pre-shared key's sha256: tells keys apart, reveals nothing of them. */
export function presharedKeyFingerprint(key: string): string {
  return presharedKeyDigest(key).slice(0, 16);
}

/** A peer's entry; its keys may be Outputs (known only at apply) or plain. */
export function peerEntryOf<Key>(peer: PeerView, publicKey: Key, psk?: { readonly key: Key; readonly fingerprint: Key }) {
  return { ...peerFields(peer), publicKey, ...(psk ? { presharedKey: psk.key, presharedKeyFingerprint: psk.fingerprint } : {}) };
}

/** A peer's plain fields, everything but its keys. */
function peerFields(peer: PeerView): Omit<PeerEntry, "publicKey" | "presharedKey" | "presharedKeyFingerprint"> {
  return {
    ...(peer.nodeRoute ? { nodeRoute: peer.nodeRoute.toString() } : {}),
    ...(peer.hostRoutes[0] ? { hostRoute: peer.hostRoutes[0].toString() } : {}),
    ...(peer.hostRoutes[1] ? { hostRoute6: peer.hostRoutes[1].toString() } : {}),
    ...(peer.endpoint ? { endpoint: peer.endpoint } : {}),
    ...(peer.allowedIps.length > 0 ? { allowedIps: peer.allowedIps.map(String) } : {}),
    ...(peer.persistentKeepalive !== undefined ? { persistentKeepalive: peer.persistentKeepalive } : {}),
    ...(peer.skipRoutes ? { skipRouteGeneration: true } : {}),
  };
}

/** An interface's own fields as the config resource takes them (its peers apart). */
export function interfaceFields(view: InterfaceView) {
  return {
    node: view.node,
    iface: view.iface,
    keyDir: view.keyDir,
    owner: view.owner,
    applyMode: view.applyMode,
    ...(view.listenPort !== undefined ? { listenPort: view.listenPort } : {}),
    ...(view.addresses[0] ? { address: view.addresses[0].toString() } : {}),
    ...(view.addresses[1] ? { address6: view.addresses[1].toString() } : {}),
    ...(view.mtu !== undefined ? { mtu: view.mtu } : {}),
  };
}

/** A peer entry with its addresses parsed (what the config resource's schema yields). */
export interface ParsedPeerEntry {
  readonly publicKey: WgKey;
  readonly presharedKey?: WgKey;
  readonly nodeRoute?: Cidr;
  readonly hostRoute?: Cidr;
  readonly hostRoute6?: Cidr;
  readonly endpoint?: string;
  readonly allowedIps: readonly Cidr[];
  readonly persistentKeepalive?: number;
  readonly skipRouteGeneration?: boolean;
}

/** An interface as the config resource takes it, parsed. */
export interface ParsedInterfaceEntry {
  readonly node: string;
  readonly iface: string;
  readonly owner: string;
  readonly keyDir: string;
  readonly applyMode: ApplyMode;
  readonly listenPort?: number;
  readonly address?: Cidr;
  /** The second address of a dual-stack interface (its `ip6`). */
  readonly address6?: Cidr;
  readonly mtu?: number;
  /** By peer name. */
  readonly peers: Readonly<Record<string, ParsedPeerEntry>>;
}

/**
 * The view the renderers take, from a config resource's entry: its peers carry their keys and
 * come in name order, the same whatever order the program or the engine gave them in.
 */
export function viewOfEntry(entry: ParsedInterfaceEntry): InterfaceView {
  return {
    node: entry.node,
    iface: entry.iface,
    id: keyId(entry.node, entry.iface),
    owner: entry.owner,
    listenPort: entry.listenPort,
    addresses: [entry.address, entry.address6].filter((address): address is Cidr => address !== undefined),
    mtu: entry.mtu,
    keyDir: entry.keyDir,
    applyMode: entry.applyMode,
    peers: Object.keys(entry.peers)
      .sort()
      .map((name) => peerViewOf(name, entry.peers[name] as ParsedPeerEntry)),
  };
}

function peerViewOf(name: string, peer: ParsedPeerEntry): PeerView {
  return {
    label: name,
    // the key is in the entry itself: no lookup by id
    key: { kind: "external", key: peer.publicKey },
    ...(peer.nodeRoute ? { nodeRoute: peer.nodeRoute } : {}),
    hostRoutes: [peer.hostRoute, peer.hostRoute6].filter((route): route is Cidr => route !== undefined),
    allowedIps: peer.allowedIps,
    skipRoutes: peer.skipRouteGeneration ?? false,
    endpoint: peer.endpoint,
    persistentKeepalive: peer.persistentKeepalive,
    presharedKey: peer.presharedKey,
  };
}
