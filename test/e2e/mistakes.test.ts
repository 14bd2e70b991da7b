import * as assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Lab } from "../../lab/lab";
import { ProjectFolder } from "../../lab/project-folder";
import { KEYS, prng, seedFrom } from "../unit/helpers";
import { engineEnv } from "./harness";

const REPOSITORY = path.resolve(__dirname, "../../..");
const PROJECT = path.join(REPOSITORY, "test/fixtures/guarded-project");
const STACK = "dev";
const NODES = ["pve1", "pve2"] as const;

/** The stack's config as test/fixtures/guarded-project reads it (the SSH key apart, a secret). */
interface StackConfig {
  fabric: { nodes: Record<string, Record<string, unknown>>; links?: string[][]; defaults?: Record<string, unknown> };
  via?: "output";
  connectionVia?: "output";
  fabricsCfg?: string;
  importFrom?: { stack: string; output: string };
}

/** One kind of mistake an operator makes: `make` puts it into a copy of the good config; the error must name `where`. */
interface Mistake {
  readonly kind: string;
  readonly where: RegExp;
  /** Also drawn with the nodes handed over as an Output (as a StackReference gives them). */
  readonly viaOutput?: boolean;
  make(config: StackConfig, node: string, other: string): void;
}

type Node = Record<string, unknown> & { interfaces: Record<string, Record<string, unknown>>; peers?: Record<string, unknown>[] };
const nodeOf = (config: StackConfig, name: string) => config.fabric.nodes[name] as Node;
const peer = (fields: Record<string, unknown>) => ({ type: "internal", nodeIface: "wg0", iface: "wg0", ...fields });

/**
 * Every kind of problem the package reports for a declaration, written here from the operator's
 * side (not taken from the validator's code): `node` is the internal node the mistake is made on,
 * `other` the other one.
 */
