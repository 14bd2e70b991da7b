import * as assert from "node:assert/strict";
import { Lab } from "../../lab/lab";
import { DEFAULT_KEY_DIR, connectionSchema, parseFabricOrThrow, type Connection, type FabricInput } from "../../provider/model";
import { ProviderDriver } from "./provider-driver";

/**
 * Routing as WireGuard routes, on the lab: a client whose wg0 has a hub routing a summary
 * (10.20.0.0/16), a spoke routing a subnet of it (10.20.2.0/24) and a gateway taking its default
 * traffic (0.0.0.0/0, a full tunnel), all beside each other. Which peer a packet leaves through
 * is read from the client's per-peer transfer counters, not only from answered pings.
 */
describe("routing by the longest prefix: a hub's summary, a spoke's subnet of it, a full-tunnel gateway beside them", function () {
  this.timeout(300_000);
  const NODES = ["client", "hub", "spoke", "gateway"] as const;
  /** An address of each peer's own, behind its tunnel (on its loopback). */
  const BEHIND = { hub: "10.20.9.1", spoke: "10.20.2.1", gateway: "10.250.0.1" } as const;
  let lab: Lab;
  let driver: ProviderDriver;
  const fabric = (fullTunnel: boolean): FabricInput => ({
    name: "routes",
    nodes: Object.fromEntries(
      NODES.map((node, i) => [
        node,
        {
          role: "internal" as const,
          endpoint: lab.host(node).ip,
          allowedIps: node === "hub" ? ["10.20.0.0/16"] : node === "spoke" ? ["10.20.2.0/24"] : [],
          interfaces: { wg0: { listenPort: 51820, ip: `10.30.0.${i + 1}/24` } },
          ...(node === "client" ? { fullTunnel } : {}),
          peers:
            node === "client"
              ? [
                  { type: "internal" as const, node: "hub", nodeIface: "wg0", iface: "wg0" },
                  { type: "internal" as const, node: "spoke", nodeIface: "wg0", iface: "wg0" },
                  { type: "internal" as const, node: "gateway", nodeIface: "wg0", iface: "wg0", ...(fullTunnel ? { extraAllowedIps: ["0.0.0.0/0"] } : {}) },
                ]
              : [{ type: "internal" as const, node: "client", nodeIface: "wg0", iface: "wg0" }],
        },
      ]),
    ),
  });
  /** Bytes the client has sent to each peer so far, by peer node. */
  const sent = (): Record<string, number> => {
    const byKey = new Map(lab.nodeExec("client", "wg", ["show", "wg0", "transfer"]).trim().split("\n").map((line) => line.split("\t") as [string, string, string]).map(([key, , tx]) => [key, Number(tx)]));
    return Object.fromEntries((["hub", "spoke", "gateway"] as const).map((node) => [node, byKey.get(lab.readNodeFile(node, `${DEFAULT_KEY_DIR}/wg0.pub`).trim()) ?? 0]));
  };
  /** Which peers carried a ping from the client to `address` (the one whose counter grew by the pings). */
  const carriers = async (address: string): Promise<string[]> => {
    const before = sent();
    assert.notEqual(await lab.pingUntilAnswer("client", address, 12), undefined, `client -> ${address} answered`);
    assert.ok(lab.ping("client", address, 5) >= 4, `client -> ${address}`);
    const after = sent();
    return Object.keys(after).filter((node) => (after[node] as number) - (before[node] as number) >= 5 * 84);
  };
  const rules = () => lab.nodeExec("client", "ip", ["-4", "rule", "show"]);
  /** wg-quick's firewall of the client's full tunnel as nft lists it, empty when there is none. */
  const firewall = (): string => (lab.nodeExec("client", "nft", ["list", "tables"]).includes("wg-quick-wg0") ? lab.nodeExec("client", "nft", ["list", "table", "ip", "wg-quick-wg0"]) : "");
  const srcValidMark = (): string => lab.nodeExec("client", "sysctl", ["-n", "net.ipv4.conf.all.src_valid_mark"]).trim();

  before(async () => {
    lab = await Lab.start([...NODES], { name: "wgfr", subnet: 16 });
    for (const [node, address] of Object.entries(BEHIND)) lab.nodeExec(node, "ip", ["address", "add", `${address}/32`, "dev", "lo"]);
    const connections: Record<string, Connection> = Object.fromEntries(lab.hosts.map((h) => [h.name, connectionSchema.parse(h.connection)]));
    driver = new ProviderDriver(connections);
  });
  after(async () => {
    await driver?.destroy().catch(() => undefined);
    lab?.stop();
  });

  it("the spoke's subnet leaves through the spoke, the rest of the summary through the hub (one interface, WireGuard's own lookup)", async () => {
    await driver.converge(parseFabricOrThrow(fabric(false)));
    assert.deepEqual(await carriers(BEHIND.spoke), ["spoke"]);
    assert.deepEqual(await carriers(BEHIND.hub), ["hub"]);
    assert.doesNotMatch(rules(), /lookup 51820/, "no full tunnel yet: no policy routing");
    assert.equal(firewall(), "", "nor wg-quick's firewall");
    lab.nodeExec("client", "sysctl", ["-q", "net.ipv4.conf.all.src_valid_mark=0"]);
  });

  it("a full-tunnel gateway beside them: default traffic leaves through it, the more specific prefixes still through theirs, the SSH session stays up", async () => {
    const run = await driver.converge(parseFabricOrThrow(fabric(true)));
    assert.deepEqual(run.updated, ["client/wg0"], "only the client's interface changes");
    assert.match(rules(), /not from all fwmark 0xca6c lookup 51820/);
    assert.match(rules(), /from all lookup main suppress_prefixlength 0/);
    assert.equal(lab.nodeExec("client", "wg", ["show", "wg0", "fwmark"]).trim(), "0xca6c");
    assert.match(lab.nodeExec("client", "ip", ["-4", "route", "show", "table", "51820"]), /^default dev wg0/m);
    // wg-quick's add_default: UDP marks kept in the connection, the tunnel's address guarded, source marks valid
    assert.match(firewall(), /iifname != "wg0" ip daddr 10\.30\.0\.1 fib saddr type != local drop/);
    assert.match(firewall(), /meta l4proto udp meta mark 0x0000ca6c ct mark set meta mark/);
    assert.match(firewall(), /meta l4proto udp meta mark set ct mark/);
    assert.equal(srcValidMark(), "1");
    assert.deepEqual(await carriers(BEHIND.gateway), ["gateway"]);
    assert.deepEqual(await carriers(BEHIND.spoke), ["spoke"]);
    assert.deepEqual(await carriers(BEHIND.hub), ["hub"]);
    // the next converge reaches the client over SSH and finds nothing to do
    const again = await driver.converge(parseFabricOrThrow(fabric(true)));
    assert.deepEqual({ drift: again.drift, updated: again.updated }, { drift: {}, updated: [] });
  });

  it("what up set up is what the boot unit makes: after a reboot (wg-quick@wg0) nothing differs", async () => {
    const live = { rules: rules(), firewall: firewall(), srcValidMark: srcValidMark() };
    await lab.reboot("client");
    assert.deepEqual({ rules: rules(), firewall: firewall(), srcValidMark: srcValidMark() }, live, "the boot's rules, firewall and sysctl are what up installed live");
    assert.deepEqual(await carriers(BEHIND.gateway), ["gateway"]);
    assert.deepEqual(await carriers(BEHIND.spoke), ["spoke"]);
    const run = await driver.converge(parseFabricOrThrow(fabric(true)));
    assert.deepEqual({ drift: run.drift, updated: run.updated }, { drift: {}, updated: [] });
  });

  it("the default route taken away: mark, rules, table route and firewall go with it (src_valid_mark stays, as wg-quick down leaves it)", async () => {
    await driver.converge(parseFabricOrThrow(fabric(false)));
    assert.equal(firewall(), "");
    assert.equal(srcValidMark(), "1");
    assert.doesNotMatch(rules(), /lookup 51820|suppress_prefixlength/);
    assert.equal(lab.nodeExec("client", "wg", ["show", "wg0", "fwmark"]).trim(), "off");
    assert.equal(lab.nodeExec("client", "ip", ["-4", "route", "show", "table", "51820"]).trim(), "");
    assert.equal(lab.ping("client", BEHIND.gateway, 2), 0, "no route to the gateway's network any more");
    assert.deepEqual(await carriers(BEHIND.spoke), ["spoke"]);
  });

  it("a full tunnel destroyed: its rules and firewall go with the interface (wg-quick down)", async () => {
    await driver.converge(parseFabricOrThrow(fabric(true)));
    assert.notEqual(firewall(), "");
    await driver.destroy();
    assert.equal(firewall(), "");
    assert.doesNotMatch(rules(), /lookup 51820|suppress_prefixlength/);
  });
});
