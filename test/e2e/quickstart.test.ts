import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Lab } from "../../lab/lab";
import { ProjectFolder } from "../../lab/project-folder";
import { engineEnv } from "./harness";

const REPOSITORY = path.resolve(__dirname, "../../..");

/** The README's block marked `<!-- quickstart: NAME -->`, as written. */
function quickstartBlock(readme: string, name: string): string {
  const found = new RegExp(`<!-- quickstart: ${name.replace(/\./g, "\\.")} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!found) throw new Error(`README.md has no quick start block for ${name}`);
  return found[1] as string;
}

/**
 * The README's quick start, run as a user runs it: its Pulumi.yaml and index.ts as written, in a
 * folder of their own made with its npm commands (the package from this checkout where the
 * README installs it from the registry), its config, then preview, up and wg-fabric status
 * against two lab nodes.
 */
describe("the README's quick start, as written, against the lab", function () {
  this.timeout(300_000);
  let lab: Lab;
  let folder: ProjectFolder;
  const dir = path.join(REPOSITORY, ".lab/quickstart");
  const state = path.join(REPOSITORY, ".lab/pulumi/quickstart");

  before(async () => {
    lab = await Lab.start(["pve1", "pve2"], { name: "wgfq", subnet: 17 });
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  });
  after(() => {
    folder?.cleanup();
    lab?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  it("compiles, previews without contacting a node, comes up: the nodes reach each other at 10.77.0.x; wg-fabric status sees both tunnels", async () => {
    const readme = readFileSync(path.join(REPOSITORY, "README.md"), "utf8");
    for (const command of ["npm init -y", "npm pkg set main=index.ts"]) {
      assert.ok(readme.includes(`\n${command}`), `the quick start runs ${command}`);
      execFileSync("sh", ["-c", command], { cwd: dir, stdio: "ignore" });
    }
    writeFileSync(path.join(dir, "Pulumi.yaml"), quickstartBlock(readme, "Pulumi.yaml"));
    writeFileSync(path.join(dir, "index.ts"), quickstartBlock(readme, "index.ts"));
    folder = new ProjectFolder(dir, engineEnv(state));
    folder.initStack("dev");
    folder.setConfig("dev", { nodes: { pve1: lab.host("pve1").ip, pve2: lab.host("pve2").ip } }, { sshPrivateKey: lab.host("pve1").connection.privateKey });
    const connections = lab.totalSshConnections();
    const preview = folder.pulumi(["preview", "--diff", "--stack", "dev"]);
    assert.match(preview, /\+ 8 to create/);
    assert.equal(lab.totalSshConnections(), connections, "the preview of a new stack contacts no node");
    folder.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
    assert.notEqual(await lab.pingUntilAnswer("pve1", "10.77.0.2", 12), undefined, "pve1 reaches pve2 through wg0");
    const status = folder.wgFabric(["status", "--stack", "dev"]);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /pve1\/wg0 +pve2\/wg0 /);
    assert.match(status.stdout, /pve2\/wg0 +pve1\/wg0 /);
    folder.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "dev"]);
    folder.pulumi(["stack", "rm", "--yes", "dev"]);
  });
});
