import { spawnSync } from "./spawn";

/** Which stack the `pulumi` CLI works on: `--stack` and `--cwd` as the user gave them. */
export interface StackSelection {
  readonly stack?: string;
  readonly cwd?: string;
}

/** What a `pulumi` command printed, and whether it succeeded. */
export interface PulumiResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

function pulumi(args: readonly string[], selection: StackSelection): PulumiResult {
  const full = [...args, "--non-interactive", ...(selection.stack ? ["--stack", selection.stack] : []), ...(selection.cwd ? ["--cwd", selection.cwd] : [])];
  const result = spawnSync("pulumi", full, { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "pipe"] });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === "ENOENT";
    return { ok: false, stdout: "", stderr: missing ? "the pulumi CLI is not on PATH" : result.error.message };
  }
  return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr };
}

/** `pulumi refresh`: reads every node's interfaces into the stack's state (handshakes, drift). */
export function refreshStack(selection: StackSelection): PulumiResult {
  return pulumi(["refresh", "--yes", "--skip-preview", "--color", "never"], selection);
}

/** `pulumi stack export`: the stack's state as JSON (secrets stay encrypted). */
export function exportStack(selection: StackSelection): PulumiResult {
  return pulumi(["stack", "export"], selection);
}

/** The last lines of a failed command's output, for an error message. */
export function tail(result: PulumiResult, lines = 15): string {
  return `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-lines).join("\n");
}
