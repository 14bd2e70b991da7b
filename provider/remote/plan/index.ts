// Planning a node's changes (pure): what its files declare, what runs, and the steps between.
export * from "./declared";
export * from "./endpoint-routes";
export * from "./policy-routing";
export * from "./proxmox-node";
export * from "./sync-plan";
