import type { z } from "zod";
import type { Cidr, WgKey } from "../model";
import type { entrySchema, peerEntrySchema } from "./inputs";
import { endpointRefreshOf } from "../fabric/endpoint-refresh";
import { keyId } from "../fabric/keys";
import { presharedKeyDigest } from "../remote/plan/sync-plan";
import type { InterfaceView, PeerView } from "../fabric/resolve";

/** One peer of an interface as the config resource takes it: see {@link peerEntrySchema}. */
export type PeerEntry = z.input<ReturnType<typeof peerEntrySchema<z.ZodString>>>;

/** A peer entry with its keys and addresses parsed (what the config resource's schema yields). */
export type ParsedPeerEntry = z.output<ReturnType<typeof peerEntrySchema<z.ZodType<WgKey>>>>;

/** The first 16 hex digits of a pre-shared key's sha256: tells keys apart, reveals nothing of them. */
export function presharedKeyFingerprint(key: string): string {
  return presharedKeyDigest(key).slice(0, 16);
}

/** A peer's entry; its keys may be Outputs (known only at apply) or plain. */
export function peerEntryOf<Key>(peer: PeerView, publicKey: Key, psk?: { readonly key: Key; readonly fingerprint: Key }) {
  return { ...peerFields(peer), publicKey, ...(psk ? { presharedKey: psk.key, presharedKeyFingerprint: psk.fingerprint } : {}) };
}

/** A peer's plain fields, everything but its keys: routes as text, the rest carried as it is. */
function peerFields(peer: PeerView): Omit<PeerEntry, "publicKey" | "presharedKey" | "presharedKeyFingerprint"> {
  const { label: _label, key: _key, presharedKey: _psk, nodeRoute, hostRoutes, allowedIps, ...carried } = peer;
  return {
    ...(nodeRoute ? { nodeRoute: nodeRoute.toString() } : {}),
    ...(hostRoutes[0] ? { hostRoute: hostRoutes[0].toString() } : {}),
    ...(hostRoutes[1] ? { hostRoute6: hostRoutes[1].toString() } : {}),
    ...definedOnly(carried),
    ...(allowedIps.length > 0 ? { allowedIps: allowedIps.map(String) } : {}),
  };
}

/** `object` without its undefined fields (the engine keeps no undefined; a field left out stays out of state). */
function definedOnly<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
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
    // only where a name is followed: a fabric without named endpoints keeps the inputs it had
    ...(endpointRefreshOf(view) ? { endpointRefresh: view.endpointRefresh } : {}),
  };
}

/** An interface as the config resource takes it, parsed (what {@link entrySchema} yields). */
export type ParsedInterfaceEntry = z.output<typeof entrySchema>;

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
    endpointRefresh: entry.endpointRefresh ?? 0,
    peers: Object.keys(entry.peers)
      .sort()
      .map((name) => peerViewOf(name, entry.peers[name] as ParsedPeerEntry)),
  };
}

function peerViewOf(name: string, peer: ParsedPeerEntry): PeerView {
  const { publicKey, presharedKey, presharedKeyFingerprint: _shown, nodeRoute, hostRoute, hostRoute6, ...carried } = peer;
  return {
    ...carried,
    label: name,
    // the key is in the entry itself: no lookup by id
    key: { kind: "external", key: publicKey },
    ...(nodeRoute ? { nodeRoute } : {}),
    hostRoutes: [hostRoute, hostRoute6].filter((route): route is Cidr => route !== undefined),
    presharedKey,
  };
}
