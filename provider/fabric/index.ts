// Checking, resolving and rendering a fabric (pure: no I/O, no Pulumi).
export * from "./endpoint-refresh";
export * from "./ifupdown2";
export * from "./keys";
export * from "./links";
export * from "./mesh";
export * from "./node-address";
export * from "./pair-keys";
export * from "./paths";
export * from "./prepare";
export * from "./proxmox";
export * from "./render";
export * from "./render-context";
export * from "./resolve";
export * from "./validate";
export * from "./wg-format";
