import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { topologyOfStack } from "../../provider/cli/stack-graph";
import { statusReport } from "../../provider/cli/status";
import { parseSectionConfig } from "../../provider/section-config";
import { type DeclaredPeering, renderDot, renderMermaid, topologyOf, topologyOfFabric } from "../../provider/draw";
import { parseFabricOrThrow } from "../../provider/model";
import { KEYS, prng, rfcSpec, seedFrom } from "./helpers";
import { FIXTURES } from "./rfc.test";

const CLI = path.join(__dirname, "../../cli/wg-fabric.js");
const RFC = path.join(FIXTURES, "rfc-fabrics.cfg");

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The `<title>`s of an SVG's node and edge groups, as Graphviz writes them. */
function svgGroups(svg: string, kind: "node" | "edge" | "cluster"): string[] {
  return [...svg.matchAll(new RegExp(`<g id="[^"]+" class="${kind}">\\s*<title>([^<]*)</title>`, "g"))].map((m) => (m[1] as string).replace(/&#45;/g, "-"));
}

describe("wg-fabric graph", () => {
  it("the RFC fabric in SVG (real Graphviz): its three nodes, two peerings, the one-sided one dashed and orange", () => {
    const r = cli("graph", RFC, "--format", "svg");
    assert.equal(r.status, 0, r.stderr);
    const text = [...r.stdout.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const name of ["elementalist", "occultist", "berserker", "external nodes", "198.51.100.1/24", "berserker:51337"]) assert.ok(text.includes(name), name);
    assert.equal(svgGroups(r.stdout, "cluster").length, 3, "two internal nodes and the external box");
    const edges = [...r.stdout.matchAll(/<g id="edge\d+" class="edge">([\s\S]*?)<\/g>/g)].map((m) => (m[1] as string).replace(/&#45;/g, "-"));
    assert.equal(edges.length, 2);
    const oneSided = edges.filter((edge) => edge.includes('stroke="#ef6c00"') && edge.includes("stroke-dasharray"));
    assert.equal(oneSided.length, 1);
    assert.match(oneSided[0] as string, /one-sided: only occultist\/wg0 lists it/);
  });

  it("DOT and Mermaid by default; validation errors on the node they concern", () => {
    const text = readFileSync(RFC, "utf8").replace("node=berserker", "node=berserkr");
    const fabric = parseSectionConfig(text).fabrics[0];
    assert.ok(fabric);
    const dot = renderDot(topologyOfFabric(fabric));
    assert.match(dot, /label="occultist\\n! peers\[1\]: node: node \\"berserkr\\" is not defined in fabric \\"vpn\\""; style="rounded"; color="#c62828"/);
    assert.match(cli("graph", RFC).stdout, /^graph "vpn" \{\n/);
    const mermaid = cli("graph", RFC, "--format", "mermaid").stdout;
    assert.match(mermaid, /^flowchart LR\n {2}subgraph c0\["elementalist"\]\n {4}n0i0\("wg0<br\/>198\.51\.100\.1\/24<br\/>port 50000"\)\n {2}end\n/);
    assert.match(mermaid, /n0i0 -\.-\|"one-sided: only occultist\/wg0 lists it"\| n1i0\n/);
    assert.match(mermaid, /n1i0 --- x2\n/);
    assert.match(mermaid, /linkStyle 0 stroke:#ef6c00\n$/);
  });

  it("one edge per peering, both directions merged, one-sided exactly when the other internal end does not list it (seeded random fabrics against a model)", () => {
    const seed = seedFrom("WGF_GRAPH_SEED");
    const random = prng(seed);
    for (let round = 0; round < 100; round++) {
      const ids = Array.from({ length: 2 + Math.floor(random() * 6) }, (_, n) => Array.from({ length: 1 + Math.floor(random() * 2) }, (_, i) => `node-${n}/wg${i}`)).flat();
      const externals = Array.from({ length: Math.floor(random() * 3) }, (_, x) => `ext.${x}`);
      const lists = new Map(ids.map((id) => [id, [...ids, ...externals].filter((other) => other !== id && random() < 0.4)]));
      const interfaces: DeclaredPeering[] = ids.map((id) => {
        const [node, iface] = id.split("/") as [string, string];
        return { node, iface, addresses: [], peers: lists.get(id) ?? [] };
      });
      // the model: a set of unordered pairs; one-sided when an internal end is missing from the other's list
      const expected = new Map<string, boolean>();
      for (const [id, peers] of lists) {
        for (const peer of peers) {
          const key = [id, peer].sort().join(" ");
          expected.set(key, ids.includes(peer) && !(lists.get(peer) ?? []).includes(id));
        }
      }
      const topology = topologyOf("f", interfaces, externals.map((name) => ({ name })));
      const got = new Map(topology.links.map((link) => [[link.a, link.b].sort().join(" "), link.oneSided]));
      assert.deepEqual(got, expected, `seed ${seed} (replay with WGF_GRAPH_SEED=${seed}), round ${round}`);
      for (const link of topology.links) assert.ok(!externals.includes(link.a), `an external node is always the second end (seed ${seed})`);
      // every edge of the model is drawn between two declared boxes
      const dot = renderDot(topology);
      assert.equal((dot.match(/ -- /g) ?? []).length, expected.size, `seed ${seed}, round ${round}`);
    }
  });

  it("a stack's edges take the colour and handshake age of their worst direction", () => {
    const now = 1_800_000_000;
    const iface = (node: string, peers: Record<string, string>, state: string, handshakes: Record<string, number>) => ({
      fabric: "vpn",
      owner: `vpn/${node}/wg0`,
      node,
      iface: "wg0",
      peers: Object.fromEntries(Object.entries(peers).map(([label, key]) => [label, { publicKey: key }])),
      status: { state, peers: Object.entries(handshakes).map(([key, age]) => ({ publicKey: key, latestHandshake: now - age, rxBytes: 0, txBytes: 0 })) },
    });
    const interfaces = [
      iface("elementalist", { "occultist/wg0": KEYS.occultist }, "up", { [KEYS.occultist]: 20 }),
      iface("occultist", { "elementalist/wg0": KEYS.elementalist, berserker: KEYS.berserker }, "up", { [KEYS.elementalist]: 20, [KEYS.berserker]: 400 }),
    ];
    const topology = topologyOfStack("vpn", interfaces, statusReport(interfaces, now));
    assert.deepEqual(
      topology.links.map((l) => [l.a, l.b, l.health, l.note]),
      [
        ["elementalist/wg0", "occultist/wg0", "ok", "20s ago"],
        ["occultist/wg0", "berserker", "stale", "6m 40s ago"],
      ],
    );
    // occultist's interface went down: elementalist's fresh handshake does not make the tunnel green
    const [elementalist, occultist] = interfaces as [(typeof interfaces)[0], (typeof interfaces)[0]];
    const down = [elementalist, { ...occultist, status: { state: "down", peers: [] } }];
    const dot = renderDot(topologyOfStack("vpn", down, statusReport(down, now)));
    assert.match(dot, /n0i0 -- n1i0 \[color="#c62828", label="interface down"/);
    assert.match(renderMermaid(topology), /linkStyle 0 stroke:#2e7d32\n {2}linkStyle 1 stroke:#ef6c00\n$/);
  });

  it("a fabric parsed from a Pulumi spec draws the same as its fabrics.cfg", () => {
    const spec = parseFabricOrThrow(rfcSpec());
    const topology = topologyOfFabric(spec);
    assert.deepEqual(topology.links.map((l) => [l.a, l.b, l.oneSided]), [
      ["elementalist/wg0", "occultist/wg0", false],
      ["occultist/wg0", "berserker", false],
    ]);
  });
});
