/**
 * Validate + render time of full meshes: `npm run build && node dist/bench/render.js [N …]`.
 * A mesh of N internal nodes has N·(N-1) peer stanzas (1000 nodes ≈ 1 M). Parsing (zod) of
 * the generated input is timed apart: a Pulumi program parses its spec once, at the boundary.
 */
import { fullMeshInput, renderWgQuick, resolveInterfaces, validateFabric } from "../provider/fabric";
import { parseFabricOrThrow, type WgKey } from "../provider/model";

const KEY = "y0kOpXfo9ff4KoUwO3H1cRuwObbKwsK8mAkwXxNvKUc=" as WgKey;

function ms(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

function bench(n: number): void {
  const names = Array.from({ length: n }, (_, i) => `node${i}`);
  const input = {
    name: "bench",
    nodes: fullMeshInput(
      Object.fromEntries(names.map((name, i) => [name, { endpoint: `198.18.${i >> 8}.${i & 255}`, ip: `10.${i >> 8}.${i & 255}.1/16`, allowedIps: [`172.${16 + (i >> 8)}.${i & 255}.0/24`] }])),
      { iface: "wg0", listenPort: 51820 },
    ),
  };
  // Interface addresses 10.x.y.1/16 collide across /16s only in their host route, which is unique.
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let t = process.hrtime.bigint();
  const fabric = parseFabricOrThrow(input);
  const parseMs = ms(t);

  t = process.hrtime.bigint();
  const problems = validateFabric(fabric);
  if (problems.length > 0) throw new Error(`bench mesh has problems: ${problems[0]?.message}`);
  const validateMs = ms(t);

  t = process.hrtime.bigint();
  const publicKeys = new Map(names.map((name) => [`${name}/wg0`, KEY]));
  const stanzaCache = new Map<string, string>();
  let bytes = 0;
  let stanzas = 0;
  for (const view of resolveInterfaces(fabric)) {
    bytes += renderWgQuick(view, { publicKeys, stanzaCache }).length;
    stanzas += view.peers.length;
  }
  const renderMs = ms(t);
  const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  console.log(
    `${String(n).padStart(5)} nodes  ${String(stanzas).padStart(8)} peer stanzas  ${(bytes / 2 ** 20).toFixed(1).padStart(6)} MiB out  ` +
      `parse ${parseMs.toFixed(0).padStart(5)} ms  validate ${validateMs.toFixed(0).padStart(5)} ms  render ${renderMs.toFixed(0).padStart(5)} ms  ` +
      `validate+render ${(validateMs + renderMs).toFixed(0).padStart(5)} ms  (${(((validateMs + renderMs) * 1e3) / Math.max(stanzas, 1)).toFixed(2)} µs/stanza)  heap +${heapMiB.toFixed(0)} MiB`,
  );
}

const sizes = process.argv.slice(2).map(Number);
for (const n of sizes.length > 0 ? sizes : [100, 300, 1000]) bench(n);
