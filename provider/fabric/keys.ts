import type { Fabric, WgKey } from "../model";

/** Public keys of internal interfaces, by {@link keyId}. */
export type PublicKeys = ReadonlyMap<string, WgKey>;

/** `node/iface`: how an internal interface is named in outputs and key lookups. */
export function keyId(node: string, iface: string): string {
  return `${node}/${iface}`;
}

/** How a peer is named in configs, errors and outputs: `node/iface` when internal, the node when external. */
export function peerLabel(peer: { readonly type: "internal" | "external"; readonly node: string; readonly nodeIface?: string }): string {
  return peer.type === "internal" && peer.nodeIface !== undefined ? keyId(peer.node, peer.nodeIface) : peer.node;
}

/** The public keys a fabric already records (a Proxmox fabrics.cfg stores them on interfaces). */
export function recordedPublicKeys(fabric: Fabric): Map<string, WgKey> {
  const keys = new Map<string, WgKey>();
  for (const [nodeName, node] of Object.entries(fabric.nodes)) {
    if (node.role !== "internal") continue;
    for (const [ifaceName, iface] of Object.entries(node.interfaces)) {
      if (iface.publicKey) keys.set(keyId(nodeName, ifaceName), iface.publicKey);
    }
  }
  return keys;
}
