import * as assert from "node:assert/strict";
import type { DeclaredPeer } from "../../provider/fabric";
import type { WgKey } from "../../provider/model";
import { nodeRouteOf, parseInspection } from "../../provider/remote";
import { capturedEndpoints, planSync, type DeclaredInterface, type NodeRoute } from "../../provider/remote/plan";
import { KEYS, prng, seedFrom } from "./helpers";

const HUB = KEYS.elementalist as WgKey;
const SITE = KEYS.berserker as WgKey;

/** wg0 at 10.40.0.1/24: a hub routing `hubPrefix`, and a site whose endpoint is `siteEndpoint`. */
function fabric(hubPrefix: string, siteEndpoint = "10.9.0.2:51820"): DeclaredInterface {
  const peers: DeclaredPeer[] = [
    { publicKey: HUB, endpoint: "192.0.2.1:51820", allowedIps: ["10.40.0.2/32", hubPrefix] },
    { publicKey: SITE, endpoint: siteEndpoint, allowedIps: ["10.40.0.3/32"] },
  ];
  return { addresses: ["10.40.0.1/24"], peers };
}
const route = (family: 4 | 6, line: string): NodeRoute => nodeRouteOf(family, line) as NodeRoute;
const LAN = route(4, "10.9.0.0/24 dev eth0 proto kernel scope link src 10.9.0.1");
const DEFAULT = route(4, "default via 10.9.0.254 dev eth0");

