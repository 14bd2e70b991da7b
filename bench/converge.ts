/**
 * What `pulumi up` costs through the real engine on the lab, beside what the engine alone costs
 * for the same tree (bench/engine-floor's stand-in, whose provider does nothing) and the raw
 * converge of the same lab without the engine (what `bench/ssh` measures), for full meshes:
 *   npm run build && node dist/bench/converge.js [N …] [--runs K] [--pair-keys]   (root, engine on PATH; default 25 100, K 3)
 * `--pair-keys`: the mesh with a pair key on every peering (defaults.pairKeys), N(N-1)/2 pairs.
 * With the file backend's checkpoints and without (PULUMI_SKIP_CHECKPOINTS=true), it prints the
 * median of K runs of: an up from nothing, a no-op up, the preview of a one-peer change; then
 * that up, the state file's size, and where a no-op up's time goes, read from the engine's own
 * gRPC log (PULUMI_DEBUG_GRPC, a run of its own): the program until its first resource, the
 * provider's Check and Diff calls (time any of them ran, count, request bytes), and the engine
 * and SDK around them. Last, the issue's targets against the figures, met or not.
 */
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as wg from "pulumi-wireguard-fabric";
import { fullMeshInput, resolveInterfaces } from "../provider/fabric";
import { connectionSchema, parseFabricOrThrow } from "../provider/model";
import { RemoteNode, SessionPool } from "../provider/remote";
import { converge } from "../lab/converge";
import { Lab } from "../lab/lab";
import { inlineStack } from "../lab/inline-stack";
import { floorProgram } from "./engine-floor";

const EXTERNAL_KEY = "GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdzA=";

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const line = (n: number, what: string, figures: string) => console.log(`${String(n).padStart(3)} nodes  ${what.padEnd(48)} ${figures}`);
const figure = (values: readonly number[]) => `${median(values).toFixed(1).padStart(6)} s  (${values.map((v) => v.toFixed(1)).join(", ")})`;

/** The raw converge (no engine) of the mesh, timed, then everything it made removed again. */
async function rawConverge(lab: Lab, names: string[], ipOf: (i: number) => string): Promise<number> {
  const fabric = parseFabricOrThrow({ name: "bench", nodes: fullMeshInput(Object.fromEntries(names.map((name, i) => [name, { endpoint: lab.host(name).ip, ip: ipOf(i) }]))) });
  const connections = Object.fromEntries(lab.hosts.map((h) => [h.name, connectionSchema.parse(h.connection)]));
  const pool = new SessionPool();
  const start = process.hrtime.bigint();
  await converge(fabric, connections, pool);
  const took = seconds(start);
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

function stateKiB(workDir: string): number {
  const dir = path.join(workDir, "state/.pulumi/stacks");
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith(".json"));
  return Math.max(...files.map((entry) => statSync(path.join(entry.parentPath, entry.name)).size)) / 1024;
}

/** Sets or clears one variable of the stack's engine environment. */
function setEnv(stack: Stack, name: string, value: string | undefined): void {
  const env = (stack.workspace as LocalWorkspace).envVars;
  if (value === undefined) delete env[name];
  else env[name] = value;
}

/** One call the engine logged: when it ended, how long it took, how large its request was. */
interface Call {
  readonly method: string;
  readonly end: number;
  readonly ms: number;
  readonly bytes: number;
}

