/**
 * SSH cost of a converge on the lab: `npm run build && node dist/bench/ssh.js [N …]` (root).
 * Prints connections, remote commands and wall time of a converge from nothing and of a
 * second, no-op converge, for full meshes of N lab nodes (default 3 and 10).
 */
import { fullMesh } from "../provider/fabric";
import { connectionSchema, parseFabricOrThrow } from "../provider/model";
import { converge, SessionPool } from "../provider/remote";
import { Lab } from "../lab/lab";

async function bench(n: number): Promise<void> {
  const names = Array.from({ length: n }, (_, i) => `n${i}`);
  const lab = await Lab.start(names, { name: "wgfb", subnet: 7 });
  try {
    const fabric = parseFabricOrThrow({
      name: "bench",
      nodes: fullMesh(Object.fromEntries(names.map((name, i) => [name, { endpoint: lab.host(name).ip, ip: `10.88.0.${i + 1}/24` }]))),
    });
    const connections = Object.fromEntries(lab.hosts.map((h) => [h.name, connectionSchema.parse(h.connection)]));
    for (const run of ["from nothing", "no-op"]) {
      const pool = new SessionPool();
      const start = process.hrtime.bigint();
      const result = await converge(fabric, connections, pool);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      await pool.closeAll();
      console.log(
        `${String(n).padStart(3)} nodes  ${run.padEnd(12)}  ${String(pool.stats.connections).padStart(3)} SSH connections  ` +
          `${String(pool.stats.commands).padStart(3)} remote commands (${(pool.stats.commands / n).toFixed(1)} per interface)  ` +
          `${String(result.changed.length).padStart(3)} changed  ${ms.toFixed(0).padStart(6)} ms`,
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
