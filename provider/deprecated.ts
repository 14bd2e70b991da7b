/**
 * Names the root exported in 0.2, kept so its programs build: each says where it went.
 * Nothing new is added here.
 */
import * as fabric from "./fabric-api";
import type * as fabricTypes from "./fabric-api";
import * as resources from "./dynamic/resources";

export type { ExternalNodeArgs, InterfaceArgs, InternalNodeArgs, PeerArgs } from "./args";
export { meshNodes, type MeshMemberArgs } from "./mesh";

/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const DIALECTS = fabric.DIALECTS;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const keyTable = fabric.keyTable;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const parseSectionConfig = fabric.parseSectionConfig;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const renderIfupdown2 = fabric.renderIfupdown2;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const renderProxmoxConfig = fabric.renderProxmoxConfig;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const renderProxmoxStanza = fabric.renderProxmoxStanza;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const renderWg = fabric.renderWg;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const renderWgQuick = fabric.renderWgQuick;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const resolveInterfaces = fabric.resolveInterfaces;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const SECTION_KEYS = fabric.SECTION_KEYS;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const validateAcrossFabrics = fabric.validateAcrossFabrics;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const validateFabric = fabric.validateFabric;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const writeSectionConfig = fabric.writeSectionConfig;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const formatProblem = fabric.formatProblem;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export const parseFabric = fabric.parseFabric;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type Dialect = fabricTypes.Dialect;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type FullMeshOptions = fabricTypes.FullMeshOptions;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type InterfaceView = fabricTypes.InterfaceView;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type MeshNode = fabricTypes.MeshNode;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type PeerView = fabricTypes.PeerView;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type SectionConfig = fabricTypes.SectionConfig;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type SectionKey = fabricTypes.SectionKey;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type WriteOptions = fabricTypes.WriteOptions;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type FabricModel = fabricTypes.FabricModel;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type FabricInput = fabricTypes.FabricInput;
/** @deprecated Import from `pulumi-wireguard-fabric/fabric`. */
export type PeerEntry = fabricTypes.PeerView;
/** @deprecated A resource `Fabric` makes for each interface; not for programs to create. */
export const InterfaceKey = resources.InterfaceKey;
/** @deprecated A resource `Fabric` makes for each interface; not for programs to create. */
export type InterfaceKey = resources.InterfaceKey;
/** @deprecated A resource `Fabric` makes for each interface; not for programs to create. */
export const InterfaceConfig = resources.InterfaceConfig;
/** @deprecated A resource `Fabric` makes for each interface; not for programs to create. */
export type InterfaceConfig = resources.InterfaceConfig;
/** @deprecated A resource `Fabric` makes for each interface; not for programs to create. */
export type InterfaceKeyArgs = resources.InterfaceKeyArgs;
/** @deprecated A resource `Fabric` makes for each interface; not for programs to create. */
export type InterfaceConfigArgs = resources.InterfaceConfigArgs;
/** @deprecated A resource `Fabric` makes for each interface; not for programs to create. */
export type InterfaceStatus = resources.InterfaceStatus;
/** @deprecated A resource `Fabric` makes for each interface; not for programs to create. */
export type PeerEntryInput = resources.PeerEntryInput;