describe("an endpoint inside AllowedIPs: the node's own routes decide, before any change", () => {
  it("reads the main table's lines as ip -o route prints them", () => {
    assert.deepEqual(
      [
        route(4, "default via 198.18.5.254 dev eth0 onlink"),
        route(4, "10.9.0.0/24 dev eth0 proto kernel scope link src 10.9.0.1"),
        route(4, "198.18.5.3 dev eth0 scope link"),
        route(4, "blackhole 10.0.0.0/8 proto static"),
        route(6, "default via fe80::1 dev vmbr0 metric 1024 onlink pref medium"),
        route(6, "fd00:1::/64 dev vmbr0 proto kernel metric 256 pref medium"),
      ].map((r) => [r.cidr, r.dev ?? "-"]),
      [
        ["0.0.0.0/0", "eth0"],
        ["10.9.0.0/24", "eth0"],
        ["198.18.5.3/32", "eth0"],
        ["10.0.0.0/8", "-"],
        ["::/0", "vmbr0"],
        ["fd00:1::/64", "vmbr0"],
      ],
    );
    assert.equal(nodeRouteOf(4, "garbage line"), undefined);
  });

  it("the README's two outcomes: a LAN route more specific than the hub's prefix keeps the endpoint out; a hub prefix more specific than the LAN captures it", () => {
    assert.deepEqual(capturedEndpoints(fabric("10.0.0.0/8"), [LAN, DEFAULT], {}), []);
    assert.deepEqual(capturedEndpoints(fabric("10.9.0.0/25"), [LAN, DEFAULT], {}), [
      `endpoint 10.9.0.2 of peer ${SITE} would be routed into the interface by 10.9.0.0/25 (an AllowedIP of peer ${HUB}), not by the node's 10.9.0.0/24 dev eth0 proto kernel scope link src 10.9.0.1: ` +
        "WireGuard's own packets to it would enter the tunnel; give the node a more specific route to it outside the tunnel, or narrow the prefix",
    ]);
  });

  it("an equal prefix is ours (ip route replace takes it over); no route of the node's own; a name by its first address; a blackhole of the node's own counts", () => {
    assert.equal(capturedEndpoints(fabric("10.9.0.0/24"), [LAN], {}).length, 1);
    assert.match(capturedEndpoints(fabric("10.0.0.0/8"), [], {})[0] ?? "", /the node having no route of its own to it/);
    assert.deepEqual(capturedEndpoints(fabric("10.9.0.0/25", "site.example.net:51820"), [LAN], { "site.example.net": ["10.9.0.2", "192.0.2.9"] }).map((m) => m.slice(0, 41)), [
      "endpoint 10.9.0.2 (site.example.net) of p",
    ]);
    assert.deepEqual(capturedEndpoints(fabric("10.9.0.0/25", "site.example.net:51820"), [LAN], { "site.example.net": ["192.0.2.9", "10.9.0.2"] }), [], "wg takes the first address");
    assert.deepEqual(capturedEndpoints(fabric("10.9.0.0/25", "site.example.net:51820"), [LAN], {}), [], "a name the node cannot resolve is left unset (the plan says so)");
    assert.deepEqual(capturedEndpoints(fabric("10.9.0.0/25"), [route(4, "blackhole 10.9.0.0/26")], {}), []);
  });

  it("a full tunnel's default route never captures (it lives in a table of its own); the interface's own subnet does", () => {
    assert.deepEqual(capturedEndpoints(fabric("0.0.0.0/0"), [DEFAULT], {}), []);
    assert.match(capturedEndpoints(fabric("10.8.0.0/16", "10.40.0.9:51820"), [DEFAULT], {})[0] ?? "", /by 10\.40\.0\.0\/24 \(the interface's own subnet\)/);
  });

  it("planSync refuses, from what inspect.sh reported, before any step", () => {
    const inspected = parseInspection(["main-route\t4\t10.9.0.0/24 dev eth0 proto kernel scope link src 10.9.0.1", "main-route\t4\tdefault via 10.9.0.254 dev eth0", ""].join("\n"));
    assert.equal(inspected.live.mainRoutes?.length, 2);
    assert.deepEqual(planSync(fabric("10.0.0.0/8"), inspected.live, { mode: "wg-quick" }).refusals, []);
    assert.match(planSync(fabric("10.9.0.0/25"), inspected.live, { mode: "wg-quick" }).refusals.join(), /^endpoint 10\.9\.0\.2 of peer/);
  });

  it("agrees with a longest-prefix model on seeded random routes (IPv4 and IPv6)", () => {
    const seed = seedFrom("WGF_ENDPOINT_SEED");
    const random = prng(seed);
    const int = (n: number) => Math.floor(random() * n);
    // the model: an address and a prefix as bit strings; a prefix holds an address when it is its start
    const bits4 = (text: string) => text.split(".").map((part) => Number(part).toString(2).padStart(8, "0")).join("");
    const holds = (prefix: string, address: string) => {
      const [net, length] = prefix.split("/") as [string, string];
      return bits4(address).slice(0, Number(length)) === bits4(net).slice(0, Number(length));
    };
    const prefixOf = (address: string, length: number) => {
      const bits = bits4(address).slice(0, length).padEnd(32, "0");
      return `${[0, 8, 16, 24].map((at) => parseInt(bits.slice(at, at + 8), 2)).join(".")}/${length}`;
    };
    for (let round = 0; round < 300; round++) {
      const address = `10.${int(2)}.${int(4)}.${int(8)}`;
      const near = () => `10.${int(2)}.${int(4)}.${int(8)}`;
      const hub = prefixOf(random() < 0.7 ? address : near(), 8 + int(25));
      const own = Array.from({ length: int(4) }, () => prefixOf(random() < 0.6 ? address : near(), 8 + int(25)));
      const longest = (prefixes: string[]) => Math.max(-1, ...prefixes.filter((p) => holds(p, address)).map((p) => Number(p.split("/")[1])));
      const ours = longest([hub, "10.40.0.0/24", "10.40.0.2/32", "10.40.0.3/32"]);
      const expected = ours >= 0 && ours >= longest(own);
      const got = capturedEndpoints(fabric(hub, `${address}:51820`), own.map((p) => route(4, `${p} dev eth0`)), {});
      assert.equal(got.length === 1, expected, `seed ${seed} (replay with WGF_ENDPOINT_SEED=${seed}), round ${round}: ${address} hub ${hub} own ${own.join(" ")}: ${got.join()}`);
    }
    const six: DeclaredInterface = { addresses: ["fd40:1::1/64"], peers: [{ publicKey: HUB, allowedIps: ["fd00::/16"] }, { publicKey: SITE, endpoint: "[fd00:9::2]:51820", allowedIps: [] }] };
    assert.equal(capturedEndpoints(six, [route(6, "fd00:9::/64 dev eth0 proto kernel")], {}).length, 0);
    assert.equal(capturedEndpoints(six, [route(6, "fd00::/8 dev eth0")], {}).length, 1);
  });
});
