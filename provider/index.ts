/**
 * pulumi-wireguard-fabric: WireGuard fabrics (the Proxmox VE SDN model) as Pulumi components.
 * @packageDocumentation
 */
export * from "./args";
export { InterfaceConfig, InterfaceKey, type InterfaceConfigArgs, type InterfaceKeyArgs, type InterfaceStatus } from "./dynamic/resources";
export * from "./exported-peers";
export { Fabric, type SectionConfigFabricArgs } from "./fabric-resource";
export * from "./mesh";
export { ExternalNode, InternalNode, Peer } from "./nodes";
export {
  fullMesh,
  parseSectionConfig,
  renderIfupdown2,
  renderWg,
  renderWgQuick,
  resolveInterfaces,
  validateFabric,
  writeSectionConfig,
  type FullMeshOptions,
  type InterfaceView,
  type MeshNode,
  type PeerView,
  type SectionConfig,
} from "./fabric";
export { FabricError, formatProblem, parseFabric, type ApplyMode, type Fabric as FabricModel, type FabricInput, type Problem } from "./model";
