import { FabricError, problemAt, type WgKey } from "../model";
import type { PublicKeys } from "./keys";
import type { InterfaceView, PeerView } from "./resolve";

/** The MTU of a link WireGuard creates with no MTU given: the kernel's and wireguard-go's default. */
export const DEFAULT_WG_MTU = 1420;

/** What a renderer needs beyond the interface view. */
export interface RenderContext {
  /** Public keys of internal interfaces by `node/iface`. */
  readonly publicKeys: PublicKeys;
  /**
   * Only for a config rendered on the node itself (the CLI's --private-key-file). The Pulumi
   * resources never pass it: the node inserts its own key when it writes the file.
   */
  readonly privateKey?: string;
  /**
   * Reuses the text of a peer view across interfaces (a large mesh shares each), by the view;
   * one cache serves one format.
   */
  readonly stanzaCache?: Map<PeerView, string>;
}

/** The public key a peer's stanza carries: given for external peers, looked up for internal ones. */
export function publicKeyOf(view: InterfaceView, peer: PeerView, keys: PublicKeys): WgKey {
  if (peer.key.kind === "external") return peer.key.key;
  const key = keys.get(peer.key.id);
  if (key) return key;
  throw new FabricError([
    problemAt(
      "error",
      { path: ["nodes", view.node, "interfaces", view.iface] },
      `the public key of peer ${peer.key.id} is not known yet; generate it on ${peer.key.id.split("/")[0]} first (pulumi up does)`,
    ),
  ]);
}

/**
 * A config file as its [Interface] section and its [Peer] sections, joined by blank lines
 * ({@link joinConfig}). Peer sections are shared between interfaces (`stanzaCache`): a writer
 * of many files writes the parts without joining them.
 */
export interface ConfigParts {
  readonly head: string;
  readonly peers: readonly string[];
}

/** The file of {@link ConfigParts}. */
export function joinConfig(parts: ConfigParts): string {
  return [parts.head, ...parts.peers].join("\n");
}

/** Sections a stanza cache keeps at most: a mesh's shared views; peers that each have overrides of their own only pass through. */
const MAX_CACHED_SECTIONS = 1 << 16;

/** An interface's [Peer] sections by `render`; a peer view rendered before (views are shared) comes from the context's cache. */
export function peerSections(view: InterfaceView, context: RenderContext, render: (peer: PeerView, publicKey: WgKey) => string): string[] {
  const cache = context.stanzaCache;
  return view.peers.map((peer) => {
    const cached = cache?.get(peer);
    if (cached !== undefined) return cached;
    const text = render(peer, publicKeyOf(view, peer, context.publicKeys));
    if (cache) {
      if (cache.size >= MAX_CACHED_SECTIONS) cache.clear();
      cache.set(peer, text);
    }
    return text;
  });
}
