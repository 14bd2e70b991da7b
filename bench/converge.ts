/**
 * `pulumi up` through the real engine on the lab: wall time and SSH connections of an up from
 * nothing, a no-op up and an up that adds one peer, for full meshes of N nodes.
 *   npm run build && node dist/bench/converge.js [--no-peer-components] [N …]
 * (root, engine on PATH; default 3 10 25).
 */
import { rmSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import * as wg from "pulumi-wireguard-fabric";
import { Lab } from "../lab/lab";
import { inlineStack } from "../test/e2e/harness";

const EXTERNAL_KEY = "GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdzA=";

async function bench(n: number): Promise<void> {
  const names = Array.from({ length: n }, (_, i) => `n${i}`);
  const lab = await Lab.start(names, { name: "wgfc", subnet: 4 });
  let withExtraPeer = false;
  const program = async () => {
    const nodes = wg.fullMesh(
      Object.fromEntries(
        names.map((name, i) => {
          const { privateKey, ...rest } = lab.host(name).connection;
          return [name, { connection: { ...rest, privateKey: pulumi.secret(privateKey) }, endpoint: lab.host(name).ip, ip: `10.77.${i >> 8}.${(i & 255) + 1}/16` }];
        }),
      ),
    );
    if (withExtraPeer) {
      nodes.ext = { role: "external", endpoint: "198.18.4.250:51820", allowedIps: ["192.0.2.0/24"], publicKey: EXTERNAL_KEY };
      const first = nodes.n0 as wg.InternalNodeSpec;
      nodes.n0 = { ...first, peers: [...(first.peers ?? []), { type: "external", node: "ext", iface: "wg0" }] };
    }
    const fabric = new wg.Fabric("bench", { nodes });
    return { publicKeys: fabric.publicKeys };
  };
  const { stack, workDir } = await inlineStack("wgfabric-bench", `mesh${n}`, program);
  try {
    const run = async (what: string): Promise<void> => {
      const connections = lab.totalSshConnections();
      const start = process.hrtime.bigint();
      const result = await stack.up();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const changes = Object.entries(result.summary.resourceChanges ?? {}).map(([k, v]) => `${k} ${v}`).join(", ");
      console.log(`${String(n).padStart(3)} nodes  ${what.padEnd(16)} ${seconds.toFixed(1).padStart(6)} s  ${String(lab.totalSshConnections() - connections).padStart(3)} SSH connections  (${changes})`);
    };
    await run("up from nothing");
    await run("no-op up");
    withExtraPeer = true;
    await run("add one peer");
    console.log(`${String(n).padStart(3)} nodes  ping n0 → n${n - 1} through the mesh: ${lab.ping("n0", `10.77.0.${n}`, 2)}/2 received`);
    await stack.destroy();
  } finally {
    lab.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

void (async () => {
  const sizes = process.argv.slice(2).filter((arg) => !arg.startsWith("--")).map(Number);
  for (const n of sizes.length > 0 ? sizes : [3, 10, 25]) await bench(n);
})();
