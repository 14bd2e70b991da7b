import { FabricError, type WgKey } from "../model";
import type { PublicKeys } from "./keys";
import { renderIfupdown2 } from "./ifupdown2";
import type { InterfaceView, PeerView } from "./resolve";

/** The config formats we write. */
export const CONFIG_FORMATS = ["wg", "wg-quick", "ifupdown2"] as const;
/** One of {@link CONFIG_FORMATS}. */
export type ConfigFormat = (typeof CONFIG_FORMATS)[number];

/** What a renderer needs beyond the interface view. */
export interface RenderContext {
  /** Public keys of internal interfaces by `node/iface`. */
  readonly publicKeys: PublicKeys;
  /**
   * Only for a config rendered on the node itself (the CLI's --private-key-file). The Pulumi
   * resources never pass it: the node inserts its own key when it writes the file.
   */
  readonly privateKey?: string;
  /** Reuses the text of peers without overrides across interfaces (large meshes). */
  readonly stanzaCache?: Map<string, string>;
}

function publicKeyOf(view: InterfaceView, peer: PeerView, keys: PublicKeys): WgKey {
  if (peer.key.kind === "external") return peer.key.key;
  const key = keys.get(peer.key.id);
  if (key) return key;
  throw new FabricError([
    {
      severity: "error",
      where: `${view.node}: ${view.iface}`,
      message: `the public key of peer ${peer.key.id} is not known yet; generate it on ${peer.key.id.split("/")[0]} first (pulumi up does)`,
    },
  ]);
}

/** One [Peer] section, in the RFC's order: host route, endpoint, then the node's allowed IPs. */
function renderPeer(publicKey: WgKey, peer: PeerView): string {
  let text = `[Peer]\nPublicKey = ${publicKey}\n`;
  if (peer.presharedKey) text += `PresharedKey = ${peer.presharedKey}\n`;
  if (peer.hostRoute) text += `AllowedIPs = ${peer.hostRoute.toString()}\n`;
  if (peer.endpoint) text += `Endpoint = ${peer.endpoint}\n`;
  if (peer.allowedIps.length > 0) text += `AllowedIPs = ${peer.allowedIps.map(String).join(", ")}\n`;
  if (peer.persistentKeepalive !== undefined) text += `PersistentKeepalive = ${peer.persistentKeepalive}\n`;
  return text;
}

function renderPeers(view: InterfaceView, context: RenderContext): string[] {
  const cache = context.stanzaCache;
  return view.peers.map((peer) => {
    const cached = !peer.overridden && cache ? cache.get(peer.label) : undefined;
    if (cached !== undefined) return cached;
    const text = renderPeer(publicKeyOf(view, peer, context.publicKeys), peer);
    if (!peer.overridden && cache) cache.set(peer.label, text);
    return text;
  });
}

function renderConfig(view: InterfaceView, context: RenderContext, extra: readonly string[]): string {
  let head = "[Interface]\n";
  if (context.privateKey !== undefined) head += `PrivateKey = ${context.privateKey}\n`;
  if (view.listenPort !== undefined) head += `ListenPort = ${view.listenPort}\n`;
  for (const line of extra) head += `${line}\n`;
  return [head, ...renderPeers(view, context)].join("\n");
}

/**
 * The interface's config in wg(8) `setconf` format. Without a private key, the `PrivateKey`
 * line is left out: the node adds its own when writing the file.
 */
export function renderWg(view: InterfaceView, context: RenderContext): string {
  return renderConfig(view, context, []);
}

/** The wg-quick(8) config: the `setconf` format plus `Address` and `MTU`. */
export function renderWgQuick(view: InterfaceView, context: RenderContext): string {
  const extra: string[] = [];
  if (view.address) extra.push(`Address = ${view.address.toString()}`);
  if (view.mtu !== undefined) extra.push(`MTU = ${view.mtu}`);
  return renderConfig(view, context, extra);
}

/** What a node receives for one interface in its apply mode: the config and, for ifupdown2, the stanza. */
export interface NodeFiles {
  readonly config: string;
  readonly stanza: string;
}

/** The files {@link InterfaceView.applyMode} needs: wg-quick format, or setconf plus an ifupdown2 stanza. */
export function renderNodeFiles(view: InterfaceView, context: RenderContext): NodeFiles {
  if (view.applyMode === "ifupdown2") return { config: renderWg(view, context), stanza: renderIfupdown2(view) };
  return { config: renderWgQuick(view, context), stanza: "" };
}
