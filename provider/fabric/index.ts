export * from "./ifupdown2";
export * from "./keys";
export * from "./mesh";
export * from "./render";
export * from "./resolve";
export * from "./section-config";
export * from "./section-keys";
export * from "./validate";
export * from "./declared";
export * from "./paths";
export * from "./sync-plan";
export * from "./entry";
export * from "./links";
export * from "./proxmox";
export * from "./render-context";
export * from "./topology";
export * from "./graph";
// The pure API without Pulumi (`pulumi-wireguard-fabric/fabric`): the model's parsing too.
export { FabricError, formatProblem, parseFabric, parseFabricOrThrow, type Fabric as FabricModel, type FabricInput, type Problem } from "../model";
