// Proxmox VE's `fabrics.cfg` format: its keys (the table), parsing and writing, both dialects.
export * from "./section-config";
export * from "./section-keys";
