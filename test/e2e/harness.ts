import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { engineEnv, LAB_PULUMI_ROOT } from "../../lab/inline-stack";
import type { Lab } from "../../lab/lab";
import { ProjectFolder } from "../../lab/project-folder";

export { engineEnv, inlineStack } from "../../lab/inline-stack";

/** `pulumi stack export [--show-secrets]`, through the real CLI. */
export function exportState(stack: Stack, workDir: string, showSecrets: boolean): string {
  return execFileSync("pulumi", ["stack", "export", ...(showSecrets ? ["--show-secrets"] : []), "--stack", stack.name, "--cwd", workDir], {
    encoding: "utf8",
    env: { ...process.env, ...engineEnv(workDir) },
  });
}

/** Every file of the local state backend, concatenated (what is really on disk). */
export function stateFiles(workDir: string): string {
  const files = execFileSync("find", [path.join(workDir, "state"), "-type", "f"], { encoding: "utf8" }).split("\n").filter(Boolean);
  return files.map((file) => readFileSync(file, "utf8")).join("\n");
}

/** Collects what the engine prints: its output, and its verbose (-v=9) debug logs apart. */
export class EngineLog {
  /** What a user sees. */
  output = "";
  /** The engine's debug logs, which dump RPC payloads (Pulumi's own secrets included). */
  debug = "";
  /** Options for up/preview/refresh/destroy that feed this log. */
  get options() {
    return {
      onOutput: (out: string) => (this.output += out),
      onError: (err: string) => (this.debug += err),
      logToStdErr: true,
      logVerbosity: 9,
      logFlow: true,
    };
  }
}

/** `examples/NAME` (the repository's root for ""), driven through the pulumi CLI with a fresh state of its own. */
export function exampleFolder(name: string): ProjectFolder {
  const stateDir = path.join(LAB_PULUMI_ROOT, `cli-${name || "root"}`);
  rmSync(stateDir, { recursive: true, force: true });
  const folder = new ProjectFolder(path.resolve(__dirname, "../../..", name ? `examples/${name}` : "."), engineEnv(stateDir));
  folder.removeOnCleanup(stateDir);
  return folder;
}

/**
 * The cross-stack example's two sites in `folder`: stacks east (on node `east`, address
 * `${prefix}.1/24`) and west (`west`, `${prefix}.2/24`), west importing east's exportedPeers
 * through a StackReference, then east importing west's: `beforeLastUp` runs before east's
 * second up (its preview shows the peer it imports).
 */
export function joinSites(folder: ProjectFolder, lab: Lab, [east, west]: readonly [string, string], prefix: string, beforeLastUp: () => void = () => undefined): void {
  const site = (name: string, node: string, ip: string) => {
    folder.initStack(name);
    folder.setConfig(name, { site: name, ip, host: { name: node, host: lab.host(node).ip, hostKey: lab.host(node).connection.hostKey } }, { sshPrivateKey: lab.host(node).connection.privateKey });
  };
  site("east", east, `${prefix}.1/24`);
  site("west", west, `${prefix}.2/24`);
  folder.pulumi(["config", "set", "--stack", "west", "peerStack", "organization/wg-fabric-sites/east"]);
  folder.pulumi(["up", "--yes", "--skip-preview", "--stack", "east"]);
  folder.pulumi(["up", "--yes", "--skip-preview", "--stack", "west"]);
  folder.pulumi(["config", "set", "--stack", "east", "peerStack", "organization/wg-fabric-sites/west"]);
  beforeLastUp();
  folder.pulumi(["up", "--yes", "--skip-preview", "--stack", "east"]);
}
