import { FabricError, type WgKey } from "../model";
import type { PublicKeys } from "./keys";
import type { InterfaceView, PeerView } from "./resolve";

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

/** The public key a peer's stanza carries: given for external peers, looked up for internal ones. */
export function publicKeyOf(view: InterfaceView, peer: PeerView, keys: PublicKeys): WgKey {
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

