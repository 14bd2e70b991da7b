import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { Lab } from "../../lab/lab";
import { DEFAULT_KEY_DIR } from "../../provider/model";
import { KEYS } from "../unit/helpers";
import { EngineLog, inlineStack } from "./harness";

/** The last release before resource types and names changed, as `npm pack` made it from main. */
const RELEASE = path.resolve(__dirname, "../../../test/fixtures/release-0.1.0.tgz");
const WORK_DIR = path.resolve(__dirname, "../../../.lab/pulumi/upgrade");
/** Where the program and the dynamic provider (which resolves from the work folder) find the old release. */
const INSTALLED = path.join(WORK_DIR, "node_modules/pulumi-wireguard-fabric");
/** Releases before 0.3 kept keys (and the stanza modes' configs) in Proxmox VE's folder. */
const OLD_KEY_DIR = "/etc/wireguard/proxmox";

/**
 * A released package unpacked where the program and the dynamic provider (which resolves from
 * the work folder) find it, and a stack of `program` in that folder.
 */
async function releaseStack(release: string, workDir: string, project: string, program: () => Promise<Record<string, unknown>>) {
  const installed = path.join(workDir, "node_modules/pulumi-wireguard-fabric");
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", release, "-C", installed, "--strip-components=1"]);
  return inlineStack(project, "dev", program, workDir);
}

describe("upgrade from release 0.1.0: same stack, new build", function () {
  this.timeout(300_000);
  let lab: Lab;
  let stack: Stack;
  let release: "0.1.0" | "current" = "0.1.0";
  let keysBefore: Record<string, string>;
  const log = new EngineLog();
  const PSK = "Wq1sVSW/i4sTk/jcJ/F5DCYDyXbyGXQzu4MSPdQWavM=";

  // The RFC's fabric, with a pre-shared key, in the API both releases have.
  const program = async () => {
    const wg = require(release === "0.1.0" ? INSTALLED : "pulumi-wireguard-fabric") as typeof import("pulumi-wireguard-fabric");
    const internal = (name: string, ip: string) => ({
      role: "internal" as const,
      connection: { ...lab.host(name).connection, privateKey: pulumi.secret(lab.host(name).connection.privateKey) },
      endpoint: lab.host(name).ip,
      interfaces: { wg0: { listenPort: 50000, ip } },
    });
    const fabric = new wg.Fabric("vpn", {
      nodes: {
        elementalist: { ...internal("elementalist", "198.51.100.1/24"), allowedIps: ["203.0.113.128/25"], peers: [{ type: "internal", node: "occultist", nodeIface: "wg0", iface: "wg0", presharedKey: pulumi.secret(PSK) }] },
        occultist: {
          ...internal("occultist", "198.51.100.2/24"),
          peers: [
            { type: "internal", node: "elementalist", nodeIface: "wg0", iface: "wg0", presharedKey: pulumi.secret(PSK) },
            { type: "external", node: "berserker", iface: "wg0" },
          ],
        },
        berserker: { role: "external", endpoint: "198.18.11.99:51337", allowedIps: ["203.0.113.0/25"], publicKey: KEYS.berserker },
      },
    });
    return { publicKeys: fabric.publicKeys };
  };
  const keyOnNode = (node: string, dir: string) => execFileSync("wg", ["pubkey"], { input: lab.readNodeFile(node, `${dir}/wg0.key`), encoding: "utf8" }).trim();

  before(async () => {
    lab = await Lab.start(["elementalist", "occultist"], { name: "wgfu", subnet: 11 });
    ({ stack } = await releaseStack(RELEASE, WORK_DIR, "wgfabric-upgrade", program));
  });

  after(async () => {
    try {
      if (stack) await stack.destroy();
    } finally {
      lab?.stop();
      rmSync(WORK_DIR, { recursive: true, force: true });
    }
  });

  it("0.1.0 brings the fabric up", async () => {
    const up = await stack.up(log.options);
    assert.equal(up.summary.result, "succeeded");
    keysBefore = up.outputs.publicKeys!.value as Record<string, string>;
    assert.deepEqual(keysBefore, { "elementalist/wg0": keyOnNode("elementalist", OLD_KEY_DIR), "occultist/wg0": keyOnNode("occultist", OLD_KEY_DIR) });
    const types = (await stack.exportStack()).deployment.resources.map((r: { type: string }) => r.type);
    assert.ok(types.includes("pulumi-nodejs:dynamic:Resource") && types.includes("wireguard-fabric:index:Peer"), "the old release's resource tree");
  });

  it("the new build refreshes the 0.1.0 state: it finds no drift", async () => {
    release = "current";
    rmSync(INSTALLED, { recursive: true, force: true });
    const refresh = await stack.refresh(log.options);
    assert.equal(refresh.summary.result, "succeeded");
    const resources = (await stack.exportStack()).deployment.resources as { type: string; outputs?: { drift?: string[] } }[];
    const drift = resources.filter((r) => r.type === "pulumi-nodejs:dynamic:Resource" && r.outputs?.drift).map((r) => r.outputs!.drift);
    assert.deepEqual(drift, [[], []], "both configs, read through the text 0.1.0 recorded");
  });

  it("the new build takes the stack over: no replacement, no new key, the tunnel stays up", async () => {
    const preview = await stack.preview({ ...log.options, diff: true });
    assert.equal(preview.changeSummary.create, undefined, preview.stdout);
    assert.equal(preview.changeSummary.replace, undefined, preview.stdout);
    const pinger = lab.pingInBackground("elementalist", "198.51.100.2", 40, 0.1);
    const up = await stack.up(log.options);
    assert.equal(up.summary.result, "succeeded");
    const changes = up.summary.resourceChanges ?? {};
    assert.deepEqual(Object.keys(changes).sort(), ["delete", "same", "update"], JSON.stringify(changes));
    assert.equal(changes.delete, 4, "the 3 Peer components and the ExternalNode component");
    assert.deepEqual(up.outputs.publicKeys!.value, keysBefore, "the same public keys");
    assert.deepEqual({ "elementalist/wg0": keyOnNode("elementalist", DEFAULT_KEY_DIR), "occultist/wg0": keyOnNode("occultist", DEFAULT_KEY_DIR) }, keysBefore, "the same keys on the nodes, moved to our folder");
    assert.equal(existsSync(lab.nodePath("occultist", OLD_KEY_DIR)), false, "nothing left in Proxmox VE's folder");
    assert.match(await pinger, /40 packets transmitted, 40 received, 0% packet loss/);
    const resources = (await stack.exportStack()).deployment.resources as { type: string; urn: string }[];
    assert.deepEqual(resources.filter((r) => r.type.includes("dynamic")).map((r) => r.urn.split("::").pop()).sort(), ["vpn/elementalist/wg0", "vpn/elementalist/wg0", "vpn/occultist/wg0", "vpn/occultist/wg0"]);
  });

  it("then a second up changes nothing", async () => {
    const up = await stack.up(log.options);
    assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"]);
  });
});

