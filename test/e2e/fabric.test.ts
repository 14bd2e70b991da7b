import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import * as wg from "pulumi-wireguard-fabric";
import { Lab } from "../../lab/lab";
import { KEYS } from "../unit/helpers";
import { EngineLog, exportState, inlineStack, stateFiles } from "./harness";

type Nodes = Record<string, wg.NodeSpec>;

describe("Fabric on the real engine (preview, up, refresh, destroy)", function () {
  this.timeout(300_000);
  let lab: Lab;
  let stack: Stack;
  let workDir: string;
  let nodes: Nodes;
  const log = new EngineLog();

  const connection = (name: string) => ({ ...lab.host(name).connection, privateKey: pulumi.secret(lab.host(name).connection.privateKey) });
  const internal = (name: string, ip: string, peers: string[], extra: object = {}): wg.InternalNodeSpec => ({
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
  /** Pass the nodes as an Output, as a program does when part of them comes from another stack. */
  let nodesAsOutput = false;
  /** Pass the nodes as an Output whose value is not known (it would come from a resource this update makes). */
  let nodesUnknown = false;
  const program = async () => {
    const given = nodesUnknown ? (pulumi.output(pulumi.unknown) as pulumi.Output<Nodes>) : nodesAsOutput ? pulumi.output(nodes).apply((known) => known as Nodes) : nodes;
    const fabric = new wg.Fabric("vpn", { nodes: given });
    return { publicKeys: fabric.publicKeys, configs: fabric.configs, sectionConfig: fabric.sectionConfig, status: fabric.status, drift: fabric.drift, exportedPeers: fabric.exportedPeers };
  };
  const keyOnNode = (node: string) => execFileSync("wg", ["pubkey"], { input: lab.readNodeFile(node, "/etc/wireguard/wg-fabric/wg0.key"), encoding: "utf8" }).trim();
  const privateKeys = () => ["elementalist", "occultist", "mage"].flatMap((node) => {
    try {
      return [lab.readNodeFile(node, "/etc/wireguard/wg-fabric/wg0.key").trim()];
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

  it("rejects bad input at preview: each problem once, as a Pulumi error on the fabric, no stack trace, no SSH connection", async () => {
    const before = lab.totalSshConnections();
    nodes = rfcNodes();
    nodes.occultist = { ...(nodes.occultist as wg.InternalNodeSpec), peers: [{ type: "external", node: "elementalist-typo", iface: "wg0" }, { type: "external", node: "berserkr", iface: "wg0" }] };
    const output = new EngineLog();
    await assert.rejects(stack.preview({ onOutput: output.options.onOutput }), /elementalist-typo/);
    const problems = ['occultist: peers[0]: node: node "elementalist-typo" is not defined in fabric "vpn"', 'occultist: peers[1]: node: node "berserkr" is not defined in fabric "vpn"'];
    const diagnostics = output.output.slice(output.output.indexOf("Diagnostics:"));
    for (const problem of problems) assert.equal(diagnostics.split(problem).length - 1, 1, `${problem} once in:\n${output.output}`);
    assert.match(diagnostics, /wireguard-fabric:index:Fabric \(vpn\):\n(\s+(warning|error): .*\n)*\s+error: fabric vpn: occultist: peers\[0\]/, output.output);
    assert.doesNotMatch(output.output, /Unhandled exception|FabricError|ResourceError|\n\s+at [\w.<>]+ \(/, output.output);
    // the same when the nodes are an Output, and the fabric is built inside an apply
    nodesAsOutput = true;
    const fromOutput = new EngineLog();
    await assert.rejects(stack.preview({ onOutput: fromOutput.options.onOutput }), /elementalist-typo/);
    nodesAsOutput = false;
    const later = fromOutput.output.slice(fromOutput.output.indexOf("Diagnostics:"));
    for (const problem of problems) assert.equal(later.split(problem).length - 1, 1, `${problem} once in:\n${fromOutput.output}`);
    assert.doesNotMatch(fromOutput.output, /Unhandled exception|FabricError|\n\s+at [\w.<>]+ \(/, fromOutput.output);
    nodes = rfcNodes();
    // the very same prefix on two peers (nested ones are fine: the longest match wins)
    (nodes.berserker as wg.ExternalNodeSpec).allowedIps!.push("198.51.100.1/32");
    await assert.rejects(stack.preview(log.options), /occultist: wg0: peers\[1\]: allowedIps: 198\.51\.100\.1\/32 of berserker is also an AllowedIP of peers\[0\] \(elementalist\/wg0\)/);
    assert.equal(lab.totalSshConnections(), before);
  });

  it("previews a new fabric: every planned resource, no SSH connection", async () => {
    nodes = rfcNodes();
    const before = lab.totalSshConnections();
    const preview = await stack.preview(log.options);
    // stack, fabric, 2 node components, 2 keys, 2 configs: linear in nodes and interfaces
    assert.equal(preview.changeSummary.create, 8);
    assert.match(preview.stdout, /pulumi-nodejs:dynamic\/wireguard-fabric:InterfaceKey +vpn\/occultist\/wg0 +create/);
    assert.match(preview.stdout, /pulumi-nodejs:dynamic\/wireguard-fabric:InterfaceConfig +vpn\/occultist\/wg0 +create/);
    assert.match(preview.stdout, /wireguard-fabric:index:InternalNode +vpn\/occultist +create/);
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

  it("nodes not known yet: preview warns that it cannot show the fabric, up stops and deletes nothing", async () => {
    const keysBefore = ["elementalist", "occultist"].map(keyOnNode);
    nodesUnknown = true;
    try {
      const preview = new EngineLog();
      await stack.preview({ onOutput: preview.options.onOutput });
      assert.match(preview.output, /warning: fabric vpn: its nodes are not known until up/);
      await assert.rejects(stack.up({ onOutput: new EngineLog().options.onOutput }), /fabric vpn: nodes: are not known yet/);
    } finally {
      nodesUnknown = false;
    }
    assert.deepEqual(["elementalist", "occultist"].map(keyOnNode), keysBefore);
    const after = await stack.preview(log.options);
    assert.deepEqual(Object.keys(after.changeSummary), ["same"], "every resource is still in the state, as declared");
  });

  /** The changed lines (`~`, `+`, `-`) of the resources in a `preview --diff`, markers and values as shown, spaces collapsed. */
  const changedLines = (stdout: string) =>
    stdout
      .split("--outputs:--")[0]!
      .split("\n")
      .map((line) => line.trim().replace(/\s+/g, " ").replace(/ :/g, ":"))
      .filter((line) => /^[~+-] /.test(line) && !/^[~+-] (pulumi:pulumi:Stack|\d+ to )/.test(line));

  it("preview --diff shows one peer's endpoint and keepalive change, old and new, though another peer has a pre-shared key", async () => {
    nodes = rfcNodes();
    nodes.berserker = { ...(nodes.berserker as wg.ExternalNodeSpec), endpoint: "198.18.1.98:51337", persistentKeepalive: 25 };
    const preview = await stack.preview({ ...log.options, diff: true });
    assert.deepEqual(preview.changeSummary, { same: 7, update: 1 }, preview.stdout);
    const lines = changedLines(preview.stdout);
    assert.deepEqual(
      lines,
      ["~ pulumi-nodejs:dynamic/wireguard-fabric:InterfaceConfig: (update)", "~ peers: {", "~ berserker: {", '~ endpoint: "198.18.1.99:51337" => "198.18.1.98:51337"', "+ persistentKeepalive: 25"],
      preview.stdout,
    );
    assert.match(preview.stdout, /\[id=occultist\/wg0\]/);
    assert.match(preview.stdout, /presharedKey\s+: \[secret\]/, "the other peer's pre-shared key is there, masked, unchanged");
  });

  it("preview --diff shows a pre-shared key change as one secret field per side", async () => {
    nodes = rfcNodes();
    const changed = "cG9zdC1xdWFudHVtLXJvdGF0aW9uLTIwMjYtMTEtMjU=";
    for (const [node, peer] of [["elementalist", 0], ["occultist", 0]] as const) {
      const spec = nodes[node] as wg.InternalNodeSpec;
      nodes[node] = { ...spec, peers: spec.peers!.map((entry, i) => (i === peer ? { ...entry, presharedKey: pulumi.secret(changed) } : entry)) };
    }
    const preview = await stack.preview({ ...log.options, diff: true });
    assert.deepEqual(preview.changeSummary, { same: 6, update: 2 }, preview.stdout);
    // the engine masks every secret as the same "[secret]", so the key's fingerprint shows the change
    const fingerprint = (key: string) => createHash("sha256").update(key).digest("hex").slice(0, 16);
    const fields = changedLines(preview.stdout).filter((line) => !/^~ (pulumi-nodejs|peers)/.test(line) && !/^~ [\w/]+: \{$/.test(line));
    const shown = `~ presharedKeyFingerprint: "${fingerprint(PSK)}" => "${fingerprint(changed)}"`;
    assert.deepEqual(fields, [shown, shown], preview.stdout);
    assert.match(preview.stdout, /presharedKey\s+: \[secret\]/);
    assert.equal(preview.stdout.includes(changed) || preview.stdout.includes(PSK), false, "no pre-shared key is shown");
  });

  it("adding a peer updates exactly the affected config, without dropping the tunnel", async () => {
    nodes = rfcNodes();
    nodes.mage = internal("mage", "198.51.100.3/24", ["occultist"]);
    (nodes.occultist as wg.InternalNodeSpec).peers!.push({ type: "internal", node: "mage", nodeIface: "wg0", iface: "wg0" });
    const preview = await stack.preview({ ...log.options, diff: true });
    assert.equal(preview.changeSummary.update, 1, preview.stdout);
    assert.match(preview.stdout, /~ pulumi-nodejs:dynamic\/wireguard-fabric:InterfaceConfig: \(update\)\s+\[id=occultist\/wg0\]/);
    assert.match(preview.stdout, /\+ mage\/wg0\s*: \{/, "the new peer, by name");
    assert.doesNotMatch(preview.stdout, /\[id=elementalist\/wg0\]/);
    const pinger = lab.pingInBackground("elementalist", "198.51.100.2", 50, 0.1);
    const up = await stack.up(log.options);
    assert.equal(up.summary.resourceChanges?.update, 1);
    const output = await pinger;
    assert.match(output, /50 packets transmitted, 50 received, 0% packet loss/);
    assert.ok(lab.ping("mage", "198.51.100.2") >= 2, "the new peer reaches occultist");
  });

  it("refresh reports a deleted key as drift; the next up restores a working fabric", async () => {
    rmSync(path.join(lab.host("mage").dir, "wireguard/wg-fabric/wg0.key"));
    const refresh = await stack.refresh(log.options);
    assert.equal(refresh.summary.resourceChanges?.delete, 1, "the key resource is gone");
    const state = (await stack.exportStack()).deployment.resources as { id?: string; type: string; outputs?: Record<string, unknown> }[];
    const config = (id: string) => state.find((r) => r.type === "pulumi-nodejs:dynamic/wireguard-fabric:InterfaceConfig" && r.id === id)!.outputs!;
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
    const occultist = nodes.occultist as wg.InternalNodeSpec;
    nodes.occultist = { ...occultist, peers: occultist.peers!.map((peer) => (peer.node === "mage" ? { ...peer, node: "mage2" } : peer)) };
    const preview = await stack.preview(log.options);
    assert.match(preview.stdout, /\+ +.*pulumi-nodejs:dynamic\/wireguard-fabric:InterfaceKey +vpn\/mage2\/wg0 +create/);
    assert.match(preview.stdout, /- +.*pulumi-nodejs:dynamic\/wireguard-fabric:InterfaceKey +vpn\/mage\/wg0 +delete/);
    const up = await stack.up(log.options);
    assert.equal(up.summary.result, "succeeded");
    assert.equal(keyOnNode("mage"), before, "the key was adopted, and the old name's delete left it");
    assert.equal((up.outputs.publicKeys!.value as Record<string, string>)["mage2/wg0"], before);
    assert.ok(lab.ping("mage", "198.51.100.2", 3) >= 2, "the tunnel still works after the rename");
  });

  it("interfaces wg0 and wg0-key on one node are distinct resources, each with its own key", async () => {
    const mage2 = nodes.mage2 as wg.InternalNodeSpec;
    nodes = { ...nodes, mage2: { ...mage2, interfaces: { ...mage2.interfaces, "wg0-key": { listenPort: 50001, ip: "198.51.101.3/24" } } } };
    const up = await stack.up(log.options);
    assert.equal(up.summary.result, "succeeded");
    assert.equal(up.summary.resourceChanges?.create, 2, "a key and a config for wg0-key");
    const keys = up.outputs.publicKeys!.value as Record<string, string>;
    const onNode = execFileSync("wg", ["pubkey"], { input: lab.readNodeFile("mage", "/etc/wireguard/wg-fabric/wg0-key.key"), encoding: "utf8" }).trim();
    assert.equal(keys["mage2/wg0-key"], onNode);
    assert.notEqual(keys["mage2/wg0-key"], keys["mage2/wg0"]);
    assert.equal(keys["mage2/wg0"], keyOnNode("mage"));
    lab.exec("mage", "ip", ["link", "show", "wg0-key"]);
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
