import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import * as wg from "pulumi-wireguard-fabric";
import { Lab } from "../../lab/lab";
import { stackInterfaces } from "../../provider/cli/stack-state";
import { statusReport } from "../../provider/cli/status";
import { EngineLog, exportState, inlineStack, stateFiles } from "./harness";

/**
 * Pair keys on the lab through the engine: a triangle of three nodes whose peerings each get a
 * pre-shared key made on one node and written to the other. The keys themselves are never
 * printed here: both ends are compared by digest, and every place a key must not be (state,
 * the project folder, what the engine printed) is searched for the key bytes.
 */
describe("pair keys: a pre-shared key per peering made on the nodes, never in state", function () {
  this.timeout(600_000);
  const NODES = ["pka", "pkb", "pkc"] as const;
  const KEY_DIR = "/etc/wireguard/wg-fabric";
  let lab: Lab;
  let stack: Stack;
  let workDir: string;
  const log = new EngineLog();
  let options: { pairKeys?: boolean; pairKeyRotation?: string } = { pairKeys: true };
  let pkaKeyRotation: string | undefined;

  const program = async () => {
    const nodes = Object.fromEntries(
      NODES.map((name, i): [string, wg.InternalNodeSpec] => [
        name,
        {
          role: "internal",
          connection: { ...lab.host(name).connection, privateKey: pulumi.secret(lab.host(name).connection.privateKey) },
          endpoint: lab.host(name).ip,
          interfaces: { wg0: { listenPort: 51820, ip: `10.77.0.${i + 1}/24` } },
          ...(name === "pka" && pkaKeyRotation ? { keyRotation: { wg0: pkaKeyRotation } } : {}),
        },
      ]),
    );
    const fabric = new wg.Fabric("pk", { nodes, links: [["pka/wg0", "pkb/wg0"], ["pka/wg0", "pkc/wg0"], ["pkb/wg0", "pkc/wg0"]], defaults: options });
    return { publicKeys: fabric.publicKeys, configs: fabric.configs, drift: fabric.drift };
  };
  /** The files of pair keys in a node's key folder. */
  const pairFiles = (node: string): string[] => readdirSync(lab.nodePath(node, KEY_DIR)).filter((file) => file.endsWith(".psk")).sort();
  const digestOf = (node: string, file: string): string => createHash("sha256").update(lab.readNodeFile(node, `${KEY_DIR}/${file}`).trim()).digest("hex");
  /** sha256 of the pre-shared key the running interface holds for each peer, by peer public key (wg show's own output, hashed here). */
  const livePsks = (node: string): Map<string, string> =>
    new Map(
      lab
        .nodeExec(node, "wg", ["show", "wg0", "preshared-keys"])
        .trim()
        .split("\n")
        .map((line) => line.split("\t") as [string, string])
        .map(([peer, psk]) => [peer, psk === "(none)" ? "(none)" : createHash("sha256").update(psk).digest("hex")]),
    );
  /** Each pair's two ends as digests: [pair, digest at the first, digest at the second, live digests]. */
  const pairs = () =>
    [
      ["pka", "pkb"],
      ["pka", "pkc"],
      ["pkb", "pkc"],
    ].map(([a, b]) => {
      const [atA, atB] = [digestOf(a as string, `wg0@${b}@wg0.psk`), digestOf(b as string, `wg0@${a}@wg0.psk`)];
      const pubOf = (node: string) => lab.readNodeFile(node, `${KEY_DIR}/wg0.pub`).trim();
      return { pair: `${a}~${b}`, atA, atB, liveA: livePsks(a as string).get(pubOf(b as string)), liveB: livePsks(b as string).get(pubOf(a as string)) };
    });
  /** Every key byte the nodes hold, to search for where none may be. */
  const allKeys = (): string[] => NODES.flatMap((node) => pairFiles(node).map((file) => lab.readNodeFile(node, `${KEY_DIR}/${file}`).trim()));
  const assertNowhere = (keys: readonly string[], where: Record<string, string>) => {
    for (const [name, text] of Object.entries(where)) for (const key of keys) assert.ok(!text.includes(key), `a pair key is in ${name}`);
  };
  /** `wg-fabric status`'s rows from the stack's state, as [interface and peer, its pre-shared key, drift]. */
  const statusOf = (now: number) => statusReport(stackInterfaces(exportState(stack, workDir, false)), now).peerings.map((p) => [`${p.interface} ${p.peer}`, p.presharedKey, p.drift] as const);
  const projectFiles = (dir: string): string =>
    readdirSync(dir, { withFileTypes: true })
      .map((entry) => path.join(dir, entry.name))
      .map((file) => (statSync(file).isDirectory() ? projectFiles(file) : readFileSync(file, "latin1")))
      .join("\n");

  before(async () => {
    lab = await Lab.start([...NODES], { name: "wgpk", subnet: 21 });
    ({ stack, workDir } = await inlineStack("wgfabric-pairkeys", "dev", program));
  });
  after(async () => {
    if (stack) await stack.destroy().catch(() => undefined);
    lab?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("up makes one key per peering, the same at both ends and live, 0600; tunnels handshake with it", async () => {
    await stack.up(log.options);
    for (const { pair, atA, atB, liveA, liveB } of pairs()) {
      assert.equal(atA, atB, `${pair}: both ends hold one key`);
      assert.equal(liveA, atA, `${pair}: live at its first end`);
      assert.equal(liveB, atB, `${pair}: live at its second end`);
    }
    assert.equal(new Set(pairs().map((p) => p.atA)).size, 3, "each pair its own key");
    for (const node of NODES) for (const file of pairFiles(node)) assert.equal(statSync(lab.nodePath(node, `${KEY_DIR}/${file}`)).mode & 0o777, 0o600, `${node}:${file}`);
    assert.notEqual(await lab.pingUntilAnswer("pka", "10.77.0.2", 12), undefined, "pka -> pkb");
    assert.notEqual(await lab.pingUntilAnswer("pkb", "10.77.0.3", 12), undefined, "pkb -> pkc");
    assert.notEqual(await lab.pingUntilAnswer("pkc", "10.77.0.1", 12), undefined, "pkc -> pka");
    assert.deepEqual((await stack.up()).summary.resourceChanges, { same: 12 }, "converged: the stack, the fabric, 3 nodes, their keys and configs, the pair keys");
    const now = Math.floor(Date.now() / 1000);
    const keys = statusOf(now).map(([row, key]) => [row, key.kind, key.kind === "pair" && key.agree, key.kind === "pair" && key.age !== undefined && key.age < 600]);
    assert.deepEqual(keys, statusOf(now).map(([row]) => [row, "pair", true, true]), "wg-fabric status: every peering's key made on the nodes, both ends agree, minutes old");
    assert.equal(keys.length, 6);
  });

  it("no key byte in state (also with --show-secrets), in the project folder, in outputs or in what the engine printed", async () => {
    const keys = allKeys();
    assert.equal(keys.length, 6);
    const outputs = JSON.stringify(await stack.outputs());
    assertNowhere(keys, {
      "stack export": exportState(stack, workDir, false),
      "stack export --show-secrets": exportState(stack, workDir, true),
      "the state files": stateFiles(workDir),
      "the project folder": projectFiles(workDir),
      outputs,
      "the engine's output and debug log": log.output + log.debug,
    });
    assert.match(exportState(stack, workDir, true), /# PresharedKey made on the nodes: wg0@pk[abc]@wg0\.psk [0-9a-f]{16}/, "configs hold the marker");
  });

  it("refresh names a pair whose ends differ; the next up repairs it", async () => {
    const before = pairs().find((p) => p.pair === "pka~pkc")?.atA;
    lab.nodeExec("pkc", "sh", ["-c", `wg genpsk > ${KEY_DIR}/wg0@pka@wg0.psk`]);
    await stack.refresh();
    const resources = (await stack.exportStack()).deployment.resources as { type: string; outputs?: { drift?: string[] } }[];
    const drift = resources.find((resource) => resource.type.endsWith(":PairKeys"))?.outputs?.drift;
    assert.deepEqual(drift, ["pair pka/wg0~pkc/wg0: the two ends hold different keys"]);
    const differ = statusOf(Math.floor(Date.now() / 1000)).filter(([, key]) => key.kind === "pair" && !key.agree);
    // pkc's own refresh sees its running key differ from its new file too, on its row
    assert.deepEqual(differ.map(([row, , lines]) => [row, lines.filter((line) => line.startsWith("pair "))]), [
      ["pka/wg0 pkc/wg0", drift],
      ["pkc/wg0 pka/wg0", drift],
    ], "wg-fabric status names the pair at both its ends");
    await stack.up();
    const after = pairs().find((p) => p.pair === "pka~pkc");
    assert.ok(after && after.atA === after.atB && after.liveA === after.atA && after.liveB === after.atB, "repaired on both ends and live");
    assert.notEqual(after?.atA, before, "a new key");
    assert.notEqual(await lab.pingUntilAnswer("pkc", "10.77.0.1", 12), undefined, "pkc -> pka");
  });

  it("a rotation makes new keys on both ends of every pair, and not one ping is lost across it", async () => {
    const before = pairs().map((p) => p.atA);
    options = { pairKeys: true, pairKeyRotation: "2027-01" };
    const pinging = lab.pingInBackground("pka", "10.77.0.2", 100, 0.05, true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stack.up();
    const summary = await pinging;
    const line = /\d+ packets transmitted.*/.exec(summary)?.[0];
    console.log(`      pings pka -> pkb across the rotation: ${line}`);
    assert.match(line ?? "", /(\d+) packets transmitted, \1 received/, `no ping lost: ${summary.split("\n").filter((l) => l.includes("no answer")).join("; ")}`);
    for (const [i, { pair, atA, atB, liveA, liveB }] of pairs().entries()) {
      assert.notEqual(atA, before[i], `${pair}: rotated`);
      assert.ok(atA === atB && liveA === atA && liveB === atB, `${pair}: one new key, live at both ends`);
    }
  });

  it("an interface key rotated (its pair key files go with the old key): its pairs get new keys, at both ends and live", async () => {
    const before = pairs().map((p) => p.atA);
    pkaKeyRotation = "r1";
    await stack.up();
    for (const [i, { pair, atA, atB, liveA, liveB }] of pairs().entries()) {
      assert.ok(atA === atB && liveA === atA && liveB === atB, `${pair}: one key, live at both ends`);
      assert.equal(atA !== before[i], pair.includes("pka"), `${pair}: new only where pka is an end`);
    }
    assert.notEqual(await lab.pingUntilAnswer("pkb", "10.77.0.1", 12), undefined, "pkb -> pka");
  });

  it("turned off: the key files go from both ends and the peers run without a pre-shared key", async () => {
    options = {};
    await stack.up();
    for (const node of NODES) {
      assert.deepEqual(pairFiles(node), [], `${node}: no pair key file`);
      assert.deepEqual([...livePsks(node).values()], ["(none)", "(none)"], `${node}: no pre-shared key live`);
    }
    assert.notEqual(await lab.pingUntilAnswer("pka", "10.77.0.2", 12), undefined, "pka -> pkb");
  });
});

describe("pair keys in the stanza modes: boot equals live (ifupdown2 on a Linux node, proxmox on a Proxmox VE node)", function () {
  this.timeout(600_000);
  const KEY_DIR = "/etc/wireguard/wg-fabric";
  let lab: Lab;
  let stack: Stack;
  let workDir: string;
  const modes = { pkd: "ifupdown2", pke: "proxmox" } as const;

  const program = async () => {
    const nodes = Object.fromEntries(
      (["pkd", "pke"] as const).map((name, i): [string, wg.InternalNodeSpec] => [
        name,
        {
          role: "internal",
          connection: { ...lab.host(name).connection, privateKey: pulumi.secret(lab.host(name).connection.privateKey) },
          endpoint: lab.host(name).ip,
          applyMode: modes[name],
          interfaces: { wg0: { listenPort: 51820, ip: `10.78.0.${i + 1}/24` } },
        },
      ]),
    );
    new wg.Fabric("pks", { nodes, links: [["pkd/wg0", "pke/wg0"]], defaults: { pairKeys: true } });
    return {};
  };
  const livePsk = (node: string): string => createHash("sha256").update(lab.nodeExec(node, "wg", ["show", "wg0", "preshared-keys"]).trim().split("\t")[1] ?? "").digest("hex");
  const fileDigest = (node: string, peer: string): string => createHash("sha256").update(lab.readNodeFile(node, `${KEY_DIR}/wg0@${peer}@wg0.psk`).trim()).digest("hex");

  before(async () => {
    lab = await Lab.start(["pkd", "pke"], { name: "wgps", subnet: 22, proxmox: ["pke"] });
    ({ stack, workDir } = await inlineStack("wgfabric-pairkeys-stanza", "dev", program));
  });
  after(async () => {
    if (stack) await stack.destroy().catch(() => undefined);
    lab?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("up: the pair's key live at both ends; after both nodes reboot, the boot's interfaces hold it and nothing differs", async () => {
    await stack.up();
    assert.equal(fileDigest("pkd", "pke"), fileDigest("pke", "pkd"));
    for (const [node, peer] of [["pkd", "pke"], ["pke", "pkd"]] as const) assert.equal(livePsk(node), fileDigest(node, peer), `${node} (${modes[node]}): live`);
    assert.notEqual(await lab.pingUntilAnswer("pkd", "10.78.0.2", 12), undefined, "pkd -> pke");
    await lab.reboot("pkd");
    await lab.reboot("pke");
    for (const [node, peer] of [["pkd", "pke"], ["pke", "pkd"]] as const) assert.equal(livePsk(node), fileDigest(node, peer), `${node} (${modes[node]}): the boot's interface holds it`);
    if ((await lab.pingUntilAnswer("pkd", "10.78.0.2", 12)) === undefined) assert.fail(`no tunnel after the reboots:\n${lab.tunnelState("pkd", "wg0")}\n${lab.tunnelState("pke", "wg0")}`);
    assert.deepEqual((await stack.up({ refresh: true })).summary.resourceChanges, { same: 9 }, "the boot made what is declared");
  });
});
