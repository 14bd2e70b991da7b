import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs, ExternalNodeArgs, FabricArgs, InternalNodeArgs } from "./args";
import { fullMesh, type FullMeshOptions } from "./fabric";

/** An internal node of {@link meshNodes}: how to reach it and its address in the mesh. */
export interface MeshMemberArgs {
  readonly connection: pulumi.Input<ConnectionArgs>;
  /** Where the others reach it (`host` or `host:port`). */
  readonly endpoint?: string;
  /** Its interface address with prefix, e.g. `10.99.0.1/24`. */
  readonly ip?: string;
  /** Networks behind it. */
  readonly allowedIps?: string[];
}

/**
 * The `nodes` of a full mesh (the RFC's "fullmeshify"): one interface per node and a peer to
 * every other node both ways, plus a peer to each external node.
 */
export function meshNodes(
  members: Readonly<Record<string, MeshMemberArgs>>,
  options: Omit<FullMeshOptions, "external"> & { external?: Readonly<Record<string, ExternalNodeArgs>> } = {},
): FabricArgs["nodes"] {
  const mesh = fullMesh(members, options);
  const nodes: FabricArgs["nodes"] = {};
  for (const [name, node] of Object.entries(mesh)) {
    const member = members[name];
    if (node.role === "external" || !member) {
      nodes[name] = options.external?.[name] as ExternalNodeArgs;
      continue;
    }
    nodes[name] = { ...(node as Omit<InternalNodeArgs, "connection">), connection: member.connection } as InternalNodeArgs;
  }
  return nodes;
}
