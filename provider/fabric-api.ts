/**
 * `pulumi-wireguard-fabric/fabric`: reading, checking, rendering and drawing a fabric, without
 * Pulumi and without touching a node. What a tool (a linter, a generator, a dashboard) needs.
 * @packageDocumentation
 */
// read: a fabric object, or Proxmox VE's fabrics.cfg in either dialect
export {
  FabricError,
  formatProblem,
  parseFabric,
  parseFabricOrThrow,
  type ApplyMode,
  type Fabric as FabricModel,
  type FabricInput,
  type PathStep,
  type Problem,
  type ProblemPlace,
} from "./model";
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
// check (prepareFabric: parse, validate and resolve in one step), resolve and render
export {
  fullMeshInput,
  prepareFabric,
  recordedPublicKeys,
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
  type Preparation,
  type PreparedFabric,
  type PrepareOptions,
  type PublicKeys,
  type ValidFabric,
} from "./fabric";
// draw
export { renderDot, renderMermaid, topologyOfFabric, type LinkHealth, type Topology, type TopologyInterface, type TopologyLink, type TopologyNode } from "./draw";