const MISTAKES: readonly Mistake[] = [
  { kind: "a node name Proxmox VE refuses (pve_3)", where: /pve_3/, viaOutput: true, make: (c) => void (c.fabric.nodes.pve_3 = { ...nodeOf(c, "pve2"), peers: [] }) },
  { kind: "a peer to a node the fabric lacks", where: /: peers\[\d\]: node: node "pve9"/, viaOutput: true, make: (c, n) => void (nodeOf(c, n).peers = [...(nodeOf(c, n).peers ?? []), peer({ node: "pve9" })]) },
  { kind: "a peer to an interface its node lacks", where: /: peers\[\d\]: nodeIface/, viaOutput: true, make: (c, n, o) => void (nodeOf(c, n).peers = [peer({ node: o, nodeIface: "wg7" })]) },
  { kind: "a peer on an interface this node lacks", where: /: peers\[\d\]: iface/, make: (c, n, o) => void (nodeOf(c, n).peers = [peer({ node: o, iface: "wg7" })]) },
  { kind: "a node peered with itself", where: /cannot be its own peer/, viaOutput: true, make: (c, n) => void (nodeOf(c, n).peers = [peer({ node: n })]) },
  { kind: "one listen port on two interfaces of a node", where: /: wg1: listenPort|: wg0: listenPort/, make: (c, n) => void (nodeOf(c, n).interfaces.wg1 = { listenPort: 51820, ip: "10.79.0.1/24" }) },
  { kind: "one address on two interfaces", where: /: wg0: ip: address 10\.78\.0\.\d is already used/, viaOutput: true, make: (c, n, o) => void (nodeOf(c, n).interfaces.wg0!.ip = nodeOf(c, o).interfaces.wg0!.ip) },
  { kind: "one prefix on two peers of an interface", where: /pve1: wg0: peers\[\d\]: allowedIps/, make: (c) => void (c.fabric.nodes.remote!.allowedIps = ["203.0.113.0/25", "10.78.0.2/32"]) },
  { kind: "an endpoint that does not parse", where: /: endpoint/, viaOutput: true, make: (c, n) => void (nodeOf(c, n).endpoint = "198.18.20.1:99999") },
  { kind: "a prefix that does not parse", where: /remote: allowedIps/, make: (c) => void (c.fabric.nodes.remote!.allowedIps = ["203.0.113.0/33"]) },
  { kind: "a public key that is none", where: /remote: publicKey/, viaOutput: true, make: (c) => void (c.fabric.nodes.remote!.publicKey = "not-a-key=") },
  { kind: "an interface name Linux refuses", where: /wg-name-too-long/, make: (c, n) => void (nodeOf(c, n).interfaces["wg-name-too-long"] = { listenPort: 51900, ip: "10.79.0.1/24" }) },
  { kind: "a misspelt field", where: /unknown field "listenport"/, viaOutput: true, make: (c, n) => void (nodeOf(c, n).interfaces.wg0!.listenport = 51821) },
  { kind: "a value of the wrong type", where: /: persistentKeepalive/, make: (c, n) => void (nodeOf(c, n).persistentKeepalive = "25s") },
  { kind: "a keepalive out of range", where: /: persistentKeepalive/, make: (c, n) => void (nodeOf(c, n).persistentKeepalive = 70000) },
  { kind: "an external endpoint without a port", where: /remote: endpoint/, make: (c) => void (c.fabric.nodes.remote!.endpoint = "198.18.20.99") },
  { kind: "a node address without the fabric's range", where: /: ip: 10\.80\.0\.1 needs the fabric's ip_prefix/, make: (c, n) => void (nodeOf(c, n).ip = "10.80.0.1") },
  { kind: "a default route to a peer without fullTunnel", where: /0\.0\.0\.0\/0/, make: (c, n) => void (nodeOf(c, n).allowedIps = ["0.0.0.0/0"]) },
  { kind: "an apply mode that does not exist", where: /applyMode/, make: (c) => void (c.fabric.defaults = { applyMode: "wgquick" }) },
  { kind: "a link to an end the fabric lacks", where: /links\[1\]/, viaOutput: true, make: (c, n) => void c.fabric.links!.push([`${n}/wg0`, "pve9/wg0"]) },
  { kind: "an internal node without a host to reach", where: /: connection: host: is required/, make: (c, n) => void delete (nodeOf(c, n).connection as Record<string, unknown>).host },
  { kind: "an SSH port that is no number", where: /: connection: port: must be a port number/, make: (c, n) => void ((nodeOf(c, n).connection as Record<string, unknown>).port = "ssh") },
  {
    kind: "an SSH port out of range in a default connection given as an Output",
    where: /: connection: port: port 70000 is outside 1-65535/,
    make: (c) => void ((c.connectionVia = "output"), (c.fabric.defaults = { connection: { port: 70000 } })),
  },
  { kind: "a fabric without internal nodes (a config key the program no longer finds)", where: /nodes: has no internal node/, viaOutput: true, make: (c) => void ((c.fabric.nodes = { remote: c.fabric.nodes.remote! }), (c.fabric.links = [])) },
  {
    kind: "a fabrics.cfg that does not parse",
    where: /fabrics\.cfg:4/,
    make: (c) => void (c.fabricsCfg = "wireguard_fabric: guarded\n\nwireguard_node: guarded_pve1\n\tlisten_port\n\trole internal\n"),
  },
  {
    kind: "a fabrics.cfg whose fabric does not hold together",
    where: /pve1: peers\[0\]: node: node "pve9"/,
    make: (c, n) =>
      void (c.fabricsCfg =
        `wireguard_fabric: guarded\n\nwireguard_node: guarded_pve1\n\tendpoint ${String(nodeOf(c, n).endpoint)}\n` +
        "\tinterfaces name=wg0,listen_port=51820,ip=10.78.0.1/24\n\tpeers type=internal,node=pve9,node_iface=wg0,iface=wg0\n\trole internal\n"),
  },
  {
    kind: "a StackReference output the other stack does not export",
    where: /externalNodesFrom was given nothing/,
    make: (c) => void (c.importFrom = { stack: `organization/wg-fabric-guarded/${STACK}`, output: "exportedPeersTypo" }),
  },
];

/**
 * The issue that made a typo delete a whole fabric, explored: on a stack that is up in the lab,
 * one mistake at a time in the program's declaration or the stack's config, each kind of the list
 * above in a seeded order, on a seeded node, with the nodes as plain data or as an Output. Run as
 * users run it, with the `pulumi` CLI in a project folder (the Automation API fails a program
 * that only logged an error; the CLI does not). For each: `preview` and `up` exit non-zero, name
 * the place, print no stack trace; the state holds the same resources; every node keeps its key
 * and its running interface; and with the mistake undone, `preview --expect-no-changes` passes.
 */
describe("a mistake in the program or the stack's config stops the run and deletes nothing (pulumi CLI)", function () {
  this.timeout(30 * 60_000);
  const seed = seedFrom("WGF_MISTAKE_SEED");
  let lab: Lab;
  let folder: ProjectFolder;
  let stackFile: string;
  let secretLines: string;
  const state = path.join(REPOSITORY, ".lab/pulumi/mistakes");

  const goodConfig = (): StackConfig => ({
    fabric: {
      nodes: {
        ...Object.fromEntries(
          NODES.map((name, i) => [
            name,
            {
              role: "internal",
              connection: { host: lab.host(name).ip, hostKey: lab.host(name).connection.hostKey },
              endpoint: lab.host(name).ip,
              interfaces: { wg0: { listenPort: 51820, ip: `10.78.0.${i + 1}/24` } },
              ...(name === "pve1" ? { peers: [{ type: "external", node: "remote", iface: "wg0" }] } : {}),
            },
          ]),
        ),
        remote: { role: "external", endpoint: "198.18.20.99:51820", allowedIps: ["203.0.113.0/25"], publicKey: KEYS.berserker },
      },
      links: [["pve1/wg0", "pve2/wg0"]],
    },
  });

  /** Writes Pulumi.dev.yaml as an operator edits it: the secret as `pulumi config set --secret` left it, the rest from `config`. */
  const writeConfig = (config: StackConfig): void => {
    const lines = Object.entries(config).map(([key, value]) => `  wg-fabric-guarded:${key}: ${JSON.stringify(value)}`);
    writeFileSync(stackFile, `${secretLines}${lines.join("\n")}\n`);
  };

  /** Each node's WireGuard as it runs, and a hash of its private key (never the key itself). */
  const nodesNow = (): string =>
    NODES.map((name) =>
      lab.nodeExec(name, "sh", ["-c", "(wg show wg0 public-key; wg show wg0 listen-port; wg show wg0 peers | sort; ip -br address show wg0; sha256sum < /etc/wireguard/wg-fabric/wg0.key) 2>&1; true"]),
    ).join("\n");

  /**
   * The fabric's resources in the stack's state, secrets shown (compared, never printed), without
   * their timestamps (the engine's default provider records the stack's config, mistake included).
   */
  const resources = (): Map<string, string> => {
    const exported = JSON.parse(folder.pulumi(["stack", "export", "--show-secrets", "--stack", STACK])) as { deployment: { resources: Record<string, unknown>[] } };
    const ours = exported.deployment.resources.filter((resource) => /^(pulumi-nodejs:dynamic\/)?wireguard-fabric:/.test(String(resource.type)));
    return new Map(ours.map(({ created: _c, modified: _m, ...resource }) => [String(resource.urn), JSON.stringify(resource)]));
  };

  before(async () => {
    lab = await Lab.start([...NODES], { name: "wgfy", subnet: 20 });
    rmSync(state, { recursive: true, force: true });
    folder = new ProjectFolder(PROJECT, engineEnv(state));
    folder.removeOnCleanup(state);
    folder.initStack(STACK);
    folder.setConfig(STACK, {}, { sshPrivateKey: lab.host("pve1").connection.privateKey });
    stackFile = path.join(PROJECT, `Pulumi.${STACK}.yaml`);
    secretLines = readFileSync(stackFile, "utf8");
  });
  after(() => {
    folder?.run(["destroy", "--yes", "--skip-preview", "--stack", STACK]);
    folder?.cleanup();
    lab?.stop();
  });

  it(`${MISTAKES.length} kinds of mistake, one at a time, on a stack that is up (seed ${seed}; replay with WGF_MISTAKE_SEED=${seed})`, () => {
    const random = prng(seed);
    writeConfig(goodConfig());
    folder.pulumi(["up", "--yes", "--skip-preview", "--stack", STACK]);
    const runningBefore = nodesNow();
    const stateBefore = resources();
    assert.equal(stateBefore.size, 7, "the fabric is up: the Fabric, 2 nodes, 2 keys, 2 configs");

    // WGF_MISTAKE_ONLY=text keeps the kinds whose name has it (to look at one closely)
    const only = process.env.WGF_MISTAKE_ONLY;
    const order = MISTAKES.map((mistake) => ({ mistake, at: random() }))
      .sort((a, b) => a.at - b.at)
      .filter(({ mistake }) => !only || mistake.kind.includes(only));
    const failures: string[] = [];
    const drawn: string[] = [];
    for (const { mistake } of order) {
      const config = goodConfig();
      const node = NODES[Math.floor(random() * NODES.length)] as string;
      const other = NODES.find((name) => name !== node) as string;
      mistake.make(config, node, other);
      if (mistake.viaOutput && random() < 0.5) config.via = "output";
      const label = `${mistake.kind} (on ${node}${config.via ? ", nodes as an Output" : ""})`;
      drawn.push(label);
      writeConfig(config);
      for (const command of [["preview"], ["up", "--yes", "--skip-preview"]]) {
        const run = folder.run([...command, "--stack", STACK]);
        const output = `${run.stdout}\n${run.stderr}`;
        if (run.status === 0) failures.push(`${label}: pulumi ${command[0]} exited 0:\n${output}`);
        if (!mistake.where.test(output)) failures.push(`${label}: pulumi ${command[0]} does not name ${mistake.where}:\n${output}`);
        if (/\n\s+at .*:\d+:\d+\)?\n|Unhandled exception|unhandled exception/.test(output)) failures.push(`${label}: pulumi ${command[0]} printed a stack trace:\n${output}`);
        if (/^\s+-\s+\S+:\S+ .*delet/m.test(run.stdout)) failures.push(`${label}: pulumi ${command[0]} deleted:\n${output}`);
      }
      const stateAfter = resources();
      for (const [urn, resource] of stateBefore) {
        // a component's outputs come from the run's last call of registerOutputs, which a stopped run never makes
        const same = stateAfter.get(urn) === resource || (JSON.parse(resource).custom === false && stateAfter.has(urn));
        if (!same) failures.push(`${label}: the state's ${urn} ${stateAfter.has(urn) ? "changed" : "is gone"}`);
      }
      for (const urn of stateAfter.keys()) if (!stateBefore.has(urn)) failures.push(`${label}: the state gained ${urn}`);
      if (nodesNow() !== runningBefore) failures.push(`${label}: a node's key or running interface changed`);
      writeConfig(goodConfig());
      const undone = folder.run(["preview", "--expect-no-changes", "--stack", STACK]);
      if (undone.status !== 0) failures.push(`${label}: with the mistake undone, preview --expect-no-changes fails:\n${undone.stdout}\n${undone.stderr}`);
    }
    console.log(`      seed ${seed}, mistakes in the order drawn:\n${drawn.map((label) => `        ${label}`).join("\n")}`);
    assert.deepEqual(failures, [], `replay with WGF_MISTAKE_SEED=${seed}`);
  });
});
