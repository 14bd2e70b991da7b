import * as assert from "node:assert/strict";
import { rmSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import * as wg from "pulumi-wireguard-fabric";
import { Lab } from "../../lab/lab";
import { cloneModel, expectedOf, initialModel, randomEdit, specOf, tunnelsOf, untouchedTunnels, type Model, type NodeAddresses } from "../integration/fabric-model";
import { checkTunnels, compareLive, lostPackets, secondaryAddresses } from "../integration/live-state";
import { prng, seedFrom } from "../unit/helpers";
import { EngineLog, inlineStack } from "./harness";

const NAMES = ["n1", "n2", "n3", "n4"];
const STEPS = Number(process.env.WGF_ENGINE_MODEL_STEPS ?? 10);

/**
 * The model-based test of the lab suite, through the real engine: each random edit is a new
 * program and a `pulumi up --refresh`; afterwards every node's live state must equal the model,
 * every tunnel must answer, and an untouched tunnel pinged during the up must lose nothing.
 */
describe("model-based through the engine: pulumi up --refresh after every random edit", function () {
  this.timeout(20 * 60_000);
  const seed = seedFrom("WGF_ENGINE_MODEL_SEED");
  const log = new EngineLog();
  let lab: Lab;
  let stack: Stack;
  let workDir: string;
  let addresses: Record<string, NodeAddresses>;
  let model: Model;

  const program = async () => {
    const spec = specOf(model, addresses);
    const nodes: Record<string, wg.NodeSpec> = {};
    for (const [name, node] of Object.entries(spec.nodes)) {
      const { connection } = lab.host(name);
      const internal = node as wg.InternalNodeSpec;
      nodes[name] = {
        ...internal,
        connection: { ...connection, privateKey: pulumi.secret(connection.privateKey) },
        peers: internal.peers?.map((peer) => ({ ...peer, ...(peer.presharedKey ? { presharedKey: pulumi.secret(peer.presharedKey) } : {}) })),
      };
    }
    const fabric = new wg.Fabric(spec.name ?? "model", { nodes });
    return { publicKeys: fabric.publicKeys };
  };

  before(async () => {
    lab = await Lab.start(NAMES, { name: "wgfp", subnet: 6 });
    addresses = secondaryAddresses(lab, 6);
    model = initialModel(NAMES);
    ({ stack, workDir } = await inlineStack("wgfabric-model", "dev", program));
  });

  after(async () => {
    await stack?.destroy(log.options).catch(() => undefined);
    lab?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it(`${STEPS} random edits, each one pulumi up --refresh (seed ${seed}; replay with WGF_ENGINE_MODEL_SEED=${seed})`, async () => {
    const random = prng(seed);
    const failures: string[] = [];
    const report: string[] = [];
    for (let step = 0; step <= STEPS; step++) {
      const before = cloneModel(model);
      const edit = step === 0 ? "initial fabric" : randomEdit(model, random);
      const spared = untouchedTunnels(before, model, addresses);
      const guard = step > 0 && spared.length > 0 ? spared[Math.floor(random() * spared.length)] : undefined;
      const pinging = guard ? lab.pingInBackground(guard.from, guard.address, 100, 0.1) : undefined;
      const started = Date.now();
      const up = await stack.up({ ...log.options, refresh: true });
      const took = Date.now() - started;
      const lost = pinging ? lostPackets(await pinging) : 0;
      const mismatches = compareLive(lab, model, expectedOf(model, addresses), addresses);
      const tunnels = tunnelsOf(model);
      const { dead, recovered } = await checkTunnels(lab, tunnels);
      const changes = Object.entries(up.summary.resourceChanges ?? {}).filter(([kind]) => kind !== "same").map(([kind, n]) => `${n} ${kind}`).join(", ") || "no change";
      report.push(
        `step ${step}: ${edit}: up in ${took} ms (${changes}); ${tunnels.length - dead.length}/${tunnels.length} tunnels answer` +
          `${recovered.length > 0 ? ` (after a new handshake: ${recovered.length})` : ""}; ${guard ? `${lost} lost on ${guard.from}->${guard.to}/${guard.iface}` : "no guard"}; ${mismatches.length} mismatches`,
      );
      for (const problem of [...mismatches, ...dead.map((d) => `no answer through ${d}`), ...(lost > 0 ? [`${lost} packets lost on untouched ${guard?.from}->${guard?.to}/${guard?.iface}`] : [])]) {
        failures.push(`step ${step} (${edit}): ${problem}`);
      }
    }
    for (const line of report) console.log(`      ${line}`);
    assert.deepEqual(failures, [], `seed ${seed} (replay with WGF_ENGINE_MODEL_SEED=${seed})`);
  });
});
