import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { Lab } from "../../lab/lab";
import { KEYS } from "../unit/helpers";
import type { ProjectFolder } from "../../lab/project-folder";
import { exampleFolder, joinSites } from "./harness";

/**
 * Every example, and the repository's root project, run the way the README tells users: in
 * the project folder, through the `pulumi` CLI (stack init, config set with secrets on stdin,
 * preview, up, refresh, destroy), the TypeScript compiled by the language host. The full mesh
 * is also watched with `wg-fabric status` and `wg-fabric graph`.
 */
describe("the examples and the root project, run with the pulumi CLI against the lab", function () {
  this.timeout(300_000);
  let lab: Lab;
  const folders: ProjectFolder[] = [];

  before(async () => {
    // section-config's fabrics.cfg names 198.18.2.1 and .2: this lab's first two hosts
    lab = await Lab.start(["elementalist", "occultist", "mage"], { name: "wgfx", subnet: 2 });
  });
  after(() => {
    for (const folder of folders) folder.cleanup();
    lab?.stop();
  });

  function open(example: string): ProjectFolder {
    const folder = exampleFolder(example);
    folders.push(folder);
    return folder;
  }

  const hosts = (names: string[], pinned = true) =>
    Object.fromEntries(names.map((n) => [n, { host: lab.host(n).ip, ...(pinned ? { hostKey: lab.host(n).connection.hostKey } : {}) }]));
  const sshKey = () => ({ sshPrivateKey: lab.host("elementalist").connection.privateKey });

  /** preview, up, refresh and destroy of the RFC program in `folder`; `check` sees the outputs after up. */
  function rfcLifecycle(folder: ProjectFolder): void {
    folder.initStack("lab");
    // berserker's default endpoint is a hostname; the lab resolves no names, so give it an address
    folder.setConfig("lab", { hosts: hosts(["elementalist", "occultist"]), berserker: { endpoint: "198.18.2.99:51337", publicKey: KEYS.berserker } }, sshKey());
    const connections = lab.totalSshConnections();
    const preview = folder.pulumi(["preview", "--stack", "lab"]);
    assert.match(preview, /\+\s+pulumi-nodejs:dynamic\/wireguard-fabric:InterfaceKey\s+vpn\/elementalist\/wg0\s+create/);
    assert.match(preview, /\+ 8 to create/);
    assert.equal(lab.totalSshConnections(), connections, "a preview of a new stack connects to no node");
    folder.pulumi(["up", "--yes", "--skip-preview", "--stack", "lab"]);
    const outputs = folder.outputs("lab");
    assert.deepEqual(Object.keys(outputs.publicKeys as object).sort(), ["elementalist/wg0", "occultist/wg0"]);
    assert.ok(lab.ping("occultist", "198.51.100.1") >= 2);
    assert.match(folder.pulumi(["refresh", "--yes", "--skip-preview", "--stack", "lab"]), /8 unchanged/);
    assert.match(folder.pulumi(["preview", "--stack", "lab"]), /8 unchanged/);
    folder.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "lab"]);
    assert.equal(lab.exec("occultist", "sh", ["-c", "ls /etc/wireguard/wg-fabric | wc -l"]).trim(), "0");
    folder.pulumi(["stack", "rm", "--yes", "lab"]);
  }

  it("the root project (Pulumi.yaml's main: dist/examples/rfc/index.js): the RFC's fabric carries a ping", () => {
    rfcLifecycle(open(""));
  });

  it("rfc: the same program in its own folder, compiled from index.ts", () => {
    rfcLifecycle(open("rfc"));
  });

  it("full-mesh: unpinned host keys recorded; wg-fabric status and graph see every tunnel, then the one whose wireguard-go died", () => {
    const names = ["elementalist", "occultist", "mage"];
    const folder = open("full-mesh");
    folder.initStack("lab");
    folder.setConfig("lab", { hosts: hosts(names, false) }, sshKey());
    const up = folder.pulumi(["up", "--yes", "--skip-preview", "--stack", "lab"]);
    for (const name of names) assert.match(up, new RegExp(`${name}: connection has no hostKey: the key the node presents at first contact is recorded`));
    const outputs = folder.outputs("lab");
    assert.deepEqual(outputs.hostKeys, Object.fromEntries(names.map((n) => [n, lab.host(n).connection.hostKey])));
    // each node's address, from its own rendered config
    const address = (node: string) => /Address = ([\d.]+)\//.exec((outputs.configs as Record<string, string>)[`${node}/wgmesh`] ?? "")?.[1] as string;
    for (const [from, to] of [["elementalist", "occultist"], ["elementalist", "mage"], ["occultist", "mage"]] as const) {
      assert.ok(lab.ping(from, address(to)) >= 2, `${from} reaches ${to}`);
    }

    const healthy = folder.wgFabric(["status", "--stack", "lab"]);
    assert.equal(healthy.status, 0, healthy.stdout + healthy.stderr);
    const rows = healthy.stdout.split("\n").slice(1, 7);
    assert.equal(rows.length, 6);
    for (const row of rows) assert.match(row, /^(\S+\/wgmesh)\s+(\S+\/wgmesh)\s+198\.18\.2\.\d+:51820\s+\d+s ago\s+\d+(\.\d)? (B|KiB)\s+\d+(\.\d)? (B|KiB)\s+none\s+in sync$/);
    assert.match(healthy.stdout, /all 6 peerings had a handshake in the last 180s/);
    const json = JSON.parse(folder.wgFabric(["status", "--stack", "lab", "--no-refresh", "--json"]).stdout) as { healthy: boolean; peerings: unknown[] };
    assert.equal(json.healthy, true);
    assert.equal(json.peerings.length, 6);
    const green = folder.wgFabric(["graph", "--stack", "lab", "--no-refresh", "--format", "svg"]);
    assert.equal(green.status, 0, green.stderr);
    assert.equal((green.stdout.match(/<g id="edge\d+" class="edge">/g) ?? []).length, 3);
    assert.equal((green.stdout.match(/stroke="#2e7d32"/g) ?? []).length, 3, "three green edges");

    // mage's wireguard-go dies: its interface is gone, its tunnels with it
    for (const pid of lab.processes("mage", "wireguard-go")) process.kill(pid, "SIGKILL");
    const stale = folder.wgFabric(["status", "--stack", "lab"]);
    assert.equal(stale.status, 1, stale.stdout + stale.stderr);
    const mageRows = stale.stdout.split("\n").filter((line) => line.startsWith("mage/wgmesh"));
    assert.equal(mageRows.length, 2);
    for (const row of mageRows) assert.match(row, /! interface down .*the interface does not exist/);
    assert.match(stale.stdout, /2 of 6 peerings had no handshake in the last 180s \(marked !\)/);
    const red = folder.wgFabric(["graph", "--stack", "lab", "--no-refresh", "--format", "svg"]).stdout;
    assert.equal((red.match(/stroke="#c62828"/g) ?? []).length, 2, "mage's two edges are red");
    assert.equal((red.match(/stroke="#2e7d32"/g) ?? []).length, 1);

    folder.pulumi(["up", "--yes", "--skip-preview", "--refresh", "--stack", "lab"]);
    assert.ok(lab.ping("mage", address("elementalist")) >= 2, "up --refresh brings mage's tunnel back");
    folder.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "lab"]);
  });

  it("section-config: a fabric from fabrics.cfg, over IPv6, with public keys written back", () => {
    const folder = open("section-config");
    folder.initStack("lab");
    folder.setConfig("lab", { hosts: hosts(["elementalist", "occultist"]) }, sshKey());
    folder.pulumi(["up", "--yes", "--skip-preview", "--stack", "lab"]);
    const outputs = folder.outputs("lab");
    const keys = outputs.publicKeys as Record<string, string>;
    assert.ok((outputs.sectionConfig as string).includes(`interfaces name=wg1,listen_port=51001,public_key=${keys["occultist/wg1"]},ip6=fd00:51::2/64`));
    assert.ok(lab.ping("occultist", "fd00:51::1") >= 2);
    folder.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "lab"]);
  });

  it("cross-stack: two stacks of one folder joined through exportedPeers and a StackReference", () => {
    const folder = open("cross-stack");
    joinSites(folder, lab, ["elementalist", "occultist"], "10.200.0", () => {
      // the StackReference's outputs are known at preview: the new peer shows before anything changes
      const preview = folder.pulumi(["preview", "--diff", "--stack", "east"]);
      assert.match(preview, /~ pulumi-nodejs:dynamic\/wireguard-fabric:InterfaceConfig: \(update\)/);
      assert.match(preview, /\+ west-occultist-wgx\s*: \{/);
    });
    assert.deepEqual(Object.keys((folder.outputs("east").exportedPeers as { interfaces: object }).interfaces), ["elementalist/wgx"]);
    assert.ok(lab.ping("occultist", "10.200.0.1") >= 2, "west reaches east through the imported peer");
    folder.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "east"]);
    folder.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "west"]);
  });

  it("the example folders hold nothing of a run afterwards but what git ignores", () => {
    for (const folder of folders) folder.cleanup();
    const untracked = execFileSync("git", ["status", "--porcelain", "--ignored", "--", "examples", "Pulumi.lab.yaml"], { cwd: path.resolve(__dirname, "../../.."), encoding: "utf8" });
    assert.deepEqual(untracked.split("\n").filter((line) => /^(\?\?|!!) /.test(line)), []);
  });
});
