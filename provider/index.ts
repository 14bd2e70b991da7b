/**
 * pulumi-wireguard-fabric: WireGuard fabrics (the Proxmox VE SDN model) as Pulumi components.
 * @packageDocumentation
 */
export * from "./args";
export { InterfaceConfig, InterfaceKey, type InterfaceConfigArgs, type InterfaceKeyArgs, type InterfaceStatus, type PeerEntryInput } from "./dynamic/resources";
export * from "./exported-peers";
export { Fabric, type SectionConfigFabricArgs } from "./fabric-resource";
export * from "./mesh";
export type { InternalNode } from "./nodes";
export {
  DIALECTS,
  keyTable,
  parseSectionConfig,
  renderIfupdown2,
  renderProxmoxConfig,
  renderProxmoxStanza,
  renderWg,
  renderWgQuick,
  resolveInterfaces,
  SECTION_KEYS,
  validateAcrossFabrics,
  validateFabric,
  writeSectionConfig,
  type Dialect,
  type FullMeshOptions,
  type InterfaceView,
  type MeshNode,
  type PeerEntry,
  type PeerView,
  type SectionConfig,
  type SectionKey,
  type WriteOptions,
} from "./fabric";
export { FabricError, formatProblem, parseFabric, type ApplyMode, type Fabric as FabricModel, type FabricInput, type Problem } from "./model";
