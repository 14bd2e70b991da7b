import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { Lab } from "../../lab/lab";
import { KEYS } from "../unit/helpers";
import { EngineLog, inlineStack } from "./harness";

/** The last release before resource types and names changed, as `npm pack` made it from main. */
const RELEASE = path.resolve(__dirname, "../../../test/fixtures/release-0.1.0.tgz");
const WORK_DIR = path.resolve(__dirname, "../../../.lab/pulumi/upgrade");
/** Where the program and the dynamic provider (which resolves from the work folder) find the old release. */
const INSTALLED = path.join(WORK_DIR, "node_modules/pulumi-wireguard-fabric");

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
  const keyOnNode = (node: string) => execFileSync("wg", ["pubkey"], { input: lab.readNodeFile(node, "/etc/wireguard/proxmox/wg0.key"), encoding: "utf8" }).trim();

  before(async () => {
    lab = await Lab.start(["elementalist", "occultist"], { name: "wgfu", subnet: 11 });
    rmSync(WORK_DIR, { recursive: true, force: true });
    mkdirSync(INSTALLED, { recursive: true });
    execFileSync("tar", ["-xzf", RELEASE, "-C", INSTALLED, "--strip-components=1"]);
    ({ stack } = await inlineStack("wgfabric-upgrade", "dev", program, WORK_DIR));
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
    assert.deepEqual(keysBefore, { "elementalist/wg0": keyOnNode("elementalist"), "occultist/wg0": keyOnNode("occultist") });
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
    assert.deepEqual({ "elementalist/wg0": keyOnNode("elementalist"), "occultist/wg0": keyOnNode("occultist") }, keysBefore, "the same keys on the nodes");
    assert.match(await pinger, /40 packets transmitted, 40 received, 0% packet loss/);
    const resources = (await stack.exportStack()).deployment.resources as { type: string; urn: string }[];
    assert.deepEqual(resources.filter((r) => r.type.includes("dynamic")).map((r) => r.urn.split("::").pop()).sort(), ["vpn/elementalist/wg0", "vpn/elementalist/wg0", "vpn/occultist/wg0", "vpn/occultist/wg0"]);
  });

  it("then a second up changes nothing", async () => {
    const up = await stack.up(log.options);
    assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"]);
  });
});
