/**
 * SSH cost of a converge on the lab: `npm run build && node dist/bench/ssh.js [N …]` (root).
 * Prints connections, remote commands and wall time of a converge from nothing, of a second,
 * no-op converge, and of one that adds a peer on one node (one interface changes), for full
 * meshes of N lab nodes (default 3 and 10).
 */
import { fullMeshInput } from "../provider/fabric";
import { connectionSchema, parseFabricOrThrow, type FabricInput } from "../provider/model";
import { SessionPool } from "../provider/remote";
import { converge } from "../lab/converge";
import { Lab } from "../lab/lab";

const EXTRA_PEER = "GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdzA=";

async function bench(n: number): Promise<void> {
  const names = Array.from({ length: n }, (_, i) => `n${i}`);
  const lab = await Lab.start(names, { name: "wgfb", subnet: 7 });
  try {
    const nodes = fullMeshInput(Object.fromEntries(names.map((name, i) => [name, { endpoint: lab.host(name).ip, ip: `10.88.0.${i + 1}/24` }])));
    const mesh: FabricInput = { name: "bench", nodes };
    const onePeerMore: FabricInput = {
      name: "bench",
      nodes: {
        ...nodes,
        n0: { ...(nodes.n0 as object), peers: [...((nodes.n0 as { peers: object[] }).peers ?? []), { type: "external", node: "extra", iface: "wg0" }] } as FabricInput["nodes"][string],
        extra: { role: "external", endpoint: "198.18.7.250:51820", allowedIps: ["10.89.0.0/24"], publicKey: EXTRA_PEER },
      },
    };
    const connections = Object.fromEntries(lab.hosts.map((h) => [h.name, connectionSchema.parse(h.connection)]));
    for (const [run, spec] of [["from nothing", mesh], ["no-op", mesh], ["one peer more", onePeerMore]] as const) {
      const pool = new SessionPool();
      const start = process.hrtime.bigint();
      const result = await converge(parseFabricOrThrow(spec), connections, pool);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      await pool.closeAll();
      // every interface: a key check and an inspection; a changed one also its apply
      const perChanged = result.changed.length > 0 ? ((pool.stats.commands - 2 * n) / result.changed.length + 1).toFixed(1) : "-";
      console.log(
        `${String(n).padStart(3)} nodes  ${run.padEnd(13)}  ${String(pool.stats.connections).padStart(3)} SSH connections  ` +
          `${String(pool.stats.commands).padStart(4)} remote commands (${(pool.stats.commands / n).toFixed(1)} per interface; ` +
          `inspect + apply per changed interface: ${perChanged})  ${String(result.changed.length).padStart(3)} changed  ${ms.toFixed(0).padStart(6)} ms`,
      );
    }
    const reached = lab.ping("n0", `10.88.0.${n}`, 2);
    console.log(`${String(n).padStart(3)} nodes  ping n0 → n${n - 1} through the mesh: ${reached}/2 received`);
  } finally {
    lab.stop();
  }
}

void (async () => {
  const sizes = process.argv.slice(2).map(Number);
  for (const n of sizes.length > 0 ? sizes : [3, 10]) await bench(n);
})();
