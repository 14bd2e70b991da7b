import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import * as wg from "pulumi-wireguard-fabric";
import { Lab } from "../../lab/lab";
import { KEYS } from "../unit/helpers";
import { EngineLog, exportState, inlineStack, stateFiles } from "./harness";

type Nodes = wg.FabricArgs["nodes"];

describe("Fabric on the real engine (preview, up, refresh, destroy)", function () {
  this.timeout(300_000);
  let lab: Lab;
  let stack: Stack;
  let workDir: string;
  let nodes: Nodes;
  let peerComponents = true;
  const log = new EngineLog();

  const connection = (name: string) => ({ ...lab.host(name).connection, privateKey: pulumi.secret(lab.host(name).connection.privateKey) });
  const internal = (name: string, ip: string, peers: string[], extra: object = {}): wg.InternalNodeArgs => ({
    role: "internal",
    connection: connection(name),
    endpoint: lab.host(name).ip,
    interfaces: { wg0: { listenPort: 50000, ip } },
    peers: peers.map((node) => ({ type: "internal" as const, node, nodeIface: "wg0", iface: "wg0" })),
    ...extra,
  });
  // elementalist and occultist share a pre-shared key, given as a secret
  const PSK = "Wq1sVSW/i4sTk/jcJ/F5DCYDyXbyGXQzu4MSPdQWavM=";
  const rfcNodes = (): Nodes => ({
    elementalist: {
      ...internal("elementalist", "198.51.100.1/24", []),
      allowedIps: ["203.0.113.128/25"],
      peers: [{ type: "internal", node: "occultist", nodeIface: "wg0", iface: "wg0", presharedKey: pulumi.secret(PSK) }],
    },
    occultist: {
      ...internal("occultist", "198.51.100.2/24", ["elementalist"]),
      peers: [
        { type: "internal", node: "elementalist", nodeIface: "wg0", iface: "wg0", presharedKey: pulumi.secret(PSK) },
        { type: "external", node: "berserker", iface: "wg0" },
      ],
    },
    berserker: { role: "external", endpoint: "198.18.1.99:51337", allowedIps: ["203.0.113.0/25"], publicKey: KEYS.berserker },
  });
  const program = async () => {
    const fabric = new wg.Fabric("vpn", { nodes, peerComponents });
    return { publicKeys: fabric.publicKeys, configs: fabric.configs, sectionConfig: fabric.sectionConfig, status: fabric.status, drift: fabric.drift, exportedPeers: fabric.exportedPeers };
  };
  const keyOnNode = (node: string) => execFileSync("wg", ["pubkey"], { input: lab.readNodeFile(node, "/etc/wireguard/proxmox/wg0.key"), encoding: "utf8" }).trim();
  const privateKeys = () => ["elementalist", "occultist", "mage"].flatMap((node) => {
    try {
      return [lab.readNodeFile(node, "/etc/wireguard/proxmox/wg0.key").trim()];
    } catch {
      return [];
    }
  });
  const seenPrivateKeys = new Set<string>();

  before(async () => {
    lab = await Lab.start(["elementalist", "occultist", "mage"], { name: "wgfe", subnet: 1 });
    nodes = rfcNodes();
    ({ stack, workDir } = await inlineStack("wgfabric-e2e", "dev", program));
  });

  after(async () => {
    lab?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  afterEach(() => privateKeys().forEach((key) => seenPrivateKeys.add(key)));

  it("rejects bad input at preview, naming the problem, with no SSH connection", async () => {
    const before = lab.totalSshConnections();
    nodes = rfcNodes();
    nodes.occultist = { ...(nodes.occultist as wg.InternalNodeArgs), peers: [{ type: "external", node: "elementalist-typo", iface: "wg0" }, { type: "external", node: "berserkr", iface: "wg0" }] };
    await assert.rejects(stack.preview(log.options), /occultist: peers\[0\]: node: node "elementalist-typo" is not defined in fabric "vpn"\n.*occultist: peers\[1\]: node: node "berserkr" is not defined in fabric "vpn"/);
    nodes = rfcNodes();
    (nodes.berserker as wg.ExternalNodeArgs).allowedIps!.push("198.51.100.0/25");
    await assert.rejects(
      stack.preview(log.options),
      /occultist: wg0: peers\[0\]: AllowedIPs 198\.51\.100\.0\/25 of berserker overlaps 198\.51\.100\.1\/32 of peers\[0\] \(elementalist\/wg0\)|AllowedIPs 198\.51\.100\.1\/32 of elementalist\/wg0 overlaps 198\.51\.100\.0\/25 of peers\[1\] \(berserker\)/,
    );
    assert.equal(lab.totalSshConnections(), before);
  });

  it("previews a new fabric: every planned resource, no SSH connection", async () => {
    nodes = rfcNodes();
    const before = lab.totalSshConnections();
    const preview = await stack.preview(log.options);
    // stack, fabric, 3 node components, 2 keys, 2 configs, 3 peer components
    assert.equal(preview.changeSummary.create, 12);
    assert.match(preview.stdout, /vpn-occultist-wg0-key/);
    assert.match(preview.stdout, /vpn-occultist-wg0-berserker/);
    peerComponents = false;
    const lean = await stack.preview(log.options);
    peerComponents = true;
    assert.equal(lean.changeSummary.create, 9, "without the 3 Peer components");
    assert.equal(lab.totalSshConnections(), before);
  });

  it("up: public keys are the nodes' own, and a ping crosses the tunnel", async () => {
    const up = await stack.up(log.options);
    assert.equal(up.summary.result, "succeeded");
    const keys = up.outputs.publicKeys!.value as Record<string, string>;
    assert.deepEqual(keys, { "elementalist/wg0": keyOnNode("elementalist"), "occultist/wg0": keyOnNode("occultist") });
    assert.ok(lab.ping("occultist", "198.51.100.1", 5) >= 4);
    assert.match(up.outputs.sectionConfig!.value as string, new RegExp(`interfaces name=wg0,listen_port=50000,public_key=${keys["occultist/wg0"]!.replace(/[+/]/g, "\\$&")},ip=198.51.100.2/24`));
    assert.equal(up.outputs.configs!.secret, true, "configs holding a pre-shared key are secret");
    assert.match((up.outputs.configs!.value as Record<string, string>)["occultist/wg0"]!, new RegExp(`PresharedKey = ${PSK.replace(/[+/]/g, "\\$&")}`));
    assert.doesNotMatch(up.outputs.sectionConfig!.value as string, /preshared/);
  });

  it("a second up changes nothing and opens no SSH connection", async () => {
    const before = lab.totalSshConnections();
    const up = await stack.up(log.options);
    assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"]);
    assert.equal(lab.totalSshConnections(), before);
  });

  it("adding a peer updates exactly the affected config, without dropping the tunnel", async () => {
    nodes = rfcNodes();
    nodes.mage = internal("mage", "198.51.100.3/24", ["occultist"]);
    (nodes.occultist as wg.InternalNodeArgs).peers!.push({ type: "internal", node: "mage", nodeIface: "wg0", iface: "wg0" });
    const preview = await stack.preview({ ...log.options, diff: true });
    assert.equal(preview.changeSummary.update, 1, preview.stdout);
    assert.match(preview.stdout, /~ pulumi-nodejs:dynamic:Resource: \(update\)\s+\[id=occultist\/wg0\]/);
    assert.doesNotMatch(preview.stdout, /~ pulumi-nodejs:dynamic:Resource: \(update\)\s+\[id=elementalist\/wg0\]/);
    const pinger = lab.pingInBackground("elementalist", "198.51.100.2", 50, 0.1);
    const up = await stack.up(log.options);
    assert.equal(up.summary.resourceChanges?.update, 1);
    const output = await pinger;
    assert.match(output, /50 packets transmitted, 50 received, 0% packet loss/);
    assert.ok(lab.ping("mage", "198.51.100.2") >= 2, "the new peer reaches occultist");
  });

  it("refresh reports a deleted key as drift; the next up restores a working fabric", async () => {
    rmSync(path.join(lab.host("mage").dir, "wireguard/proxmox/wg0.key"));
    const refresh = await stack.refresh(log.options);
    assert.equal(refresh.summary.resourceChanges?.delete, 1, "the key resource is gone");
    const state = (await stack.exportStack()).deployment.resources as { id?: string; type: string; outputs?: Record<string, unknown> }[];
    const config = (id: string) => state.find((r) => r.type === "pulumi-nodejs:dynamic:Resource" && r.id === id && "drift" in (r.outputs ?? {}))!.outputs!;
    assert.deepEqual(config("mage/wg0").drift, ["the private key is missing on the node"]);
    assert.deepEqual(config("occultist/wg0").drift, []);
    const status = config("occultist/wg0").status as wg.InterfaceStatus;
    assert.equal(status.state, "up");
    assert.equal(status.peers.length, 3);
    assert.ok(status.peers.some((peer) => peer.latestHandshake > 0 && peer.rxBytes > 0), "refresh reports live tunnels");
    const up = await stack.up(log.options);
    assert.equal(up.summary.result, "succeeded");
    assert.equal((up.outputs.publicKeys!.value as Record<string, string>)["mage/wg0"], keyOnNode("mage"));
    assert.ok(lab.ping("mage", "198.51.100.2", 5) >= 3, "mage's tunnel works with its new key");
  });

  it("renaming a node is a replacement in preview; on the same host the new name takes the key over", async () => {
    const before = keyOnNode("mage");
    const { mage, ...rest } = nodes;
    nodes = { ...rest, mage2: mage! };
    const occultist = nodes.occultist as wg.InternalNodeArgs;
    nodes.occultist = { ...occultist, peers: occultist.peers!.map((peer) => (peer.node === "mage" ? { ...peer, node: "mage2" } : peer)) };
    const preview = await stack.preview(log.options);
    assert.match(preview.stdout, /\+ +pulumi-nodejs:dynamic:Resource +vpn-mage2-wg0-key +create/);
    assert.match(preview.stdout, /- +pulumi-nodejs:dynamic:Resource +vpn-mage-wg0-key +delete/);
    const up = await stack.up(log.options);
    assert.equal(up.summary.result, "succeeded");
    assert.equal(keyOnNode("mage"), before, "the key was adopted, and the old name's delete left it");
    assert.equal((up.outputs.publicKeys!.value as Record<string, string>)["mage2/wg0"], before);
    assert.ok(lab.ping("mage", "198.51.100.2", 3) >= 2, "the tunnel still works after the rename");
  });

  it("no private key in the exported state, the outputs or the engine's logs", async () => {
    privateKeys().forEach((key) => seenPrivateKeys.add(key));
    assert.ok(seenPrivateKeys.size >= 4, "keys of every node, before and after the regeneration");
    const exported = exportState(stack, workDir, true);
    assert.match(exported, /BEGIN OPENSSH PRIVATE KEY/, "the export really shows secrets");
    const outputs = JSON.stringify(await stack.outputs());
    assert.ok(log.debug.length > 10_000, "the verbose engine log was captured");
    assert.ok(log.output.length > 1_000, "the engine's output was captured");
    for (const key of seenPrivateKeys) {
      assert.equal(exported.includes(key), false, "a private key is in the state");
      assert.equal(outputs.includes(key), false, "a private key is in the outputs");
      assert.equal(log.output.includes(key), false, "a private key is in the engine's output");
      assert.equal(log.debug.includes(key), false, "a private key is in the engine's debug logs");
    }
    const plain = exportState(stack, workDir, false);
    assert.doesNotMatch(plain, /BEGIN OPENSSH PRIVATE KEY/, "the SSH key is stored as a secret");
    assert.equal(plain.includes(PSK), false, "the pre-shared key is stored as a secret");
    // Secrets we hand the engine (SSH key, pre-shared key) stay out of its output; its -v=9
    // debug logs dump RPC payloads with secrets, as Pulumi documents. Private keys are in neither.
    assert.equal(log.output.includes(PSK), false, "the pre-shared key is not in the engine's output");
    assert.doesNotMatch(log.output, /BEGIN OPENSSH PRIVATE KEY/, "the SSH key is not in the engine's output");
    const providers = [...exported.matchAll(/"__provider": "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    assert.ok(providers.length >= 4);
    for (const provider of providers) {
      assert.ok(provider.length < 4000, `a serialized provider of ${provider.length} characters`);
      assert.match(provider, /pulumi-wireguard-fabric\/dynamic\/(key|config)-impl/, "it loads the implementation by name");
    }
    const onDisk = stateFiles(workDir);
    assert.match(onDisk, /"ciphertext"/);
    assert.doesNotMatch(onDisk, /BEGIN OPENSSH PRIVATE KEY/, "the state files hold the SSH key encrypted only");
    assert.equal(onDisk.includes(PSK), false, "the state files hold the pre-shared key encrypted only");
  });

  it("destroy leaves no key, config or interface of the fabric on any node", async () => {
    const destroy = await stack.destroy(log.options);
    assert.equal(destroy.summary.result, "succeeded");
    for (const node of ["elementalist", "occultist", "mage"]) {
      const wireguard = path.join(lab.host(node).dir, "wireguard");
      assert.deepEqual(readdirSync(wireguard), [], `${node}: ${readdirSync(wireguard).join(", ")}`);
      assert.equal(existsSync(path.join(wireguard, "proxmox")), false);
      assert.throws(() => lab.exec(node, "ip", ["link", "show", "wg0"]), `${node} still has wg0`);
    }
  });
});
