import * as path from "node:path";

/**
 * The engine's environment for a local stack in `workDir`: file state backend, a passphrase
 * secrets provider, our own PULUMI_HOME, and no plugin downloads or update checks (this
 * machine reaches neither).
 */
export function engineEnv(workDir: string, home: string, passphrase: string): Record<string, string> {
  return {
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${path.join(workDir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: passphrase,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
}
