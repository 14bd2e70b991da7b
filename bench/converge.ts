/**
 * `pulumi up` through the real engine on the lab, against the raw converge of the same lab
 * without the engine (what `bench/ssh` measures), for full meshes of N nodes:
 *   npm run build && node dist/bench/converge.js [N …]      (root, engine on PATH; default 25 50 100)
 * Prints wall time and SSH connections of the raw converge, of an up from nothing, a no-op up,
 * the preview of a one-peer change and that up, the state file's size, and up ÷ raw.
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as wg from "pulumi-wireguard-fabric";
import { fullMeshInput, resolveInterfaces } from "../provider/fabric";
import { connectionSchema, parseFabricOrThrow } from "../provider/model";
import { converge, RemoteNode, SessionPool } from "../provider/remote";
import { Lab } from "../lab/lab";
import { inlineStack } from "../test/e2e/harness";

const EXTERNAL_KEY = "GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdzA=";

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const line = (n: number, what: string, figures: string) => console.log(`${String(n).padStart(3)} nodes  ${what.padEnd(22)} ${figures}`);

/** The raw converge (no engine) of the mesh, timed, then everything it made removed again. */
async function rawConverge(lab: Lab, names: string[], ipOf: (i: number) => string): Promise<number> {
  const fabric = parseFabricOrThrow({ name: "bench", nodes: fullMeshInput(Object.fromEntries(names.map((name, i) => [name, { endpoint: lab.host(name).ip, ip: ipOf(i) }]))) });
  const connections = Object.fromEntries(lab.hosts.map((h) => [h.name, connectionSchema.parse(h.connection)]));
  const pool = new SessionPool();
  const start = process.hrtime.bigint();
  await converge(fabric, connections, pool);
  const took = seconds(start);
  line(names.length, "raw converge", `${took.toFixed(1).padStart(6)} s  ${String(pool.stats.connections).padStart(3)} SSH connections`);
  await Promise.all(
    resolveInterfaces(fabric).map((view) =>
      pool.use(view.node, connections[view.node]!, async (session) => {
        const node = new RemoteNode(session);
        await node.remove(view, view.applyMode);
        await node.removeKey(view);
      }),
    ),
  );
  await pool.closeAll();
  return took;
}

function stateBytes(workDir: string): number {
  const dir = path.join(workDir, "state/.pulumi/stacks");
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith(".json"));
  return Math.max(...files.map((entry) => statSync(path.join(entry.parentPath, entry.name)).size));
}

async function bench(n: number): Promise<void> {
  const names = Array.from({ length: n }, (_, i) => `n${i}`);
  const ipOf = (i: number) => `10.77.${i >> 8}.${(i & 255) + 1}/16`;
  const lab = await Lab.start(names, { name: "wgfc", subnet: 4 });
  let withExtraPeer = false;
  const program = async () => {
    const nodes = wg.fullMesh(Object.fromEntries(names.map((name, i) => [name, { connection: { host: lab.host(name).ip, hostKey: lab.host(name).connection.hostKey }, endpoint: lab.host(name).ip, ip: ipOf(i) }])));
    if (withExtraPeer) {
      nodes.ext = { role: "external", endpoint: "198.18.4.250:51820", allowedIps: ["192.0.2.0/24"], publicKey: EXTERNAL_KEY };
      const first = nodes.n0 as wg.InternalNodeSpec;
      nodes.n0 = { ...first, peers: [...(first.peers ?? []), { type: "external", node: "ext", iface: "wg0" }] };
    }
    const { privateKey, user, port } = lab.host("n0").connection;
    const fabric = new wg.Fabric("bench", { nodes, defaults: { connection: { user, port, privateKey: pulumi.secret(privateKey) } } });
    return { publicKeys: fabric.publicKeys };
  };
  const { stack, workDir } = await inlineStack("wgfabric-bench", `mesh${n}`, program);
  try {
    const raw = await rawConverge(lab, names, ipOf);
    const up = async (what: string): Promise<number> => {
      const connections = lab.totalSshConnections();
      const start = process.hrtime.bigint();
      const result = await stack.up();
      const took = seconds(start);
      const changes = Object.entries(result.summary.resourceChanges ?? {}).map(([k, v]) => `${k} ${v}`).join(", ");
      line(n, what, `${took.toFixed(1).padStart(6)} s  ${String(lab.totalSshConnections() - connections).padStart(3)} SSH connections  (${changes})`);
      return took;
    };
    const fromNothing = await up("up from nothing");
    await up("no-op up");
    withExtraPeer = true;
    const start = process.hrtime.bigint();
    const preview = await stack.preview();
    line(n, "preview one peer more", `${seconds(start).toFixed(1).padStart(6)} s  (${JSON.stringify(preview.changeSummary)})`);
    await up("add one peer");
    line(n, "state file", `${(stateBytes(workDir) / 1024).toFixed(0).padStart(6)} KiB`);
    line(n, "up ÷ raw converge", `${(fromNothing / raw).toFixed(2).padStart(6)}`);
    line(n, "ping n0 → last node", `${lab.ping("n0", `10.77.${(n - 1) >> 8}.${((n - 1) & 255) + 1}`, 2)}/2 received`);
    await stack.destroy();
  } finally {
    lab.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

void (async () => {
  const sizes = process.argv.slice(2).filter((arg) => !arg.startsWith("--")).map(Number);
  for (const n of sizes.length > 0 ? sizes : [25, 50, 100]) await bench(n);
})();
