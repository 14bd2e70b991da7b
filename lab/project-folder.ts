import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import * as path from "node:path";

/** This checkout (lab/ compiles to dist/lab/). */
const REPOSITORY = path.resolve(__dirname, "../..");

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

  /** `env` is the engine's (see engineEnv); its file backend's folder is made when missing. */
  constructor(
    readonly dir: string,
    readonly env: Record<string, string>,
  ) {
    mkdirSync(new URL(env.PULUMI_BACKEND_URL as string).pathname, { recursive: true });
    const modules = path.join(dir, "node_modules");
    if (!existsSync(modules)) {
      symlinkSync(path.relative(dir, path.join(REPOSITORY, "node_modules")), modules);
      this.added.push(modules);
    }
  }

  /** Also removed by {@link cleanup} (e.g. the state folder). */
  removeOnCleanup(file: string): void {
    this.added.push(file);
  }

  /** Runs `pulumi ARGS` in the folder; `input` goes to its stdin; `output: "inherit"` shows it as it comes. */
  run(args: readonly string[], input?: string, output: "pipe" | "inherit" = "pipe"): CommandResult {
    const result = spawnSync("pulumi", args, {
      cwd: this.dir,
      env: { ...process.env, ...this.env },
      input,
      encoding: "utf8",
      maxBuffer: 1 << 28,
      stdio: [input === undefined ? "ignore" : "pipe", output, output],
    });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
  }

  /**
   * Starts `pulumi ARGS` in the folder in a process group of its own (the engine, the language
   * host, the program and the providers it starts are all in it), output discarded: a test can
   * kill the whole group as a closed laptop or a cancelled CI job would.
   */
  start(args: readonly string[]): ChildProcess {
    return spawn("pulumi", args, { cwd: this.dir, env: { ...process.env, ...this.env }, stdio: "ignore", detached: true });
  }

  /** Runs `pulumi ARGS` and returns its output; throws with that output when it fails. */
  pulumi(args: readonly string[], input?: string): string {
    const result = this.run(args, input);
    if (result.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  /** `pulumi stack init STACK` (or select it when it exists); its `Pulumi.STACK.yaml` is removed by {@link cleanup}. */
  initStack(stack: string): void {
    if (this.run(["stack", "select", stack]).status !== 0) this.pulumi(["stack", "init", stack]);
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
    const cli = path.join(REPOSITORY, "dist/cli/wg-fabric.js");
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
