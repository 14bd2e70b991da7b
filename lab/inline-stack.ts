import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, type PulumiFn, type Stack } from "@pulumi/pulumi/automation";
import { engineEnv as labEngineEnv } from "./engine-env";

/** Where test stacks keep their state and PULUMI_HOME (inside the checkout: the dynamic provider resolves the package from there). */
export const LAB_PULUMI_ROOT = path.resolve(__dirname, "../../.lab/pulumi");

/** The engine's environment for a test stack in `workDir`. */
export function engineEnv(workDir: string): Record<string, string> {
  return labEngineEnv(workDir, path.join(LAB_PULUMI_ROOT, "home"), "lab-passphrase");
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
  const workDir = shared ?? path.join(LAB_PULUMI_ROOT, `${project}-${stack}`);
  if (!shared) rmSync(workDir, { recursive: true, force: true });
  mkdirSync(path.join(workDir, "state"), { recursive: true });
  const env = engineEnv(workDir);
  const created = await LocalWorkspace.createStack(
    { projectName: project, stackName: stack, program },
    { workDir, envVars: env, projectSettings: { name: project, runtime: "nodejs", backend: { url: env.PULUMI_BACKEND_URL } }, secretsProvider: "passphrase" },
  );
  return { stack: created, workDir };
}
