import * as assert from "node:assert/strict";
import { parseFabricOrThrow } from "../../provider/model";
import { renderNodeFiles, resolveInterfaces, type InterfaceView } from "../../provider/fabric";
import { parseDeclaredFiles, planSync, describeOp, type LiveInterface } from "../../provider/remote/plan";
import { parseInspection, encodePlan } from "../../provider/remote";
import { stackInterfaces } from "../../provider/cli/stack-state";
import { formatStatusTable, statusReport } from "../../provider/cli/status";
import { KEYS, prng, rfcSpec, seedFrom } from "./helpers";

type Mode = "wg-quick" | "ifupdown2" | "proxmox" | "none";
const MODES: readonly Mode[] = ["wg-quick", "ifupdown2", "proxmox", "none"];

/** occultist/wg0 of the RFC's fabric, whose peer berserker is reached by name (`berserker:51337`), elementalist by address. */
function occultist(change: (spec: ReturnType<typeof rfcSpec>) => void = () => {}): InterfaceView {
  const spec = rfcSpec();
  change(spec);
  return resolveInterfaces(parseFabricOrThrow(spec)).find((view) => view.id === "occultist/wg0") as InterfaceView;
}

const keys = new Map(Object.entries({ "elementalist/wg0": KEYS.elementalist, "occultist/wg0": KEYS.occultist }));

/** What the node is told to run: the declaration its files make. */
function declaredOf(view: InterfaceView) {
  const files = renderNodeFiles(view, { publicKeys: keys as never });
  return parseDeclaredFiles(files.config, files.stanza);
}

const live = (overrides: Partial<LiveInterface> = {}): LiveInterface => ({ link: { up: true, mtu: 1420 }, peers: [], addresses: [], routes: [], resolved: {}, autoMtu: 1420, ...overrides });

