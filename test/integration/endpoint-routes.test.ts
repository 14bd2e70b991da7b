import * as assert from "node:assert/strict";
import { Lab } from "../../lab/lab";
import { validateFabric } from "../../provider/fabric";
import { connectionSchema, parseFabricOrThrow, type Connection, type FabricInput } from "../../provider/model";
import { ProviderDriver } from "./provider-driver";

const SUBNET = 24;
/** The lab's underlay; the nodes are .1, .2 and .3 on it, the test's SSH client .254. */
const UNDERLAY = `198.18.${SUBNET}`;
/** A prefix the hub routes for ea: it holds both peers' endpoints, not the SSH client. */
const CAPTURING = `${UNDERLAY}.0/25`;

/**
 * An endpoint inside AllowedIPs, on the lab: ea routes CAPTURING to its peer eb, which holds eb's
 * and ec's endpoints. Validation warns (only the node's routes can tell); the node decides by
 * longest prefix: with a more specific route of ea's own to the endpoints outside the tunnel, up
 * converges and both tunnels pass traffic; without it, ea's run stops before any change, naming
 * each endpoint, the prefix and the route it would beat, and nothing on ea changes.
 */
describe("an endpoint inside AllowedIPs: the node's own routes decide at up", function () {
  this.timeout(300_000);
  const NODES = ["ea", "eb", "ec"] as const;
  let lab: Lab;
  let driver: ProviderDriver;
  const fabric = (capture: boolean): FabricInput => ({
    name: "ends",
    nodes: Object.fromEntries(
      NODES.map((node, i) => [
        node,
        {
          role: "internal" as const,
          endpoint: lab.host(node).ip,
          interfaces: { wg0: { listenPort: 51820, ip: `10.31.0.${i + 1}/24` } },
          peers:
            node === "ea"
              ? [
                  { type: "internal" as const, node: "eb", nodeIface: "wg0", iface: "wg0", ...(capture ? { extraAllowedIps: [CAPTURING] } : {}) },
                  { type: "internal" as const, node: "ec", nodeIface: "wg0", iface: "wg0" },
                ]
              : [{ type: "internal" as const, node: "ea", nodeIface: "wg0", iface: "wg0" }],
        },
      ]),
    ),
  });
  /** What ea runs and has written: a change to any of it is a change on the node (peers without their counters, and no key of the interface's). */
  const snapshot = (): string =>
    ["wg show wg0 listen-port", "wg show wg0 dump | tail -n +2 | awk '{ print $1, $3, $4, $8 }' | sort", "ip -o address show dev wg0", "ip -o route show table main", `sha256sum /etc/wireguard/wg0.conf`].map((command) => lab.nodeExec("ea", "sh", ["-c", command])).join("\n");

  before(async () => {
    lab = await Lab.start([...NODES], { name: "wger", subnet: SUBNET });
    driver = new ProviderDriver(Object.fromEntries(lab.hosts.map((h) => [h.name, connectionSchema.parse(h.connection) as Connection])));
    await driver.converge(parseFabricOrThrow(fabric(false)));
    assert.notEqual(await lab.pingUntilAnswer("ea", "10.31.0.2", 12), undefined, "ea -> eb before");
  });
  after(async () => {
    await driver?.destroy().catch(() => undefined);
    lab?.stop();
  });

  it("validation warns, naming node, peer, endpoint, prefix and why; it does not refuse", () => {
    const problems = validateFabric(parseFabricOrThrow(fabric(true))).map((p) => `${p.severity}: ${p.where}: ${p.message}`);
    assert.ok(problems.length > 0 && problems.every((p) => p.startsWith("warning: ea: wg0: peers[0]: allowedIps: ")), problems.join("\n"));
    assert.ok(problems.some((p) => p.includes(`${CAPTURING} of eb/wg0 covers ${UNDERLAY}.2, the endpoint of eb/wg0`) && p.includes("unless ea routes it more specifically")), problems.join("\n"));
  });

  it("without a more specific route of ea's own, ea's run stops before any change, naming each endpoint, the prefix and the route it would beat", async () => {
    const before = snapshot();
    const run = await driver.converge(parseFabricOrThrow(fabric(true)), false);
    assert.equal(run.errors.length, 1, run.errors.join("\n"));
    const [error] = run.errors as [string];
    assert.match(error, /^ea\/wg0: /);
    for (const peer of ["eb", "ec"] as const) {
      assert.ok(error.includes(`endpoint ${lab.host(peer).ip} of peer`), `names ${peer}'s endpoint: ${error}`);
    }
    assert.ok(error.includes(`would be routed into the interface by ${CAPTURING} (an AllowedIP of peer `), error);
    assert.ok(error.includes(`not by the node's ${UNDERLAY}.0/24 dev eth0`), error);
    assert.match(error, /nothing was changed/);
    assert.equal(snapshot(), before, "nothing on ea changed");
    assert.notEqual(await lab.pingUntilAnswer("ea", "10.31.0.3", 12), undefined, "ea -> ec still");
  });

  it("with ea's own more specific route to the endpoints, up converges and both tunnels pass traffic; WireGuard's packets stay outside", async () => {
    lab.nodeExec("ea", "ip", ["route", "add", `${UNDERLAY}.0/26`, "dev", "eth0"]);
    try {
      const run = await driver.converge(parseFabricOrThrow(fabric(true)), false);
      assert.deepEqual(run.errors, []);
      assert.match(lab.nodeExec("ea", "ip", ["-o", "route", "show", CAPTURING]), /dev wg0/, "the prefix is routed into the tunnel");
      for (const peer of ["eb", "ec"] as const) assert.match(lab.nodeExec("ea", "ip", ["-o", "route", "get", lab.host(peer).ip]), /dev eth0/, `${peer}'s endpoint stays outside`);
      assert.notEqual(await lab.pingUntilAnswer("ea", "10.31.0.2", 12), undefined, "ea -> eb");
      assert.notEqual(await lab.pingUntilAnswer("ea", "10.31.0.3", 12), undefined, "ea -> ec");
      assert.equal((await driver.converge(parseFabricOrThrow(fabric(true)), false)).updated.length, 0, "and nothing left to do");
    } finally {
      await driver.converge(parseFabricOrThrow(fabric(false)), false);
      lab.nodeExec("ea", "ip", ["route", "del", `${UNDERLAY}.0/26`, "dev", "eth0"]);
    }
  });
});
