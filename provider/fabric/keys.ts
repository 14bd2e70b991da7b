import type { Fabric, WgKey } from "../model";

/** Public keys of internal interfaces, by {@link keyId}. */
export type PublicKeys = ReadonlyMap<string, WgKey>;

/** `node/iface`: how an internal interface is named in outputs and key lookups. */
export function keyId(node: string, iface: string): string {
  return `${node}/${iface}`;
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
