/**
 * `pulumi-wireguard-fabric/fabric`: reading, checking, rendering and drawing a fabric, without
 * Pulumi and without touching a node. What a tool (a linter, a generator, a dashboard) needs.
 * @packageDocumentation
 */
// read: a fabric object, or Proxmox VE's fabrics.cfg in either dialect
export { FabricError, formatProblem, parseFabric, parseFabricOrThrow, type ApplyMode, type Fabric as FabricModel, type FabricInput, type Problem } from "./model";
export {
  DIALECTS,
  keyTable,
  parseSectionConfig,
  SECTION_KEYS,
  SectionConfigError,
  writeSectionConfig,
  type Dialect,
  type SectionConfig,
  type SectionKey,
  type WriteOptions,
} from "./section-config";
// check, resolve and render
export {
  fullMeshInput,
  renderIfupdown2,
  renderNodeFiles,
  renderProxmoxConfig,
  renderProxmoxStanza,
  renderWg,
  renderWgQuick,
  resolveInterfaces,
  validateAcrossFabrics,
  validateFabric,
  type FullMeshOptions,
  type InterfaceView,
  type MeshNode,
  type NodeFiles,
  type PeerView,
  type PublicKeys,
} from "./fabric";
// draw
export { renderDot, renderMermaid, topologyOfFabric, type LinkHealth, type Topology, type TopologyInterface, type TopologyLink, type TopologyNode } from "./draw";
