/**
 * Rendering speed and memory of full meshes: `npm run build && node dist/bench/render.js [N …]`
 * (default 100 300 1000). A mesh of N internal nodes has N·(N-1) peer stanzas (1000 nodes ≈ 1 M).
 *
 * 1. `wg-fabric render FILE --all --out DIR`, a real process per size, on a fabrics.cfg in
 *    Proxmox VE's dialect: wall time from spawn to exit, the CLI's own phases
 *    (WG_FABRIC_TIMINGS: start-up, parse, validate, resolve, render, write) and its peak RSS.
 * 2. In process, a Pulumi program's path: the spec from `fullMeshInput`, parsed (zod),
 *    validated and rendered in memory.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fullMeshInput, renderWgQuick, resolveInterfaces, validateFabric } from "../provider/fabric";
import { parseFabricOrThrow, type WgKey } from "../provider/model";

const KEY = "y0kOpXfo9ff4KoUwO3H1cRuwObbKwsK8mAkwXxNvKUc=" as WgKey;
const CLI = path.join(__dirname, "../provider/cli/main.js");

/** Node i: endpoint 198.18.x.y, interface 10.x.y.1/16, network 172.(16+x).y.0/24. */
const octets = (i: number): [number, number] => [i >> 8, i & 255];

/** A full mesh as Proxmox VE writes fabrics.cfg, public keys recorded. */
function meshFile(n: number): string {
  const lines = ["wireguard_fabric: mesh", ""];
  for (let i = 0; i < n; i++) {
    const [x, y] = octets(i);
    lines.push(`wireguard_node: mesh_node${i}`, "\trole internal", `\tendpoint 198.18.${x}.${y}:51820`, `\tallowed_ips 172.${16 + x}.${y}.0/24`);
    lines.push(`\tinterfaces name=wg0,listen_port=51820,public_key=${KEY},ip=10.${x}.${y}.1/16`);
    for (let j = 0; j < n; j++) if (j !== i) lines.push(`\tpeers type=internal,node=node${j},node_iface=wg0,iface=wg0`);
    lines.push("");
  }
  return lines.join("\n");
}

function ms(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

const pad = (value: number | string, width: number): string => String(typeof value === "number" ? Math.round(value) : value).padStart(width);

function cliRun(n: number, dir: string): void {
  const file = path.join(dir, `mesh${n}.cfg`);
  writeFileSync(file, meshFile(n));
  const out = path.join(dir, `out${n}`);
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [CLI, "render", file, "--all", "--out", out], { encoding: "utf8", env: { ...process.env, WG_FABRIC_TIMINGS: "1" } });
  const wall = ms(started);
  if (run.status !== 0) throw new Error(`wg-fabric render --all failed: ${run.stderr}`);
  const t = JSON.parse(run.stderr.trim().split("\n").pop() as string) as Record<string, number>;
  console.log(
    `${pad(n, 5)} nodes  ${pad(n * (n - 1), 8)} stanzas  wall ${pad(wall, 6)} ms  start ${pad(t.start ?? 0, 4)}  parse ${pad(t.parse ?? 0, 5)}  validate ${pad(t.validate ?? 0, 5)}  ` +
      `render ${pad((t.resolve ?? 0) + (t.render ?? 0), 5)}  write ${pad(t.write ?? 0, 4)} ms  peak RSS ${pad((t.maxRssKiB ?? 0) / 1024, 5)} MiB`,
  );
  rmSync(out, { recursive: true, force: true });
}

function inProcess(n: number): void {
  const names = Array.from({ length: n }, (_, i) => `node${i}`);
  const input = {
    name: "bench",
    nodes: fullMeshInput(
      Object.fromEntries(names.map((name, i) => [name, { endpoint: `198.18.${octets(i).join(".")}`, ip: `10.${octets(i).join(".")}.1/16`, allowedIps: [`172.${16 + octets(i)[0]}.${octets(i)[1]}.0/24`] }])),
      { iface: "wg0", listenPort: 51820 },
    ),
  };
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
  for (const view of resolveInterfaces(fabric)) bytes += renderWgQuick(view, { publicKeys, stanzaCache }).length;
  const renderMs = ms(t);
  console.log(
    `${pad(n, 5)} nodes  ${pad(bytes / 2 ** 20, 4)} MiB out  parse ${pad(parseMs, 5)} ms  validate ${pad(validateMs, 5)} ms  render ${pad(renderMs, 5)} ms  heap ${pad(process.memoryUsage().heapUsed / 2 ** 20, 5)} MiB`,
  );
}

const sizes = process.argv.slice(2).map(Number);
const dir = mkdtempSync(path.join(tmpdir(), "wgf-bench-"));
try {
  const started = process.hrtime.bigint();
  spawnSync(process.execPath, [CLI, "--help"]);
  console.log(`wg-fabric --help (process start alone): ${Math.round(ms(started))} ms`);
  console.log("wg-fabric render fabrics.cfg --all --out DIR (one process each):");
  for (const n of sizes.length > 0 ? sizes : [100, 300, 1000]) cliRun(n, dir);
  console.log("in process, a Pulumi spec (fullMeshInput), parsed, validated and rendered:");
  for (const n of sizes.length > 0 ? sizes : [100, 300, 1000]) inProcess(n);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