/** The time at least one of `calls` was running, in seconds. */
function busy(calls: readonly Call[]): number {
  const spans = calls.map((call) => [call.end - call.ms, call.end] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let until = -Infinity;
  for (const [start, end] of spans) {
    if (end <= until) continue;
    total += end - Math.max(start, until);
    until = end;
  }
  return total / 1000;
}

/** Where a no-op up's time went, from PULUMI_DEBUG_GRPC's log of it. */
function split(log: string, wall: number): string {
  const calls: Call[] = [];
  let runStart = Infinity;
  for (const text of readFileSync(log, "utf8").split("\n")) {
    if (!text) continue;
    const entry = JSON.parse(text) as { method: string; progress: string; timestamp: string; duration?: string | number; request?: unknown };
    const at = Date.parse(entry.timestamp);
    if (entry.progress === "request_started") {
      if (entry.method.endsWith("LanguageRuntime/Run")) runStart = Math.min(runStart, at);
      continue;
    }
    // nanoseconds; the engine's own server side (the resource monitor) logs no start, and the largest duration
    const ms = typeof entry.duration === "number" ? entry.duration / 1e6 : goDurationMs(String(entry.duration ?? "0s"));
    calls.push({ method: entry.method, end: at, ms: ms > 1e9 ? 0 : ms, bytes: Buffer.byteLength(JSON.stringify(entry.request ?? "")) });
  }
  const provider = calls.filter((call) => /ResourceProvider\/(Check|Diff|Read)$/.test(call.method));
  const registrations = calls.filter((call) => call.method.endsWith("ResourceMonitor/RegisterResource"));
  // the program runs until its first custom resource reaches the engine, which checks it at once
  const firstCheck = Math.min(...provider.filter((call) => call.method.endsWith("/Check")).map((call) => call.end - call.ms));
  const program = Number.isFinite(runStart) && Number.isFinite(firstCheck) ? (firstCheck - runStart) / 1000 : 0;
  const providerBusy = busy(provider);
  const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
  return (
    `program until the engine's first Check ${program.toFixed(1)} s; provider ${providerBusy.toFixed(1)} s busy in ${provider.length} Check/Diff calls (${mib(provider.reduce((s, c) => s + c.bytes, 0))} MiB of requests); ` +
    `engine and SDK ${(wall - program - providerBusy).toFixed(1)} s (${registrations.length} registrations, ${mib(registrations.reduce((s, c) => s + c.bytes, 0))} MiB of inputs)`
  );
}

/** What each part of a state's resources weighs, in KiB: inputs and outputs (the serialized dynamic provider apart), and the rest of each resource. */
function weights(deployment: { resources?: Record<string, unknown>[] }): string {
  const kib = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null)) / 1024;
  const parts: Record<string, number> = { inputs: 0, outputs: 0, "serialized provider": 0, "dependencies and parents": 0, other: 0 };
  for (const resource of deployment.resources ?? []) {
    for (const side of ["inputs", "outputs"] as const) {
      const { __provider: provider, ...rest } = (resource[side] ?? {}) as Record<string, unknown>;
      parts[side] += kib(rest);
      parts["serialized provider"] += provider === undefined ? 0 : kib(provider);
    }
    const { inputs: _i, outputs: _o, dependencies, propertyDependencies, parent, ...other } = resource;
    parts["dependencies and parents"] += kib({ dependencies, propertyDependencies, parent });
    parts.other += kib(other);
  }
  return Object.entries(parts).map(([part, size]) => `${part} ${size.toFixed(0)} KiB`).join(", ");
}

