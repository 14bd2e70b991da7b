import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, type PulumiFn, type Stack } from "@pulumi/pulumi/automation";
import { engineEnv as labEngineEnv } from "../../lab/engine-env";

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

/**
 * An example's program, run as Pulumi would run it: its compiled index.js is loaded afresh;
 * its exports are the outputs, or, when it exports a function, what that returns.
 */
export function exampleProgram(example: string): PulumiFn {
  const file = path.resolve(__dirname, `../../examples/${example}/index.js`);
  return async () => {
    delete require.cache[file];
    const loaded = require(file) as Record<string, unknown> | (() => Promise<Record<string, unknown>>);
    return typeof loaded === "function" ? await loaded() : { ...loaded };
  };
}

/** The project name of an example, from its Pulumi.yaml. */
export function exampleProject(example: string): string {
  const yaml = readFileSync(path.resolve(__dirname, `../../../examples/${example}/Pulumi.yaml`), "utf8");
  const name = /^name:\s*(\S+)/m.exec(yaml)?.[1];
  if (!name) throw new Error(`examples/${example}/Pulumi.yaml has no name`);
  return name;
}

/** A stack running an example, with its config set (values marked secret stay secret). */
export async function exampleStack(
  example: string,
  stackName: string,
  config: Record<string, { value: string; secret?: boolean }>,
  shared?: string,
): Promise<{ stack: Stack; workDir: string }> {
  const created = await inlineStack(exampleProject(example), stackName, exampleProgram(example), shared);
  await created.stack.setAllConfig(config);
  return created;
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

/** What a command printed and how it ended. */
export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A Pulumi project folder of this repository (an example, or the root) driven through the
 * `pulumi` CLI exactly as the README tells users: `pulumi stack init`, `config set`, `preview`,
 * `up`, `refresh`, `destroy`. The language host compiles its TypeScript and resolves the
 * package from the project's node_modules (this checkout's, linked in when missing). State
 * goes to a local backend of its own; `cleanup` removes what the run added to the folder.
 */
export class ProjectFolder {
  private readonly added: string[] = [];
  readonly env: Record<string, string>;

  constructor(
    readonly dir: string,
    stateName: string,
  ) {
    const stateDir = path.join(ROOT, `cli-${stateName}`);
    rmSync(stateDir, { recursive: true, force: true });
    mkdirSync(path.join(stateDir, "state"), { recursive: true });
    this.added.push(stateDir);
    this.env = { ...engineEnv(stateDir), PULUMI_HOME: path.join(ROOT, "home") };
    const modules = path.join(dir, "node_modules");
    if (!existsSync(modules)) {
      symlinkSync(path.relative(dir, path.resolve(__dirname, "../../../node_modules")), modules);
      this.added.push(modules);
    }
  }

  /** The folder of `examples/NAME` (or the repository's root for ""). */
  static example(name: string): ProjectFolder {
    return new ProjectFolder(path.resolve(__dirname, "../../..", name ? `examples/${name}` : "."), name || "root");
  }

  /** Runs `pulumi ARGS` in the folder; `input` goes to its stdin. */
  run(args: readonly string[], input?: string): CommandResult {
    const result = spawnSync("pulumi", args, { cwd: this.dir, env: { ...process.env, ...this.env }, input, encoding: "utf8", maxBuffer: 1 << 28 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** Runs `pulumi ARGS` and returns its output; throws with that output when it fails. */
  pulumi(args: readonly string[], input?: string): string {
    const result = this.run(args, input);
    if (result.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  /** `pulumi stack init STACK`; its `Pulumi.STACK.yaml` is removed by {@link cleanup}. */
  initStack(stack: string): void {
    this.pulumi(["stack", "init", stack]);
    this.added.push(path.join(this.dir, `Pulumi.${stack}.yaml`));
  }

  /** `pulumi config set` for each entry: objects by `--path`, secrets through stdin. */
  setConfig(stack: string, config: Record<string, string | Record<string, Record<string, string> | string>>, secrets: Record<string, string> = {}): void {
    const set = (key: string, value: string) => this.pulumi(["config", "set", "--stack", stack, "--path", key, value]);
    for (const [key, value] of Object.entries(config)) {
      if (typeof value === "string") {
        this.pulumi(["config", "set", "--stack", stack, key, value]);
        continue;
      }
      for (const [inner, leaf] of Object.entries(value)) {
        if (typeof leaf === "string") set(`${key}.${inner}`, leaf);
        else for (const [field, text] of Object.entries(leaf)) set(`${key}.${inner}.${field}`, text);
      }
    }
    for (const [key, value] of Object.entries(secrets)) this.pulumi(["config", "set", "--stack", stack, "--secret", key], value);
  }

  /** The stack's outputs (`pulumi stack output --json`). */
  outputs(stack: string): Record<string, unknown> {
    return JSON.parse(this.pulumi(["stack", "output", "--json", "--stack", stack])) as Record<string, unknown>;
  }

  /** Runs `wg-fabric ARGS` in the folder, with the stack's engine environment. */
  wgFabric(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
    const cli = path.resolve(__dirname, "../../provider/cli/main.js");
    const result = spawnSync(process.execPath, [cli, ...args], { cwd: this.dir, env: { ...process.env, ...this.env }, maxBuffer: 1 << 28 });
    return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8") };
  }

  /** Removes the stack files, state and node_modules link this run added. */
  cleanup(): void {
    for (const added of this.added.splice(0).reverse()) {
      // the node_modules link goes, never what it points to
      if (existsSync(added) && lstatSync(added).isSymbolicLink()) unlinkSync(added);
      else rmSync(added, { recursive: true, force: true });
    }
  }
}
