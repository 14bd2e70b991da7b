// temporary: when do the engine's events of a no-op up happen?
import { rmSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import * as wg from "pulumi-wireguard-fabric";
import { Lab } from "../lab/lab";
import { inlineStack } from "../test/e2e/harness";

void (async () => {
  const n = Number(process.argv[2] ?? 50);
  const names = Array.from({ length: n }, (_, i) => `n${i}`);
  const lab = await Lab.start(names, { name: "wgfc", subnet: 4 });
  let t0 = 0n;
  const mark = (what: string) => console.log(`${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0).padStart(6)} ms  ${what}`);
  let marks = false;
  const program = async () => {
    if (marks) mark("program starts");
    const nodes = wg.fullMesh(Object.fromEntries(names.map((name, i) => [name, { connection: { host: lab.host(name).ip, hostKey: lab.host(name).connection.hostKey }, endpoint: lab.host(name).ip, ip: `10.77.0.${i + 1}/16` }])));
    const { privateKey, user, port } = lab.host("n0").connection;
    const fabric = new wg.Fabric("bench", { nodes, defaults: { connection: { user, port, privateKey: pulumi.secret(privateKey) } } });
    if (marks) mark("program registered everything");
    return { publicKeys: fabric.publicKeys };
  };
  const { stack, workDir } = await inlineStack("wgfabric-bench", `tl${n}`, program);
  try {
    await stack.up();
    marks = true;
    t0 = process.hrtime.bigint();
    const seen = new Map<string, number>();
    let debug = "";
    await stack.up({
      logToStdErr: true,
      logVerbosity: 7,
      onError: (text: string) => (debug += text),
      onEvent: (event) => {
        const kind = Object.keys(event).find((k) => k.endsWith("Event") && k !== "sequence") ?? "?";
        const type = (event as any)[kind]?.metadata?.type ?? "";
        const key = `${kind} ${type}`;
        const count = (seen.get(key) ?? 0) + 1;
        seen.set(key, count);
        if (count === 1 || count % 25 === 0) mark(`${key} #${count}`);
        if (kind.startsWith("diagnostic") && count < 12) mark(JSON.stringify((event as any).diagnosticEvent).slice(0, 300));
      },
    });
    mark("up returned");
    require("node:fs").writeFileSync("/tmp/engine-debug.log", debug);
    require("node:fs").writeFileSync("/tmp/state.json", JSON.stringify((await stack.exportStack()).deployment));
    await stack.destroy();
  } finally {
    lab.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
})();
