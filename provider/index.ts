/**
 * pulumi-wireguard-fabric: WireGuard fabrics (the Proxmox VE SDN model) as Pulumi components.
 * Reading, checking, rendering and drawing a fabric without Pulumi: `pulumi-wireguard-fabric/fabric`.
 * @packageDocumentation
 */
// the components
export { Fabric, type SectionConfigFabricArgs } from "./fabric-resource";
export type { InternalNode } from "./nodes";
// the spec types a program writes
export type {
  ConnectionArgs,
  ExternalNodeSpec,
  FabricArgs,
  FabricDefaults,
  InterfaceSpec,
  InternalNodeSpec,
  NodeSpec,
  PartialConnectionArgs,
  PeerOverrides,
  PeerSpec,
} from "./args";
export type { ApplyMode, PathStep, Problem, ProblemPlace } from "./model";
// the helpers
export { fullMesh, type MeshMemberSpec } from "./mesh";
export { exportPeers, externalNodesFrom, type ExportedInterface, type ExportedPeers } from "./exported-peers";
// the error a program catches
export { FabricError } from "./model";
// names of earlier releases
export * from "./deprecated";
