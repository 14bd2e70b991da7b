import * as assert from "node:assert/strict";
import { rmSync } from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { Lab } from "../../lab/lab";
import { KEYS } from "../unit/helpers";
import { exampleStack } from "./harness";

describe("the examples, run by the engine against the lab", function () {
  this.timeout(300_000);
  let lab: Lab;
  const workDirs: string[] = [];

  before(async () => {
    // section-config's fabrics.cfg names 198.18.2.1 and .2: this lab's first two hosts
    lab = await Lab.start(["elementalist", "occultist", "mage"], { name: "wgfx", subnet: 2 });
  });
  after(() => {
    lab?.stop();
    for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
  });

  const hostsConfig = (names: string[], pinned = true) => ({
    hosts: { value: JSON.stringify(Object.fromEntries(names.map((n) => [n, { host: lab.host(n).ip, ...(pinned ? { hostKey: lab.host(n).connection.hostKey } : {}) }]))) },
    sshPrivateKey: { value: lab.host("elementalist").connection.privateKey, secret: true },
  });

  async function upAndDestroy(stack: Stack, check: (outputs: Record<string, unknown>, stdout: string) => void): Promise<void> {
    const up = await stack.up();
    assert.equal(up.summary.result, "succeeded");
    check(Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value])), up.stdout);
    const destroy = await stack.destroy();
    assert.equal(destroy.summary.result, "succeeded");
  }

  it("rfc: the RFC's three-node fabric carries a ping", async () => {
    // berserker's default endpoint is a hostname; the lab resolves no names, so give it an address
    const berserker = { berserker: { value: JSON.stringify({ endpoint: "198.18.2.99:51337", publicKey: KEYS.berserker }) } };
    const { stack, workDir } = await exampleStack("rfc", "lab", { ...hostsConfig(["elementalist", "occultist"]), ...berserker });
    workDirs.push(workDir);
    await upAndDestroy(stack, (outputs) => {
      assert.deepEqual(Object.keys(outputs.publicKeys as object).sort(), ["elementalist/wg0", "occultist/wg0"]);
      assert.match((outputs.configs as Record<string, string>)["occultist/wg0"]!, /Endpoint = 198\.18\.2\.99:51337/);
      assert.ok(lab.ping("occultist", "198.51.100.1") >= 2);
    });
  });

  it("full-mesh: every node reaches every other; unpinned host keys are recorded at first contact, with a warning", async () => {
    const names = ["elementalist", "occultist", "mage"];
    const { stack, workDir } = await exampleStack("full-mesh", "lab", hostsConfig(names, false));
    workDirs.push(workDir);
    await upAndDestroy(stack, (outputs, stdout) => {
      assert.ok(lab.ping("elementalist", "10.99.0.3") >= 2);
      assert.ok(lab.ping("mage", "10.99.0.2") >= 2);
      assert.deepEqual(outputs.hostKeys, Object.fromEntries(names.map((n) => [n, lab.host(n).connection.hostKey])));
      for (const name of names) assert.match(stdout, new RegExp(`${name}: connection has no hostKey: the key the node presents at first contact is recorded`));
    });
  });

  it("section-config: a fabric from fabrics.cfg, over IPv6, with public keys written back", async () => {
    const { stack, workDir } = await exampleStack("section-config", "lab", hostsConfig(["elementalist", "occultist"]));
    workDirs.push(workDir);
    await upAndDestroy(stack, (outputs) => {
      const keys = outputs.publicKeys as Record<string, string>;
      assert.ok((outputs.sectionConfig as string).includes(`interfaces name=wg1,listen_port=51001,public_key=${keys["occultist/wg1"]},ip6=fd00:51::2/64`));
      assert.ok(lab.ping("occultist", "fd00:51::1") >= 2);
    });
  });

  it("cross-stack: two sites joined through exportedPeers", async () => {
    const shared = path.resolve(__dirname, "../../../.lab/pulumi/sites");
    rmSync(shared, { recursive: true, force: true });
    workDirs.push(shared);
    const site = (name: string, node: string, ip: string) => ({
      site: { value: name },
      ip: { value: ip },
      host: { value: JSON.stringify({ name: node, host: lab.host(node).ip, hostKey: lab.host(node).connection.hostKey }) },
      sshPrivateKey: { value: lab.host(node).connection.privateKey, secret: true },
    });
    const east = (await exampleStack("cross-stack", "east", site("east", "elementalist", "10.200.0.1/24"), shared)).stack;
    const west = (await exampleStack("cross-stack", "west", { ...site("west", "occultist", "10.200.0.2/24"), peerStack: { value: "organization/wg-fabric-sites/east" } }, shared)).stack;
    await east.up();
    await west.up();
    await east.setConfig("peerStack", { value: "organization/wg-fabric-sites/west" });
    const up = await east.up();
    assert.deepEqual(Object.keys((up.outputs.exportedPeers!.value as { interfaces: object }).interfaces), ["elementalist/wgx"]);
    assert.ok(lab.ping("occultist", "10.200.0.1") >= 2, "west reaches east through the imported peer");
    await east.destroy();
    await west.destroy();
  });
});
