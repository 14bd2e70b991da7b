/**
 * Rendering speed and memory of full meshes: `npm run build && node dist/bench/render.js [N …]`
 * (default 100 300 1000). A mesh of N internal nodes has N·(N-1) peer stanzas (1000 nodes ≈ 1 M).
 *
 * 1. `wg-fabric render FILE --all --out DIR`, a real process per run started as users start it
 *    (the bin, its shebang's node options included), on a fabrics.cfg in Proxmox VE's dialect:
 *    the run of median wall time (spawn to exit) of 11, 5 or 3 runs, the CLI's own phases
 *    (WG_FABRIC_TIMINGS: start-up, parse, prepare: resolve and validate, render, write) and its peak RSS.
 *    DIR is on tmpfs (/dev/shm) when there is one, so that the figures are the tool's; the write
 *    floor is the same files written again by a bare loop, and the largest size is run once
 *    more on the disk (the OS's temp folder).
 * 2. In process, a Pulumi program's path: the spec from `fullMeshInput`, parsed (zod),
 *    validated and rendered in memory.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fullMeshInput, renderWgQuick, resolveInterfaces, validateFabric, type PeerView } from "../provider/fabric";
import { parseFabricOrThrow, type WgKey } from "../provider/model";

/** Node i's public key: each its own, as validation wants them. */
const keyOf = (i: number): WgKey => {
  const bytes = Buffer.alloc(32, 7);
  bytes.writeUInt32BE(i);
  return bytes.toString("base64") as WgKey;
};
const CLI = path.join(__dirname, "../cli/wg-fabric.js");

/** Node i: endpoint 198.18.x.y, interface 10.x.y.1/16, network 172.(16+x).y.0/24. */
const octets = (i: number): [number, number] => [i >> 8, i & 255];

/** A full mesh as Proxmox VE writes fabrics.cfg, public keys recorded; `peerKey` adds a key of its own to every peer line. */
function meshFile(n: number, peerKey = ""): string {
  const lines = ["wireguard_fabric: mesh", ""];
  for (let i = 0; i < n; i++) {
    const [x, y] = octets(i);
    lines.push(`wireguard_node: mesh_node${i}`, "\trole internal", `\tendpoint 198.18.${x}.${y}:51820`, `\tallowed_ips 172.${16 + x}.${y}.0/24`);
    lines.push(`\tinterfaces name=wg0,listen_port=51820,public_key=${keyOf(i)},ip=10.${x}.${y}.1/16`);
    for (let j = 0; j < n; j++) if (j !== i) lines.push(`\tpeers type=internal,node=node${j},node_iface=wg0,iface=wg0${peerKey}`);
    lines.push("");
  }
  return lines.join("\n");
}

