import type { FabricInput } from "../model";

/** What {@link fullMeshInput} needs to know of each internal node. */
export interface MeshNode {
  /** Where the others reach it (`host` or `host:port`). */
  readonly endpoint?: string;
  /** Networks behind it. */
  readonly allowedIps?: readonly string[];
  /** The interface address, e.g. `198.51.100.1/24`. */
  readonly ip?: string;
}

/** Options of {@link fullMeshInput}. */
export interface FullMeshOptions {
  /** Interface name on every node (default `wg0`). */
  readonly iface?: string;
  /** Listen port on every node (default 51820). */
  readonly listenPort?: number;
  /** External nodes every internal node peers with; their definitions are copied in. */
  readonly external?: Readonly<Record<string, { endpoint?: string; allowedIps?: readonly string[]; publicKey: string }>>;
}

/**
 * Builds the nodes of a full mesh (the RFC's "fullmeshify"): every internal node gets one
 * interface and a symmetric internal peer to every other node, plus a peer to each external
 * node. Returns the `nodes` of a fabric input, ready to merge with connections and parse.
 */
export function fullMeshInput(
  internal: Readonly<Record<string, MeshNode>>,
  options: FullMeshOptions = {},
): FabricInput["nodes"] {
  const iface = options.iface ?? "wg0";
  const listenPort = options.listenPort ?? 51820;
  const names = Object.keys(internal);
  const external = options.external ?? {};
  const nodes: FabricInput["nodes"] = {};
  for (const name of names) {
    const node = internal[name] as MeshNode;
    nodes[name] = {
      role: "internal",
      endpoint: node.endpoint,
      allowedIps: node.allowedIps ? [...node.allowedIps] : [],
      interfaces: { [iface]: { listenPort, ip: node.ip } },
      peers: [
        ...names.filter((other) => other !== name).map((other) => ({ type: "internal" as const, node: other, nodeIface: iface, iface })),
        ...Object.keys(external).map((other) => ({ type: "external" as const, node: other, iface })),
      ],
    };
  }
  for (const [name, node] of Object.entries(external)) {
    nodes[name] = { role: "external", endpoint: node.endpoint, allowedIps: node.allowedIps ? [...node.allowedIps] : [], publicKey: node.publicKey };
  }
  return nodes;
}
