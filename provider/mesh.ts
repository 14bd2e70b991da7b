import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs, ExternalNodeSpec, InternalNodeSpec, NodeSpec } from "./args";
import { fullMeshInput, type FullMeshOptions } from "./fabric";

/** An internal node of {@link fullMesh}: how to reach it and its address in the mesh. */
export interface MeshMemberSpec {
  /** Secret: how to reach it (merged over the fabric's `defaults.connection`). */
  readonly connection?: pulumi.Input<ConnectionArgs>;
  /** Where the others reach it (`host` or `host:port`). */
  readonly endpoint?: string;
  /** Its interface address with prefix, e.g. `10.99.0.1/24`. */
  readonly ip?: string;
  /** Networks behind it. */
  readonly allowedIps?: string[];
}

/** @deprecated Renamed {@link MeshMemberSpec}. */
export type MeshMemberArgs = MeshMemberSpec;

/**
 * The `nodes` of a full mesh (the RFC's "fullmeshify"): one interface per node and a peer to
 * every other node both ways, plus a peer to each external node.
 */
export function fullMesh(
  members: Readonly<Record<string, MeshMemberSpec>>,
  options: Omit<FullMeshOptions, "external"> & { external?: Readonly<Record<string, ExternalNodeSpec>> } = {},
): Record<string, NodeSpec> {
  const mesh = fullMeshInput(members, options);
  const nodes: Record<string, NodeSpec> = {};
  for (const [name, node] of Object.entries(mesh)) {
    const member = members[name];
    if (node.role === "external" || !member) {
      nodes[name] = options.external?.[name] as ExternalNodeSpec;
      continue;
    }
    nodes[name] = { ...(node as Omit<InternalNodeSpec, "connection">), ...(member.connection ? { connection: member.connection } : {}) } as InternalNodeSpec;
  }
  return nodes;
}

/** @deprecated Renamed {@link fullMesh}. */
export const meshNodes = fullMesh;
