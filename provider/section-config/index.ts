// Proxmox VE's `fabrics.cfg` format: its keys (the table), reading, writing, and what Proxmox VE takes; both dialects.
export * from "./proxmox-rules";
export * from "./reader";
export * from "./section-keys";
export * from "./writer";
