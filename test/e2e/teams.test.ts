import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { Lab } from "../../lab/lab";
import { Postgres } from "../../lab/postgres";
import { ProjectFolder } from "../../lab/project-folder";
import { engineEnv, joinSites } from "./harness";

const REPOSITORY = path.resolve(__dirname, "../../..");
const NAMES = ["t1", "t2", "t3"] as const;

/** `pulumi ARGS` in the folder, not waited for: its exit code and output when it ends. */
function started(folder: ProjectFolder, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("pulumi", args, { cwd: folder.dir, env: { ...process.env, ...folder.env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    child.stderr.on("data", (data: Buffer) => (output += data.toString()));
    child.on("close", (code) => resolve({ code, output }));
  });
}

/**
 * Teams keep state in a shared backend and run `pulumi up` from several machines: here the
 * backend is a real PostgreSQL server (Debian's, on loopback, started and stopped by the test)
 * and the operators are processes started at the same moment. One stack's lock, `wg-fabric
 * status` and `graph` of a stack in it, and two stacks joined through a StackReference in it.
 */
describe("a shared PostgreSQL backend: two operators, one fabric", function () {
  this.timeout(600_000);
  let lab: Lab;
  let postgres: Postgres;
  const folders: ProjectFolder[] = [];
  const env = () => ({ ...engineEnv(path.join(REPOSITORY, ".lab/pulumi/teams")), PULUMI_BACKEND_URL: postgres.url });
  const open = (example: string): ProjectFolder => {
    const folder = new ProjectFolder(path.join(REPOSITORY, "examples", example), env());
    folders.push(folder);
    return folder;
  };
  const hosts = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, { host: lab.host(n).ip, hostKey: lab.host(n).connection.hostKey }]));
  const sshKey = () => ({ sshPrivateKey: lab.host("t1").connection.privateKey });

  before(async () => {
    lab = await Lab.start([...NAMES], { name: "wgfs", subnet: 19 });
    postgres = await Postgres.start(path.join(REPOSITORY, ".lab/postgres"));
  });
  after(() => {
    for (const folder of folders) folder.cleanup();
    postgres?.stop();
    lab?.stop();
    rmSync(path.join(REPOSITORY, ".lab/pulumi/teams"), { recursive: true, force: true });
  });

  it("two pulumi up of one stack at once: one runs, the other stops at the stack's lock before touching a node; then nothing is left to do", async () => {
    const folder = open("full-mesh");
    folder.initStack("team");
    folder.setConfig("team", { hosts: hosts(NAMES) }, sshKey());
    const runs = await Promise.all([0, 1].map(() => started(folder, ["up", "--yes", "--skip-preview", "--stack", "team"])));
    const won = runs.filter((run) => run.code === 0);
    const lost = runs.filter((run) => run.code !== 0);
    assert.equal(won.length, 1, runs.map((run) => run.output.slice(-600)).join("\n---\n"));
    assert.equal(lost.length, 1);
    // Pulumi's own message, before the update starts: nothing of the second run reached a node
    assert.match(lost[0]?.output ?? "", /^error: the stack is currently locked by 1 lock\(s\)/m);
    assert.doesNotMatch(lost[0]?.output ?? "", /Updating \(|\+ +pulumi-nodejs/, `the second run changed nothing: ${lost[0]?.output}`);
    // one key per node, the one the stack recorded: nothing was made twice
    const publicKeys = folder.outputs("team").publicKeys as Record<string, string>;
    for (const name of NAMES) {
      const dir = lab.nodePath(name, "/etc/wireguard/wg-fabric");
      assert.deepEqual(readdirSync(dir).filter((file) => file.endsWith(".key")), ["wgmesh.key"], name);
      assert.equal(readFileSync(path.join(dir, "wgmesh.pub"), "utf8").trim(), publicKeys[`${name}/wgmesh`]);
    }
    assert.equal(folder.run(["preview", "--expect-no-changes", "--stack", "team"]).status, 0, "the next run has nothing to do");
  });

  it("wg-fabric status and graph read the stack from the shared backend", () => {
    const folder = folders[0] as ProjectFolder;
    const address = (i: number) => `10.99.0.${i + 1}`;
    for (const [i, name] of NAMES.entries()) assert.ok(lab.ping(name, address((i + 1) % NAMES.length)) >= 2, `${name} reaches its neighbour`);
    const status = folder.wgFabric(["status", "--stack", "team"]);
    assert.equal(status.status, 0, status.stderr);
    assert.equal(status.stdout.split("\n").filter((line) => /^t\d\/wgmesh /.test(line)).length, 6, status.stdout);
    const graph = folder.wgFabric(["graph", "--stack", "team", "--no-refresh"]);
    assert.equal(graph.status, 0, graph.stderr);
    for (const name of NAMES) assert.ok(graph.stdout.includes(name), `${name} drawn`);
    folder.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "team"]);
    folder.pulumi(["stack", "rm", "--yes", "team"]);
  });

  it("cross-stack: two sites in the shared backend joined through exportedPeers and a StackReference", () => {
    const folder = open("cross-stack");
    joinSites(folder, lab, ["t1", "t2"], "10.201.0");
    assert.ok(lab.ping("t2", "10.201.0.1") >= 2, "west reaches east through the peer it imported from the backend");
    for (const name of ["east", "west"]) {
      folder.pulumi(["destroy", "--yes", "--skip-preview", "--stack", name]);
      folder.pulumi(["stack", "rm", "--yes", name]);
    }
  });
});