/** Release 0.2.0, as `npm pack` made it from main: its stanza modes wrote into Proxmox VE's folder. */
const RELEASE_02 = path.resolve(__dirname, "../../../test/fixtures/release-0.2.0.tgz");
const WORK_DIR_02 = path.resolve(__dirname, "../../../.lab/pulumi/upgrade-02");
const INSTALLED_02 = path.join(WORK_DIR_02, "node_modules/pulumi-wireguard-fabric");

describe("upgrade from release 0.2.0: every apply mode's files move out of Proxmox VE's folder, keys unchanged", function () {
  this.timeout(300_000);
  const NODES = { alpha: "wg-quick", beta: "ifupdown2", gamma: "proxmox" } as const;
  let lab: Lab;
  let stack: Stack;
  let release: "0.2.0" | "current" = "0.2.0";
  let keysBefore: Record<string, string>;
  const log = new EngineLog();

  const program = async () => {
    const wg = require(release === "0.2.0" ? INSTALLED_02 : "pulumi-wireguard-fabric") as typeof import("pulumi-wireguard-fabric");
    const fabric = new wg.Fabric("site", {
      defaults: { connection: { user: "root", privateKey: pulumi.secret(lab.hosts[0]!.connection.privateKey) } },
      nodes: Object.fromEntries(
        Object.entries(NODES).map(([node, applyMode], i) => [
          node,
          {
            role: "internal" as const,
            connection: { host: lab.host(node).ip, hostKey: lab.host(node).connection.hostKey },
            endpoint: lab.host(node).ip,
            applyMode,
            interfaces: { wg0: { listenPort: 51820, ip: `10.86.0.${i + 1}/24` } },
          },
        ]),
      ),
      links: [["alpha/wg0", "beta/wg0"], ["beta/wg0", "gamma/wg0"], ["alpha/wg0", "gamma/wg0"]],
    });
    return { publicKeys: fabric.publicKeys };
  };
  const keyOnNode = (node: string, dir: string) => execFileSync("wg", ["pubkey"], { input: lab.readNodeFile(node, `${dir}/wg0.key`), encoding: "utf8" }).trim();
  const keysOnNodes = (dir: string) => Object.fromEntries(Object.keys(NODES).map((node) => [`${node}/wg0`, keyOnNode(node, dir)]));

  before(async () => {
    lab = await Lab.start(Object.keys(NODES), { name: "wgfu2", subnet: 15 });
    ({ stack } = await releaseStack(RELEASE_02, WORK_DIR_02, "wgfabric-upgrade-02", program));
  });

  after(async () => {
    try {
      if (stack) await stack.destroy();
    } finally {
      lab?.stop();
      rmSync(WORK_DIR_02, { recursive: true, force: true });
    }
  });

  it("0.2.0 brings the fabric up with its files in Proxmox VE's folder", async () => {
    const up = await stack.up(log.options);
    assert.equal(up.summary.result, "succeeded");
    keysBefore = up.outputs.publicKeys!.value as Record<string, string>;
    assert.deepEqual(keysBefore, keysOnNodes(OLD_KEY_DIR));
    for (const node of ["beta", "gamma"]) assert.ok(existsSync(lab.nodePath(node, `${OLD_KEY_DIR}/wg0.conf`)), `${node}: 0.2.0 wrote its config there`);
  });

  it("the new build takes it over: no replacement, the same keys moved with their configs, not a ping lost", async () => {
    release = "current";
    rmSync(INSTALLED_02, { recursive: true, force: true });
    const preview = await stack.preview({ ...log.options, diff: true });
    assert.equal(preview.changeSummary.create, undefined, preview.stdout);
    assert.equal(preview.changeSummary.replace, undefined, preview.stdout);
    assert.equal(preview.changeSummary.delete, undefined, preview.stdout);
    const pingers = [lab.pingInBackground("alpha", "10.86.0.2", 40, 0.1), lab.pingInBackground("beta", "10.86.0.3", 40, 0.1)];
    const up = await stack.up(log.options);
    assert.equal(up.summary.result, "succeeded");
    assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}).sort(), ["same", "update"], JSON.stringify(up.summary.resourceChanges));
    assert.deepEqual(up.outputs.publicKeys!.value, keysBefore, "the same public keys");
    assert.deepEqual(keysOnNodes(DEFAULT_KEY_DIR), keysBefore, "the same keys on the nodes, in our folder");
    for (const node of Object.keys(NODES)) {
      assert.equal(existsSync(lab.nodePath(node, OLD_KEY_DIR)), false, `${node}: nothing of ours left in Proxmox VE's folder`);
      assert.equal(lab.readNodeFile(node, `${DEFAULT_KEY_DIR}/wg0.owner`), `site/${node}/wg0\n`);
    }
    for (const node of ["beta", "gamma"]) {
      assert.match(lab.readNodeFile(node, `${DEFAULT_KEY_DIR}/wg0.conf`), new RegExp(`^# Managed by pulumi-wireguard-fabric for site/${node}/wg0: `));
      assert.match(lab.readNodeFile(node, "/etc/network/interfaces.d/wg-fabric-wg0"), / wg0 \/etc\/wireguard\/wg-fabric\/wg0\.conf$/m, `${node}: the stanza reads the moved config`);
    }
    for (const summary of await Promise.all(pingers)) assert.match(summary, /40 packets transmitted, 40 received, 0% packet loss/);
  });

  it("then a second up and a refresh find nothing to do", async () => {
    assert.deepEqual(Object.keys((await stack.up(log.options)).summary.resourceChanges ?? {}), ["same"]);
    await stack.refresh(log.options);
    const resources = (await stack.exportStack()).deployment.resources as { type: string; outputs?: { drift?: string[] } }[];
    assert.deepEqual(resources.filter((r) => r.type.endsWith(":InterfaceConfig")).map((r) => r.outputs?.drift), [[], [], []]);
  });
});
