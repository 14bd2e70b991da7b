import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, type PulumiFn, type Stack } from "@pulumi/pulumi/automation";
import { engineEnv as labEngineEnv } from "../../lab/engine-env";
import type { Lab } from "../../lab/lab";
import { ProjectFolder } from "../../lab/project-folder";

const ROOT = path.resolve(__dirname, "../../../.lab/pulumi");

/** The engine's environment for a test stack in `workDir`. */
export function engineEnv(workDir: string): Record<string, string> {
  return labEngineEnv(workDir, path.join(ROOT, "home"), "lab-passphrase");
}

/**
 * A stack of an inline program in a fresh folder inside the checkout (the dynamic provider
 * resolves the package from there). Stacks given the same `workDir` share one backend, so
 * they can reference each other.
 */
export async function inlineStack(project: string, stack: string, program: PulumiFn, shared?: string): Promise<{ stack: Stack; workDir: string }> {
  try {
    execFileSync("sh", ["-c", "command -v pulumi"], { stdio: "ignore" });
  } catch {
    throw new Error('the Pulumi engine is not on PATH: run the tests with "npm test", or export PATH="$(bash scripts/pulumi-engine.sh):$PATH"');
  }
  const workDir = shared ?? path.join(ROOT, `${project}-${stack}`);
  if (!shared) rmSync(workDir, { recursive: true, force: true });
  mkdirSync(path.join(workDir, "state"), { recursive: true });
  const env = engineEnv(workDir);
  const created = await LocalWorkspace.createStack(
    { projectName: project, stackName: stack, program },
    { workDir, envVars: env, projectSettings: { name: project, runtime: "nodejs", backend: { url: env.PULUMI_BACKEND_URL } }, secretsProvider: "passphrase" },
  );
  return { stack: created, workDir };
}

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
  const stateDir = path.join(ROOT, `cli-${name || "root"}`);
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