function ms(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

const pad = (value: number | string, width: number): string => String(typeof value === "number" ? Math.round(value) : value).padStart(width);

/** Writes every file under `from` again, into a fresh folder: what the disk alone costs. */
function writeFloor(from: string): { ms: number; bytes: number } {
  const files = readdirSync(from, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  const contents = files.map((entry) => [path.relative(from, path.join(entry.parentPath, entry.name)), readFileSync(path.join(entry.parentPath, entry.name))] as const);
  const to = `${from}-floor`;
  const started = process.hrtime.bigint();
  for (const [file, content] of contents) {
    mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    writeFileSync(path.join(to, file), content, { mode: 0o600 });
  }
  const took = ms(started);
  rmSync(to, { recursive: true, force: true });
  return { ms: took, bytes: contents.reduce((sum, [, content]) => sum + content.length, 0) };
}

/** Runs of each size: start-up varies by several milliseconds from run to run on a small machine. */
const runsOf = (n: number): number => (n <= 100 ? 11 : n <= 300 ? 5 : 3);

/** `render --all` of the mesh, `runsOf(n)` times; prints the run of median wall time, the spread, and the write floor. */
function cliRun(n: number, file: string, outDir: string): void {
  const out = path.join(outDir, `out${n}`);
  const runs = Array.from({ length: runsOf(n) }, () => {
    rmSync(out, { recursive: true, force: true });
    const started = process.hrtime.bigint();
    const run = spawnSync(CLI, ["render", file, "--all", "--out", out], { encoding: "utf8", env: { ...process.env, WG_FABRIC_TIMINGS: "1" } });
    const wall = ms(started);
    if (run.status !== 0) throw new Error(`wg-fabric render --all failed: ${run.stderr}`);
    return { wall, t: JSON.parse(run.stderr.trim().split("\n").pop() as string) as Record<string, number> };
  }).sort((a, b) => a.wall - b.wall);
  const { wall, t } = runs[runs.length >> 1] as (typeof runs)[number];
  const floor = writeFloor(out);
  console.log(
    `${pad(n, 5)} nodes  ${pad(n * (n - 1), 8)} stanzas  wall ${pad(wall, 5)} ms (${runs.length} runs: ${pad((runs[0] as (typeof runs)[number]).wall, 4)}–${pad((runs[runs.length - 1] as (typeof runs)[number]).wall, 4)})  ` +
      `start ${pad(t.start ?? 0, 4)}  parse ${pad(t.parse ?? 0, 4)}  prepare (resolve, validate) ${pad(t.prepare ?? 0, 4)}  render ${pad(t.render ?? 0, 4)}  ` +
      `write ${pad(t.write ?? 0, 4)} (floor ${pad(floor.ms, 4)} for ${pad(floor.bytes / 2 ** 20, 3)} MiB) ms  peak RSS ${pad((t.maxRssKiB ?? 0) / 1024, 4)} MiB`,
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
  const publicKeys = new Map(names.map((name, i) => [`${name}/wg0`, keyOf(i)]));
  const stanzaCache = new Map<PeerView, string>();
  let bytes = 0;
  for (const view of resolveInterfaces(fabric)) bytes += renderWgQuick(view, { publicKeys, stanzaCache }).length;
  const renderMs = ms(t);
  console.log(
    `${pad(n, 5)} nodes  ${pad(bytes / 2 ** 20, 4)} MiB out  parse ${pad(parseMs, 5)} ms  validate ${pad(validateMs, 5)} ms  render ${pad(renderMs, 5)} ms  heap ${pad(process.memoryUsage().heapUsed / 2 ** 20, 5)} MiB`,
  );
}

const sizes = process.argv.slice(2).map(Number);
const dir = mkdtempSync(path.join(tmpdir(), "wgf-bench-"));
const memoryDir = existsSync("/dev/shm") ? mkdtempSync("/dev/shm/wgf-bench-") : dir;
try {
  const started = process.hrtime.bigint();
  spawnSync(CLI, ["--help"]);
  console.log(`wg-fabric --help (process start alone): ${Math.round(ms(started))} ms`);
  console.log(`wg-fabric render fabrics.cfg --all --out DIR (one process each), DIR in ${memoryDir === dir ? "the temp folder" : "/dev/shm (tmpfs)"}:`);
  const runs = sizes.length > 0 ? sizes : [100, 300, 1000];
  const files = new Map(runs.map((n) => [n, path.join(dir, `mesh${n}.cfg`)]));
  for (const [n, file] of files) writeFileSync(file, meshFile(n));
  for (const n of runs) cliRun(n, files.get(n) as string, memoryDir);
  const largest = Math.max(...runs);
  console.log("the largest again, every peer line with its own persistent_keepalive (an override on each peer):");
  const overridden = path.join(dir, `mesh${largest}-keepalive.cfg`);
  writeFileSync(overridden, meshFile(largest, ",persistent_keepalive=25"));
  cliRun(largest, overridden, memoryDir);
  if (memoryDir !== dir) {
    console.log(`the largest again, DIR in the temp folder (${tmpdir()}, a disk):`);
    cliRun(largest, files.get(largest) as string, dir);
  }
  console.log("in process, a Pulumi spec (fullMeshInput), parsed, validated and rendered:");
  for (const n of runs) inProcess(n);
} finally {
  rmSync(dir, { recursive: true, force: true });
  rmSync(memoryDir, { recursive: true, force: true });
}