describe("the follower of endpoint names: settings, files, plan, status", () => {
  it("an interface with a peer reached by name gets it by default (30 s), in every mode, reading the config where the mode keeps it", () => {
    const where: Record<Mode, string> = {
      "wg-quick": "/etc/wireguard/wg0.conf",
      none: "/etc/wireguard/wg0.conf",
      ifupdown2: "/etc/wireguard/wg-fabric/wg0.conf",
      proxmox: "/etc/wireguard/wg-fabric/wg0.conf",
    };
    for (const mode of MODES) {
      const declared = declaredOf(occultist((spec) => void (spec.applyMode = mode)));
      assert.deepEqual(declared.endpointRefresh, { interval: 30, config: where[mode] }, mode);
    }
  });

  it("0 turns it off, fabric-wide or on the node; the node's value wins over the fabric's; only names are followed", () => {
    assert.equal(declaredOf(occultist((spec) => void (spec.endpointRefresh = 0))).endpointRefresh, undefined);
    assert.equal(declaredOf(occultist((spec) => void (spec.nodes.occultist.endpointRefresh = 0))).endpointRefresh, undefined);
    assert.equal(declaredOf(occultist((spec) => ((spec.endpointRefresh = 0), (spec.nodes.occultist.endpointRefresh = 90)))).endpointRefresh?.interval, 90);
    assert.equal(declaredOf(occultist((spec) => void (spec.nodes.berserker.endpoint = "192.0.2.9:51337"))).endpointRefresh, undefined);
    // a per-peer override by name is followed too
    const byOverride = occultist((spec) => {
      spec.nodes.berserker.endpoint = "192.0.2.9:51337";
      spec.nodes.occultist.peers.find((peer: { node: string }) => peer.node === "elementalist").endpoint = "elementalist.example.net";
    });
    assert.equal(declaredOf(byOverride).endpointRefresh?.interval, 30);
  });

  it("a bad interval is refused at the boundary, naming the field", () => {
    for (const bad of [-1, 1.5, 86401]) {
      assert.throws(() => parseFabricOrThrow({ ...rfcSpec(), endpointRefresh: bad }), /endpointRefresh: must be 0-86400 seconds/);
    }
    assert.throws(() => parseFabricOrThrow({ ...rfcSpec(), endpointRefresh: "30s" }), /endpointRefresh: must be a number of seconds/);
  });

  it("the plan starts it where none runs, restarts it with other arguments, stops it where none is declared, and leaves a matching one alone", () => {
    const on = declaredOf(occultist());
    const off = declaredOf(occultist((spec) => void (spec.endpointRefresh = 0)));
    const refreshOps = (declared: typeof on, running: LiveInterface) => planSync(declared, running, { mode: "wg-quick" }).ops.filter((op) => op.op === "endpoint-refresh");
    const running = { interval: 30, config: "/etc/wireguard/wg0.conf" };
    assert.deepEqual(refreshOps(on, live()), [{ op: "endpoint-refresh", refresh: running }]);
    assert.deepEqual(refreshOps(on, live({ endpointRefresh: running })), []);
    assert.deepEqual(refreshOps(on, live({ endpointRefresh: { ...running, interval: 60 } })), [{ op: "endpoint-refresh", refresh: running }]);
    assert.deepEqual(refreshOps(off, live({ endpointRefresh: running })), [{ op: "endpoint-refresh" }]);
    assert.deepEqual(refreshOps(off, live()), []);
    // write only: nothing runs live
    assert.deepEqual(planSync(on, live(), { mode: "none" }).ops, []);
    assert.equal(describeOp({ op: "endpoint-refresh", refresh: running }), "the follower of endpoint names does not run every 30 s on /etc/wireguard/wg0.conf");
    assert.equal(describeOp({ op: "endpoint-refresh" }), "a follower of endpoint names runs, and none is declared");
    assert.equal(encodePlan([{ op: "endpoint-refresh", refresh: running }, { op: "endpoint-refresh" }], "wg0").plan, "endpoint-refresh\tstart\t30\t/etc/wireguard/wg0.conf\nendpoint-refresh\tstop\n");
  });

  it("reads what inspect.sh reports of it: the loop's interval and config, and its file's digest", () => {
    const found = parseInspection("refresher-digest\tabc\nrefresh\t45\t/etc/wireguard/wg0.conf\n");
    assert.deepEqual(found.live.endpointRefresh, { interval: 45, config: "/etc/wireguard/wg0.conf" });
    assert.equal(found.refresherDigest, "abc");
    assert.equal(parseInspection("").live.endpointRefresh, undefined);
  });

  it("a name that moved is no drift: the declared name is compared, not the address it gave before", () => {
    const declared = declaredOf(occultist((spec) => void (spec.endpointRefresh = 0)));
    const berserker = declared.peers.find((peer) => peer.publicKey === KEYS.berserker);
    assert.equal(berserker?.endpoint, "berserker:51337");
    // the node resolves the name elsewhere now, and WireGuard sends to the new address (the follower set it) or still to the old one
    for (const endpoint of ["192.0.2.99:51337", "192.0.2.9:51337"]) {
      const running = live({
        peers: [{ publicKey: KEYS.berserker, endpoint, allowedIps: berserker?.allowedIps ?? [], latestHandshake: 0, rxBytes: 0, txBytes: 0 }],
        resolved: { berserker: ["192.0.2.99"] },
        previous: declared,
      });
      const ops = planSync(declared, running, { mode: "wg-quick" }).ops.filter((op) => op.op === "peer" && op.publicKey === KEYS.berserker && op.endpoint !== undefined);
      assert.deepEqual(ops, [], endpoint);
    }
  });

  it("wg-fabric status shows a name with the address it resolves to on the node, an address as it is (seeded: WGF_SEED)", () => {
    const seed = seedFrom("WGF_SEED");
    const random = prng(seed);
    const address = `192.0.2.${1 + Math.floor(random() * 250)}`;
    const exported = JSON.stringify({
      version: 3,
      deployment: {
        resources: [
          {
            urn: "urn:pulumi:lab::p::x::y",
            type: "pulumi-nodejs:dynamic/wireguard-fabric:InterfaceConfig",
            outputs: {
              owner: "vpn/occultist/wg0",
              node: "occultist",
              iface: "wg0",
              peers: { berserker: { publicKey: KEYS.berserker, endpoint: "berserker.example.net:51337" }, "elementalist/wg0": { publicKey: KEYS.elementalist, endpoint: "192.0.2.1:50000" } },
              drift: [],
              status: { state: "up", peers: [{ publicKey: KEYS.berserker, endpoint: `${address}:51337`, latestHandshake: 1, rxBytes: 0, txBytes: 0 }], resolved: { "berserker.example.net": [address] } },
            },
          },
        ],
      },
    });
    const report = statusReport(stackInterfaces(exported), 100);
    const named = report.peerings.find((p) => p.peer === "berserker");
    assert.equal(named?.endpointName, "berserker.example.net:51337", `seed ${seed}`);
    assert.deepEqual(named?.resolvesTo, [address]);
    const table = formatStatusTable(report);
    assert.match(table, new RegExp(`berserker +berserker\\.example\\.net:51337 \\(${address.replace(/\./g, "\\.")}\\) `), `seed ${seed}`);
    assert.match(table, /elementalist\/wg0 +192\.0\.2\.1:50000 /);
  });
});
