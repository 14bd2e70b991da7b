/**
 * What the Pulumi engine alone costs for this package's resource tree, with no node touched:
 *   npm run build && node dist/bench/engine-floor.js [N …]      (engine on PATH; default 25 50 100)
 * A stand-in of a full mesh's tree (Fabric → N InternalNode → InterfaceKey + InterfaceConfig,
 * the same types and names, each config's peers shaped as ours with the other nodes' public
 * keys as inputs) whose dynamic provider does nothing. Prints `pulumi up` from nothing and a
 * no-op up, with the file backend's checkpoints and without (PULUMI_SKIP_CHECKPOINTS), then the
 * same tree with tiny config inputs (no peers), and the state file's size: the floor under
 * `bench/converge`'s figures, whatever the provider does.
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { LocalWorkspace } from "@pulumi/pulumi/automation";
import { inlineStack } from "../lab/inline-stack";

/** Accepts everything, changes nothing, answers at once. */
const standIn: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return { inputs: news };
  },
  async diff(_id, olds, news) {
    return { changes: JSON.stringify({ ...olds, publicKey: undefined }) !== JSON.stringify({ ...news, publicKey: undefined }) };
  },
  async create(inputs) {
    return { id: `${inputs.node}/${inputs.iface}`, outs: { ...inputs, publicKey: `${String(inputs.node).padEnd(43, "A").slice(0, 43)}=` } };
  },
  async update(_id, olds, news) {
    return { outs: { ...news, publicKey: olds.publicKey } };
  },
};

class InterfaceKey extends pulumi.dynamic.Resource {
  declare readonly publicKey: pulumi.Output<string>;
  constructor(name: string, args: Record<string, pulumi.Input<unknown>>, opts: pulumi.CustomResourceOptions) {
    super(standIn, name, { ...args, publicKey: undefined }, opts, "wireguard-fabric", "InterfaceKey");
  }
}

class InterfaceConfig extends pulumi.dynamic.Resource {
  constructor(name: string, args: Record<string, pulumi.Input<unknown>>, opts: pulumi.CustomResourceOptions) {
    super(standIn, name, args, opts, "wireguard-fabric", "InterfaceConfig");
  }
}

/** The stand-in tree of an N-node full mesh; `peers: false` leaves the configs' peers out. */
export function floorProgram(n: number, withPeers: () => boolean = () => true): () => Promise<void> {
  return async () => {
    const names = Array.from({ length: n }, (_, i) => `n${i}`);
    const fabric = new pulumi.ComponentResource("wireguard-fabric:index:Fabric", "mesh", {});
    const nodes = names.map((name) => new pulumi.ComponentResource("wireguard-fabric:index:InternalNode", `mesh/${name}`, {}, { parent: fabric }));
    const keys = names.map(
      (name, i) => new InterfaceKey(`mesh/${name}/wg0/key`, { node: name, iface: "wg0", keyDir: "/etc/wireguard/wg-fabric", applyMode: "wg-quick" }, { parent: nodes[i] }),
    );
    names.forEach((name, i) => {
      const peers = Object.fromEntries(
        names.flatMap((other, j) =>
          other === name ? [] : [[`${other}/wg0`, { publicKey: (keys[j] as InterfaceKey).publicKey, hostRoute: `10.77.0.${j + 1}/32`, endpoint: `198.18.0.${j + 1}:51820`, allowedIps: [`172.16.${j}.0/24`] }]],
        ),
      );
      const args = { node: name, iface: "wg0", listenPort: 51820, address: `10.77.0.${i + 1}/16`, keyDir: "/etc/wireguard/wg-fabric", applyMode: "wg-quick" };
      new InterfaceConfig(`mesh/${name}/wg0`, withPeers() ? { ...args, peers } : args, { parent: nodes[i] });
    });
  };
}

function stateKiB(workDir: string): number {
  const dir = path.join(workDir, "state/.pulumi/stacks");
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith(".json"));
  return Math.max(...files.map((entry) => statSync(path.join(entry.parentPath, entry.name)).size)) / 1024;
}

async function bench(n: number): Promise<void> {
  let peers = true;
  const { stack, workDir } = await inlineStack("wgfabric-floor", `floor${n}`, floorProgram(n, () => peers));
  const timed = async (what: string, skipCheckpoints: boolean): Promise<void> => {
    const env = (stack.workspace as LocalWorkspace).envVars;
    if (skipCheckpoints) env.PULUMI_SKIP_CHECKPOINTS = "true";
    else delete env.PULUMI_SKIP_CHECKPOINTS;
    const start = process.hrtime.bigint();
    const result = await stack.up();
    const took = Number(process.hrtime.bigint() - start) / 1e9;
    const changes = Object.entries(result.summary.resourceChanges ?? {}).map(([k, v]) => `${k} ${v}`).join(", ");
    console.log(`${String(n).padStart(3)} nodes  ${what.padEnd(44)} ${took.toFixed(1).padStart(6)} s  (${changes})`);
  };
  try {
    for (const skip of [false, true]) {
      const how = skip ? "without checkpoints" : "with checkpoints";
      await timed(`up from nothing, ${how}`, skip);
      await timed(`no-op up, ${how}`, skip);
      await stack.destroy();
    }
    await timed("up from nothing, with checkpoints (state)", false);
    console.log(`${String(n).padStart(3)} nodes  ${"state file".padEnd(44)} ${stateKiB(workDir).toFixed(0).padStart(6)} KiB`);
    await stack.destroy();
    peers = false;
    await timed("up from nothing, configs without peers", false);
    await timed("no-op up, configs without peers", false);
    await stack.destroy();
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  void (async () => {
    const sizes = process.argv.slice(2).map(Number);
    for (const n of sizes.length > 0 ? sizes : [25, 50, 100]) await bench(n);
  })();
}
