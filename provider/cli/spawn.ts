import type * as ChildProcess from "node:child_process";

/**
 * `child_process.spawnSync`, loaded on first use: only `graph` (Graphviz) and the stack
 * commands (pulumi) start processes, and loading the module costs every command start-up time.
 */
export const spawnSync = ((...args: Parameters<typeof ChildProcess.spawnSync>) =>
  (require("node:child_process") as typeof ChildProcess).spawnSync(...args)) as typeof ChildProcess.spawnSync;