function goDurationMs(text: string): number {
  let ms = 0;
  for (const [, value, unit] of text.matchAll(/([\d.]+)(ns|µs|us|ms|s|m|h)/g)) {
    ms += Number(value) * ({ ns: 1e-6, µs: 1e-3, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[unit as string]!;
  }
  return ms;
}

async function bench(n: number, runs: number, pairKeys: boolean): Promise<void> {
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
    const fabric = new wg.Fabric("bench", { nodes, defaults: { connection: { user, port, privateKey: pulumi.secret(privateKey) }, ...(pairKeys ? { pairKeys } : {}) } });
    return { publicKeys: fabric.publicKeys };
  };
  const ours = await inlineStack("wgfabric-bench", `mesh${n}`, program);
  const floor = await inlineStack("wgfabric-floor", `floor${n}`, floorProgram(n));
  const figures: Record<string, number> = {};
  try {
    const raw: number[] = [];
    for (let run = 0; run < runs; run++) raw.push(await rawConverge(lab, names, ipOf));
    line(n, "raw converge (no engine)", figure(raw));
    figures.raw = median(raw);
    const timed = async (stack: Stack, what: "up" | "preview"): Promise<number> => {
      const start = process.hrtime.bigint();
      if (what === "up") await stack.up();
      else await stack.preview();
      return seconds(start);
    };
    for (const skip of [false, true]) {
      const how = skip ? "without checkpoints" : "with checkpoints";
      for (const [who, { stack }] of [["ours", ours], ["floor", floor]] as const) {
        setEnv(stack, "PULUMI_SKIP_CHECKPOINTS", skip ? "true" : undefined);
        const fromNothing: number[] = [];
        for (let run = 0; run < runs; run++) {
          if (run > 0) await stack.destroy();
          withExtraPeer = false;
          fromNothing.push(await timed(stack, "up"));
        }
        line(n, `${who}: up from nothing, ${how}`, figure(fromNothing));
        const noop: number[] = [];
        for (let run = 0; run < runs; run++) noop.push(await timed(stack, "up"));
        line(n, `${who}: no-op up, ${how}`, figure(noop));
        figures[`${who} up ${how}`] = median(fromNothing);
        figures[`${who} no-op ${how}`] = median(noop);
        if (who === "ours") {
          const log = path.join(ours.workDir, "grpc.log");
          rmSync(log, { force: true });
          setEnv(stack, "PULUMI_DEBUG_GRPC", log);
          const wall = await timed(stack, "up");
          setEnv(stack, "PULUMI_DEBUG_GRPC", undefined);
          line(n, `ours: a no-op up's split, ${how}`, split(log, wall));
          rmSync(log, { force: true });
          withExtraPeer = true;
          const preview: number[] = [];
          for (let run = 0; run < runs; run++) preview.push(await timed(stack, "preview"));
          line(n, `ours: preview of one peer more, ${how}`, figure(preview));
          figures[`ours preview ${how}`] = median(preview);
          line(n, `ours: up of one peer more, ${how}`, figure([await timed(stack, "up")]));
          if (!skip) {
            line(n, "ours: state file", `${stateKiB(ours.workDir).toFixed(0).padStart(6)} KiB`);
            line(n, "ours: what the state's resources weigh", weights((await stack.exportStack()).deployment as { resources?: Record<string, unknown>[] }));
          }
          withExtraPeer = false;
        } else {
          line(n, `floor: state file, ${how}`, `${stateKiB(floor.workDir).toFixed(0).padStart(6)} KiB`);
        }
        await stack.destroy();
      }
    }
    const target = (what: string, value: number, bound: number, boundText: string) =>
      line(n, `target: ${what}`, `${value.toFixed(1)} s ${value <= bound ? "≤" : ">"} ${boundText} = ${bound.toFixed(1)} s: ${value <= bound ? "met" : "not met"}`);
    const w = "with checkpoints";
    const wo = "without checkpoints";
    target("no-op up ≤ 6 s", figures[`ours no-op ${w}`]!, 6, "6 s");
    target("preview of one peer more ≤ 6 s", figures[`ours preview ${w}`]!, 6, "6 s");
    target("up ≤ floor + 0.3 × raw", figures[`ours up ${w}`]!, figures[`floor up ${w}`]! + 0.3 * figures.raw, `${figures[`floor up ${w}`]!.toFixed(1)} + 0.3 × ${figures.raw.toFixed(1)}`);
    target("up without checkpoints ≤ 1.5 × raw", figures[`ours up ${wo}`]!, 1.5 * figures.raw, `1.5 × ${figures.raw.toFixed(1)}`);
    line(n, "the floor's no-op, for the no-op targets", `${figures[`floor no-op ${w}`]!.toFixed(1)} s with checkpoints, ${figures[`floor no-op ${wo}`]!.toFixed(1)} s without`);
  } finally {
    lab.stop();
    rmSync(ours.workDir, { recursive: true, force: true });
    rmSync(floor.workDir, { recursive: true, force: true });
  }
}

void (async () => {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
  const pairKeys = args.includes("--pair-keys");
  const sizes = args.filter((arg, i) => arg !== "--pair-keys" && (runsAt < 0 || (i !== runsAt && i !== runsAt + 1))).map(Number);
  if (pairKeys) console.log("with a pair key on every peering");
  for (const n of sizes.length > 0 ? sizes : [25, 100]) await bench(n, runs, pairKeys);
})();
