import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { type DeclaredInterface, type LiveInterface, type LivePeer, type LivePolicy, parseDeclared, planSync, type PolicyRule, presharedKeyDigest, type SyncOp } from "../../provider/remote/plan";
import { type DeclaredPeer } from "../../provider/fabric";
import type { WgKey } from "../../provider/model";
import { encodePlan, parseInspection } from "../../provider/remote";
import { KEYS, prng, seedFrom } from "./helpers";

const PSK = "cGxhbnRlZC1wcmVzaGFyZWQta2V5LTMyLWJ5dGVzIT0=" as WgKey;
const OWN = KEYS.occultist;

function live(overrides: Partial<LiveInterface> = {}): LiveInterface {
  return {
    link: { up: true, mtu: 1420 },
    publicKey: OWN,
    listenPort: 50000,
    peers: [],
    addresses: ["198.51.100.2/24"],
    routes: [],
    resolved: {},
    autoMtu: 1420,
    ...overrides,
  };
}

function livePeer(publicKey: string, overrides: Partial<LivePeer> = {}): LivePeer {
  return { publicKey, allowedIps: [], latestHandshake: 0, rxBytes: 0, txBytes: 0, ...overrides };
}

function declared(peers: DeclaredPeer[], overrides: Partial<DeclaredInterface> = {}): DeclaredInterface {
  return { listenPort: 50000, addresses: ["198.51.100.2/24"], peers, ...overrides };
}

const plan = (d: DeclaredInterface, l: LiveInterface, mode: "wg-quick" | "ifupdown2" | "none" = "wg-quick") => planSync(d, l, { mode, publicKey: OWN }).ops;

describe("planSync: the steps that make the running interface equal the declaration", () => {
  const elementalist: DeclaredPeer = { publicKey: KEYS.elementalist as WgKey, endpoint: "192.0.2.1:50000", allowedIps: ["198.51.100.1/32", "10.234.0.0/16"] };
  const elementalistLive = livePeer(KEYS.elementalist, { endpoint: "192.0.2.1:50000", allowedIps: ["198.51.100.1/32", "10.234.0.0/16"] });

  it("is empty when the node already matches", () => {
    assert.deepEqual(plan(declared([elementalist]), live({ peers: [elementalistLive], routes: ["10.234.0.0/16"] })), []);
  });

  it("narrowing an allowed network replaces the route before deleting the wider one (no gap, no clear-text leak)", () => {
    const narrowed = { ...elementalist, allowedIps: ["198.51.100.1/32", "10.234.0.0/24"] };
    assert.deepEqual(plan(declared([narrowed]), live({ peers: [elementalistLive], routes: ["10.234.0.0/16"] })), [
      { op: "peer", publicKey: KEYS.elementalist, allowedIps: ["198.51.100.1/32", "10.234.0.0/24"] },
      { op: "route-replace", cidr: "10.234.0.0/24" },
      { op: "route-del", cidr: "10.234.0.0/16" },
    ]);
  });

  it("a removed pre-shared key and keepalive are cleared explicitly, nothing else of the peer is touched", () => {
    const running = livePeer(KEYS.elementalist, { ...elementalistLive, presharedKeyDigest: presharedKeyDigest(PSK), persistentKeepalive: 25 });
    assert.deepEqual(plan(declared([elementalist]), live({ peers: [running], routes: ["10.234.0.0/16"] })), [
      { op: "peer", publicKey: KEYS.elementalist, presharedKey: null, persistentKeepalive: 0 },
    ]);
    const withPsk = { ...elementalist, presharedKey: PSK, persistentKeepalive: 25 };
    assert.deepEqual(plan(declared([withPsk]), live({ peers: [elementalistLive], routes: ["10.234.0.0/16"] })), [
      { op: "peer", publicKey: KEYS.elementalist, presharedKey: PSK, persistentKeepalive: 25 },
    ]);
    assert.deepEqual(plan(declared([withPsk]), live({ peers: [running], routes: ["10.234.0.0/16"] })), [], "same key: no step");
  });

  it("a removed endpoint re-adds the peer (WireGuard cannot unset one); an endpoint the peer roamed to or taught us is kept", () => {
    const noEndpoint = { ...elementalist, endpoint: undefined };
    const previous = declared([elementalist]);
    assert.deepEqual(plan(declared([noEndpoint]), live({ peers: [elementalistLive], routes: ["10.234.0.0/16"], previous })), [
      { op: "peer-remove", publicKey: KEYS.elementalist },
      { op: "peer", publicKey: KEYS.elementalist, allowedIps: ["198.51.100.1/32", "10.234.0.0/16"] },
    ]);
    const learned = declared([noEndpoint]);
    assert.deepEqual(plan(learned, live({ peers: [elementalistLive], routes: ["10.234.0.0/16"], previous: learned })), [], "learned from a handshake");
    const roamed = livePeer(KEYS.elementalist, { ...elementalistLive, endpoint: "192.0.2.77:41000" });
    assert.deepEqual(plan(declared([elementalist]), live({ peers: [roamed], routes: ["10.234.0.0/16"], previous })), [], "roamed, declaration unchanged");
    const moved = { ...elementalist, endpoint: "192.0.2.9:50000" };
    assert.deepEqual(plan(declared([moved]), live({ peers: [roamed], routes: ["10.234.0.0/16"], previous })), [
      { op: "peer", publicKey: KEYS.elementalist, endpoint: "192.0.2.9:50000" },
    ]);
  });

  it("hostname endpoints are compared by what they resolve to on the node; an unresolvable one never blocks the rest", () => {
    const named = { ...elementalist, endpoint: "elementalist.example:50000" };
    const resolved = { "elementalist.example": ["192.0.2.1", "2001:db8::1"] };
    assert.deepEqual(plan(declared([named]), live({ peers: [elementalistLive], routes: ["10.234.0.0/16"], resolved })), []);
    const berserker: DeclaredPeer = { publicKey: KEYS.berserker as WgKey, endpoint: "berserker:51337", allowedIps: ["203.0.113.0/25"] };
    const result = planSync(declared([named, berserker]), live({ peers: [elementalistLive], routes: ["10.234.0.0/16"], resolved }), { mode: "wg-quick", publicKey: OWN });
    assert.deepEqual(result.ops, [
      { op: "peer", publicKey: KEYS.berserker, allowedIps: ["203.0.113.0/25"] },
      { op: "route-replace", cidr: "203.0.113.0/25" },
    ]);
    assert.deepEqual(result.notes, [`peer ${KEYS.berserker}: endpoint berserker:51337 does not resolve on the node; left unset until it does`]);
  });

  it("a new IPv4 address puts back the IPv4 routes Linux drops with the last old address (IPv6 routes stay)", () => {
    const running = live({ addresses: ["198.51.100.2/24", "fd00::2/64"], peers: [elementalistLive], routes: ["10.234.0.0/16", "fd20::/64"] });
    const moved = { ...elementalist, allowedIps: [...elementalist.allowedIps, "fd20::/64"] };
    assert.deepEqual(plan(declared([moved], { addresses: ["198.51.100.12/24", "fd00::2/64"] }), { ...running, peers: [{ ...elementalistLive, allowedIps: moved.allowedIps }] }), [
      { op: "addr-del", cidr: "198.51.100.2/24" },
      { op: "addr-add", cidr: "198.51.100.12/24" },
      { op: "route-replace", cidr: "10.234.0.0/16" },
    ]);
  });

  it("refuses a route or subnet that would take the SSH session's own address into the tunnel", () => {
    const wide = { ...elementalist, allowedIps: ["198.51.100.1/32", "10.0.0.0/8"] };
    const result = planSync(declared([wide]), live({ peers: [elementalistLive], sshClient: "10.20.30.40" }), { mode: "wg-quick", publicKey: OWN });
    assert.deepEqual(result.refusals, ["10.0.0.0/8 would route 10.20.30.40, where this SSH session comes from, into the tunnel and cut the node off"]);
    const onTheLan = planSync(declared([elementalist], { addresses: ["10.20.30.2/24"] }), live({ peers: [elementalistLive], sshClient: "10.20.30.40" }), { mode: "wg-quick" });
    assert.deepEqual(onTheLan.refusals, ["10.20.30.0/24 would route 10.20.30.40, where this SSH session comes from, into the tunnel and cut the node off"]);
    assert.deepEqual(planSync(declared([elementalist]), live({ peers: [elementalistLive], routes: ["10.234.0.0/16"], sshClient: "10.20.30.40" }), { mode: "wg-quick", publicKey: OWN }).refusals, []);
  });

  it("IPv6: routes by exact prefix per family, host routes inside the interface's subnet left to the kernel", () => {
    const peer: DeclaredPeer = { publicKey: KEYS.elementalist as WgKey, endpoint: "[2001:db8::1]:50000", allowedIps: ["fd00::1/128", "fd20:1::/64", "10.9.0.0/24"] };
    const running = live({
      addresses: ["fd00::2/64"],
      peers: [livePeer(KEYS.elementalist, { endpoint: "[2001:db8::1]:50000", allowedIps: ["fd00::1/128", "fd20::/48", "10.9.0.0/24"] })],
      routes: ["fd20::/48", "10.9.0.0/24", "fd00::1/128"],
    });
    assert.deepEqual(plan(declared([peer], { addresses: ["fd00::2/64"] }), running), [
      { op: "peer", publicKey: KEYS.elementalist, allowedIps: ["fd00::1/128", "fd20:1::/64", "10.9.0.0/24"] },
      { op: "route-replace", cidr: "fd20:1::/64" },
      { op: "route-del", cidr: "fd20::/48" },
      { op: "route-del", cidr: "fd00::1/128" },
    ]);
  });

  it("a default route beside other peers: wg-quick's policy routing in (mark, table route, the two rules per family), and out again when it goes", () => {
    const gateway: DeclaredPeer = { publicKey: KEYS.berserker as WgKey, endpoint: "192.0.2.9:51820", allowedIps: ["0.0.0.0/0", "10.9.0.0/24"] };
    const gatewayLive = livePeer(KEYS.berserker, { endpoint: "192.0.2.9:51820", allowedIps: ["0.0.0.0/0", "10.9.0.0/24"] });
    const before = live({ peers: [elementalistLive], routes: ["10.234.0.0/16"], policy: { rules: [], tableRoutes: [], busyTables: [51820] } });
    const into = plan(declared([elementalist, gateway]), before);
    assert.deepEqual(into, [
      { op: "peer", publicKey: KEYS.berserker, endpoint: "192.0.2.9:51820", allowedIps: ["0.0.0.0/0", "10.9.0.0/24"] },
      { op: "route-replace", cidr: "10.9.0.0/24" },
      { op: "fwmark", mark: 51821 },
      { op: "table-route-replace", table: 51821, cidr: "0.0.0.0/0" },
      { op: "rule-add", rule: { family: 4, kind: "fwmark", table: 51821 } },
      { op: "rule-add", rule: { family: 4, kind: "suppress" } },
    ], "table 51820 holds routes already: the next one, as wg-quick picks it");
    const tunnel: LivePolicy = {
      fwmark: 51821,
      rules: [{ family: 4, kind: "fwmark", table: 51821 }, { family: 4, kind: "suppress" }],
      tableRoutes: [{ table: 51821, cidr: "0.0.0.0/0" }],
      busyTables: [51820, 51821],
    };
    const running = live({ peers: [elementalistLive, gatewayLive], routes: ["10.234.0.0/16", "10.9.0.0/24"], policy: tunnel });
    assert.deepEqual(plan(declared([elementalist, gateway]), running), [], "in place: nothing to do");
    assert.deepEqual(plan(declared([elementalist, { ...gateway, allowedIps: ["10.9.0.0/24"] }]), running), [
      { op: "peer", publicKey: KEYS.berserker, allowedIps: ["10.9.0.0/24"] },
      { op: "rule-del", rule: { family: 4, kind: "fwmark", table: 51821 } },
      { op: "rule-del", rule: { family: 4, kind: "suppress" } },
      { op: "table-route-del", table: 51821, cidr: "0.0.0.0/0" },
      { op: "fwmark", mark: 0 },
    ]);
    assert.deepEqual(encodePlan([{ op: "fwmark", mark: 51821 }, { op: "table-route-replace", table: 51821, cidr: "::/0" }, { op: "rule-add", rule: { family: 6, kind: "fwmark", table: 51821 } }, { op: "rule-del", rule: { family: 6, kind: "suppress" } }], "wg0").plan,
      "fwmark\t51821\nip\ttable-route-replace=51821=::/0\nrule\tadd\t6\tfwmark\t51821\nrule\tdel\t6\tsuppress\n");
  });

  it("a full tunnel's address changing: the table's default route, gone with the last old IPv4 address, is added back (seed 859673 of the integration model)", () => {
    const gateway: DeclaredPeer = { publicKey: KEYS.berserker as WgKey, endpoint: "192.0.2.9:51820", allowedIps: ["0.0.0.0/0"] };
    const tunnel: LivePolicy = {
      fwmark: 51820,
      rules: [{ family: 4, kind: "fwmark", table: 51820 }, { family: 4, kind: "suppress" }],
      tableRoutes: [{ table: 51820, cidr: "0.0.0.0/0" }],
      busyTables: [51820],
    };
    const running = live({ peers: [livePeer(KEYS.berserker, { endpoint: "192.0.2.9:51820", allowedIps: ["0.0.0.0/0"] })], policy: tunnel });
    assert.deepEqual(plan(declared([gateway], { addresses: ["198.51.100.12/24"] }), running), [
      { op: "addr-del", cidr: "198.51.100.2/24" },
      { op: "addr-add", cidr: "198.51.100.12/24" },
      { op: "table-route-replace", table: 51820, cidr: "0.0.0.0/0" },
    ]);
  });

  it("a full tunnel is refused when the main table reaches the SSH session's address by its default route only", () => {
    const gateway: DeclaredPeer = { publicKey: KEYS.berserker as WgKey, allowedIps: ["0.0.0.0/0"] };
    const viaDefault = live({ sshClient: "203.0.113.50", policy: { rules: [], tableRoutes: [], busyTables: [], sshMainRoutes: ["default"] } });
    assert.deepEqual(planSync(declared([gateway]), viaDefault, { mode: "wg-quick", publicKey: OWN }).refusals, [
      "0.0.0.0/0 would take 203.0.113.50, where this SSH session comes from, into the tunnel (the main table reaches it by its default route only) and cut the node off",
    ]);
    const onLan = live({ sshClient: "198.18.0.254", policy: { rules: [], tableRoutes: [], busyTables: [], sshMainRoutes: ["default", "198.18.0.0/24"] } });
    assert.deepEqual(planSync(declared([gateway]), onLan, { mode: "wg-quick", publicKey: OWN }).refusals, [], "a more specific route keeps it outside");
  });

  it("a missing link is created and filled step by step (wg-quick), brought up by ifup (ifupdown2), left alone (none)", () => {
    const absent = live({ link: undefined, publicKey: undefined, listenPort: undefined, addresses: [], unit: "disabled", autoMtu: 1380 });
    assert.deepEqual(plan(declared([elementalist]), absent), [
      { op: "link-add" },
      { op: "private-key" },
      { op: "listen-port", port: 50000 },
      { op: "mtu", mtu: 1380 },
      { op: "addr-add", cidr: "198.51.100.2/24" },
      { op: "link-up" },
      { op: "peer", publicKey: KEYS.elementalist, endpoint: "192.0.2.1:50000", allowedIps: ["198.51.100.1/32", "10.234.0.0/16"] },
      { op: "route-replace", cidr: "10.234.0.0/16" },
      { op: "unit-enable" },
    ]);
    assert.deepEqual(plan(declared([elementalist]), absent, "ifupdown2"), [{ op: "ifup" }]);
    assert.deepEqual(plan(declared([elementalist]), absent, "none"), []);
  });

  it("adds and changes come before removals; an address moves out before the new one comes in", () => {
    const stranger = livePeer(KEYS.berserker, { allowedIps: ["10.234.0.0/16"] });
    assert.deepEqual(plan(declared([elementalist], { addresses: ["198.51.100.12/24"], mtu: 1400 }), live({ peers: [stranger], routes: ["10.234.0.0/16"] })), [
      { op: "mtu", mtu: 1400 },
      { op: "addr-del", cidr: "198.51.100.2/24" },
      { op: "addr-add", cidr: "198.51.100.12/24" },
      { op: "peer", publicKey: KEYS.elementalist, endpoint: "192.0.2.1:50000", allowedIps: ["198.51.100.1/32", "10.234.0.0/16"] },
      { op: "peer-remove", publicKey: KEYS.berserker },
      { op: "route-replace", cidr: "10.234.0.0/16" },
    ]);
  });

  it("the plan on the wire: one wg set for consecutive peers, one ip -batch for addresses and routes, pre-shared keys by record", () => {
    const { plan: text, presharedKeys } = encodePlan([
      { op: "listen-port", port: 50001, previous: 50000 },
      { op: "addr-del", cidr: "198.51.100.2/24" },
      { op: "addr-add", cidr: "198.51.100.12/24" },
      { op: "link-up" },
      { op: "peer", publicKey: KEYS.elementalist, presharedKey: PSK, persistentKeepalive: 0, allowedIps: [] },
      { op: "peer-remove", publicKey: KEYS.berserker },
      { op: "peer", publicKey: KEYS.berserker, presharedKey: null, endpoint: "[2001:db8::1]:51337" },
      { op: "route-replace", cidr: "10.9.0.0/24" },
      { op: "route-del", cidr: "fd20::/48" },
    ], "wg0");
    assert.equal(
      text,
      [
        "listen-port\t50001\t50000",
        "ip\taddr-del=198.51.100.2/24\taddr-add=198.51.100.12/24",
        "link-up",
        `wg\tpeer=${KEYS.elementalist}\tpsk=0\tkeepalive=off\tallowed=\tpeer=${KEYS.berserker}\tremove`,
        `wg\tpeer=${KEYS.berserker}\tpsk=-\tendpoint=[2001:db8::1]:51337`,
        "ip\troute-replace=10.9.0.0/24\troute-del=fd20::/48",
        "",
      ].join("\n"),
    );
    assert.deepEqual(presharedKeys, [PSK]);
    assert.ok(!text.includes(PSK));
  });
});

describe("parseInspection: what inspect.sh reports", () => {
  it("reads ip -j and wg show dump records; only our routes count, host routes get their prefix", () => {
    const text = [
      "key\tpresent",
      `pub\t${OWN}`,
      "digest\tabc",
      "ours\tyes",
      "conf\t# Managed by pulumi-wireguard-fabric for vpn/occultist/wg0: changes here are overwritten.",
      "conf\t[Interface]",
      "conf\tListenPort = 50000",
      "conf\t[Peer]",
      `conf\tPublicKey = ${KEYS.elementalist}`,
      "conf\tEndpoint = 192.0.2.1:50000",
      `link\t[{"ifindex":5,"ifname":"wg0","flags":["POINTOPOINT","NOARP","UP","LOWER_UP"],"mtu":1380}]`,
      `addr\t[{"ifname":"wg0","addr_info":[{"family":"inet","local":"198.51.100.2","prefixlen":24,"scope":"global"},{"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}]`,
      `route4\t[{"dst":"198.51.100.0/24","protocol":"kernel","scope":"link"},{"dst":"10.234.0.0/24","scope":"link","flags":[]},{"dst":"10.1.0.0/16","protocol":"bgp"},{"dst":"198.51.100.9","scope":"link"}]`,
      `route6\t[{"dst":"fd20::/64","protocol":"boot"},{"dst":"fe80::/64","protocol":"kernel"},{"dst":"fd00::9","protocol":"static"}]`,
      "listen\t50000",
      `public\t${OWN}`,
      `peer\t${KEYS.elementalist}\t${presharedKeyDigest(PSK)}\t192.0.2.1:50000\t198.51.100.1/32,10.234.0.0/24\t1700000000\t10\t20\t25`,
      `peer\t${KEYS.berserker}\t(none)\t(none)\t(none)\t0\t0\t0\toff`,
      "unit\tdisabled",
      "path\t192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \\    cache ",
      "path\t192.0.2.9 via 192.0.2.1 dev eth1 src 192.0.2.2 uid 0 \\    cache ",
      "path\t192.0.2.7 dev eth0 src 192.0.2.2 uid 0 \\    cache expires 300sec mtu 1280",
      "resolved\tberserker\t",
      "default\tdefault via 192.0.2.1 dev eth0",
      `links\t[{"ifname":"eth0","mtu":1500},{"ifname":"eth1","mtu":9000}]`,
    ].join("\n");
    const found = parseInspection(text);
    assert.deepEqual(found.live.link, { up: true, mtu: 1380 });
    assert.deepEqual(found.live.addresses, ["198.51.100.2/24"]);
    assert.deepEqual(found.live.routes, ["10.234.0.0/24", "198.51.100.9/32", "fd20::/64", "fd00::9/128"]);
    assert.deepEqual(found.live.peers[0], {
      publicKey: KEYS.elementalist,
      presharedKeyDigest: presharedKeyDigest(PSK),
      endpoint: "192.0.2.1:50000",
      allowedIps: ["198.51.100.1/32", "10.234.0.0/24"],
      persistentKeepalive: 25,
      latestHandshake: 1700000000,
      rxBytes: 10,
      txBytes: 20,
    });
    assert.deepEqual(found.live.peers[1], livePeer(KEYS.berserker));
    assert.equal(found.live.unit, "disabled");
    assert.equal(found.live.autoMtu, 9000 - 80, "the largest path MTU towards the endpoints, minus 80");
    assert.deepEqual(found.live.resolved, { berserker: [] });
    assert.deepEqual(found.live.previous?.peers.map((p) => p.endpoint), ["192.0.2.1:50000"]);
    assert.equal(found.configDigest, "abc");
    assert.equal(parseInspection(`key\tabsent\ndefault\tdefault via 192.0.2.1 dev eth1\nlinks\t[{"ifname":"eth1","mtu":9000}]\n`).live.autoMtu, 8920, "no endpoint: the default route's");
    assert.equal(parseInspection("key\tabsent\n").live.autoMtu, 1420, "nothing known: 1500 - 80");
    assert.equal(parseInspection("key\tabsent\n").live.link, undefined);
  });
});

describe("parseInspection: a full tunnel's policy routing, as ip -j and wg print it", () => {
  it("reads the mark, both kinds of rule (ip's own JSON), routes in other tables and the tables in use", () => {
    const records = [
      "fwmark\t0xca6c",
      'rule4\t[{"priority":0,"src":"all","table":"local"},{"priority":32764,"not":null,"src":"all","fwmark":"0xca6c","table":"51820"},{"priority":32765,"src":"all","table":"main","suppress_prefixlen":0},{"priority":32766,"src":"all","table":"main"}]',
      "rule6\t[]",
      'route4\t[{"dst":"10.9.0.0/24","protocol":"boot","scope":"link","flags":[]},{"type":"unicast","dst":"default","table":"51820","protocol":"boot","scope":"link","flags":[]},{"type":"local","dst":"10.30.0.1","table":"local"}]',
      "route6\t[]",
      "tables\t51820 51821 ",
      "ssh-client\t198.18.0.254",
      'ssh-routes\t[{"dst":"198.18.0.0/24","dev":"eth0"}]',
    ];
    assert.deepEqual(parseInspection(records.join("\n")).live.policy, {
      fwmark: 51820,
      rules: [{ family: 4, kind: "fwmark", table: 51820 }, { family: 4, kind: "suppress" }],
      tableRoutes: [{ table: 51820, cidr: "0.0.0.0/0" }],
      busyTables: [51820, 51821],
      sshMainRoutes: ["198.18.0.0/24"],
    });
    assert.deepEqual(parseInspection(records.join("\n")).live.routes, ["10.9.0.0/24"], "only the main table's routes are planned as the interface's");
    assert.equal(parseInspection("fwmark\toff\n").live.policy?.fwmark, undefined);
  });
});

describe("a full tunnel's firewall and source marks, as wg-quick's add_default loads them", () => {
  const NFT = path.join(__dirname, "../../../test/fixtures/nft");
  const gateway: DeclaredPeer = { publicKey: KEYS.berserker as WgKey, endpoint: "192.0.2.9:51820", allowedIps: ["0.0.0.0/0"] };
  const tunnel: LivePolicy = {
    fwmark: 51820,
    rules: [{ family: 4, kind: "fwmark", table: 51820 }, { family: 4, kind: "suppress" }],
    tableRoutes: [{ table: 51820, cidr: "0.0.0.0/0" }],
    busyTables: [51820],
  };
  const running = (policy: Partial<LivePolicy>) => live({ peers: [livePeer(KEYS.berserker, { endpoint: "192.0.2.9:51820", allowedIps: ["0.0.0.0/0"] })], policy: { ...tunnel, ...policy } });
  const firewall = { family: 4 as const, mark: 51820, guarded: ["198.51.100.2"], complete: true };

  it("in on a running tunnel: src_valid_mark on, the table loaded; nothing once both are there", () => {
    assert.deepEqual(plan(declared([gateway]), running({ firewalls: [], srcValidMark: false })), [
      { op: "src-valid-mark" },
      { op: "firewall-set", firewall, replace: false },
    ]);
    assert.deepEqual(plan(declared([gateway]), running({ firewalls: [firewall], srcValidMark: true })), []);
  });

  it("a table that differs is replaced in one transaction: new addresses, another mark, a chain or rule missing or added", () => {
    const readdressed = declared([gateway], { addresses: ["198.51.100.12/24", "198.51.100.2/24", "fd00::2/64"] });
    assert.deepEqual(plan(readdressed, running({ firewalls: [firewall], srcValidMark: true, tableRoutes: [...tunnel.tableRoutes] })).filter((op) => op.op.startsWith("firewall")), [
      { op: "firewall-set", firewall: { ...firewall, guarded: ["198.51.100.12", "198.51.100.2"] }, replace: true },
    ], "IPv4 addresses only, without their prefix; no IPv6 table without an IPv6 default route");
    const reordered = { ...firewall, guarded: ["198.51.100.2", "198.51.100.12"] };
    assert.deepEqual(plan(readdressed, running({ firewalls: [reordered], srcValidMark: true })).filter((op) => op.op.startsWith("firewall")), [], "the kernel's order of addresses is not a difference");
    for (const drifted of [{ ...firewall, mark: 51821 }, { ...firewall, complete: false }, { family: 4 as const, guarded: ["198.51.100.2"], complete: true }]) {
      assert.deepEqual(plan(declared([gateway]), running({ firewalls: [drifted], srcValidMark: true })), [{ op: "firewall-set", firewall, replace: true }], JSON.stringify(drifted));
    }
  });

  it("out with the tunnel, each family's table; src_valid_mark is left on (wg-quick never unsets it); a node without nft gets neither", () => {
    const v6 = { family: 6 as const, mark: 51820, guarded: ["fd00::2"], complete: true };
    const ops = plan(declared([{ ...gateway, allowedIps: ["10.9.0.0/24"] }]), running({ firewalls: [firewall, v6], srcValidMark: true }));
    assert.deepEqual(ops.filter((op) => op.op.startsWith("firewall") || op.op === "src-valid-mark"), [{ op: "firewall-del", family: 4 }, { op: "firewall-del", family: 6 }]);
    assert.deepEqual(plan(declared([gateway]), running({ srcValidMark: true })), [], "no nft: wg-quick's iptables fallback is the boot's alone");
  });

  it("on the wire: one nft line a transaction, the statements of add_default in its order", () => {
    const { plan: text } = encodePlan([{ op: "firewall-set", firewall: { ...firewall, guarded: ["198.51.100.2", "198.51.100.12"] }, replace: true }, { op: "firewall-del", family: 6 }, { op: "src-valid-mark" }], "wg0");
    assert.equal(
      text,
      [
        "nft\tdelete table ip wg-quick-wg0; add table ip wg-quick-wg0; " +
          "add chain ip wg-quick-wg0 preraw { type filter hook prerouting priority -300; }; " +
          "add chain ip wg-quick-wg0 premangle { type filter hook prerouting priority -150; }; " +
          "add chain ip wg-quick-wg0 postmangle { type filter hook postrouting priority -150; }; " +
          'add rule ip wg-quick-wg0 preraw iifname != "wg0" ip daddr 198.51.100.2 fib saddr type != local drop; ' +
          'add rule ip wg-quick-wg0 preraw iifname != "wg0" ip daddr 198.51.100.12 fib saddr type != local drop; ' +
          "add rule ip wg-quick-wg0 postmangle meta l4proto udp mark 51820 ct mark set mark; " +
          "add rule ip wg-quick-wg0 premangle meta l4proto udp meta mark set ct mark",
        "nft\tdelete table ip6 wg-quick-wg0",
        "src-valid-mark",
        "",
      ].join("\n"),
    );
  });

  it("reads back nft's JSON of wg-quick's table (saved from nft 1.0.6): whole, or a table with its preraw chain only", () => {
    const records = (...lines: string[]) => parseInspection(lines.join("\n")).live.policy;
    const whole = readFileSync(path.join(NFT, "wg-quick-wg0-ip.json"), "utf8").trim();
    const partial = readFileSync(path.join(NFT, "wg-quick-wg0-ip6-preraw-only.json"), "utf8").trim();
    const policy = records("nft\tyes", `nft-ip\t${whole}`, `nft-ip6\t${partial}`, "src-valid-mark\t0");
    assert.deepEqual(policy?.firewalls, [
      { family: 4, mark: 51820, guarded: ["10.9.0.2"], complete: true },
      { family: 6, guarded: ["fd00::2"], complete: false },
    ]);
    assert.equal(policy?.srcValidMark, false);
    assert.deepEqual(records("nft\tyes", "src-valid-mark\t1"), { rules: [], tableRoutes: [], busyTables: [], firewalls: [], srcValidMark: true });
    assert.deepEqual(records("nft-ip\tnot json", "nft\tyes")?.firewalls, [{ family: 4, guarded: [], complete: false }], "a table that cannot be read is replaced");
    assert.equal(records("rule4\t[]")?.firewalls, undefined, "no nft on the node");
  });
});

describe("parseDeclared: a config that would not load stops before anything is sent", () => {
  for (const [name, text, message] of [
    ["a bad key", "[Interface]\n[Peer]\nPublicKey = not-a-key\n", /line 3: PublicKey is not a WireGuard key/],
    ["a private key", "[Interface]\nPrivateKey = x\n", /a PrivateKey must not be sent/],
    ["an unknown key", "[Interface]\nSaveConfig = true\n", /unknown \[Interface\] key SaveConfig/],
    ["a routing table other than off", "[Interface]\nTable = 1234\n", /Table must be off/],
    ["a PostUp that is no route", "[Interface]\nTable = off\nPostUp = rm -rf /\n", /PostUp may only add a route/],
    ["a PostUp route without Table = off", "[Interface]\nPostUp = ip route replace 10.0.0.0/24 dev %i\n", /after Table = off/],
    ["a bad route", `[Interface]\n[Peer]\nPublicKey = ${KEYS.berserker}\nAllowedIPs = 10.0.0.0/33\n`, /AllowedIPs: "10.0.0.0\/33": an IPv4 prefix length is at most 32/],
    ["a peer twice", `[Peer]\nPublicKey = ${KEYS.berserker}\n[Peer]\nPublicKey = ${KEYS.berserker}\n`, /listed twice/],
  ] as const) {
    it(`refuses ${name}`, () => assert.throws(() => parseDeclared(text), message));
  }

  it("never quotes a pre-shared key it refuses", () => {
    assert.throws(
      () => parseDeclared(`[Peer]\nPublicKey = ${KEYS.berserker}\nPresharedKey = ${PSK.slice(0, 40)}\n`),
      (error: Error) => !error.message.includes(PSK.slice(0, 40)) && /PresharedKey is not a WireGuard key/.test(error.message),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Exploring: random declarations against random running states. Each plan is executed by a
// simulator of WireGuard and iproute2 written here, independently of the planner; afterwards
// the simulated interface must hold exactly what the declaration says, and a second plan must
// be empty.

const POOL_KEYS = [KEYS.elementalist, KEYS.occultist, KEYS.berserker, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="];
const POOL_ROUTES = ["10.1.0.0/16", "10.1.0.0/24", "10.2.0.0/24", "198.51.100.7/32", "fd20::/64", "fd20::/48", "fd21::1/128", "10.3.0.0/16"];

function randomState(random: () => number): { declared: DeclaredInterface; running: LiveInterface } {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const some = <T>(list: readonly T[]): T[] => list.filter(() => random() < 0.3);
  // each route belongs to one peer at most, as validation guarantees
  const routes = [...POOL_ROUTES].sort(() => random() - 0.5);
  const peers: DeclaredPeer[] = some(POOL_KEYS).map((publicKey) => ({
    publicKey: publicKey as WgKey,
    allowedIps: routes.splice(0, Math.floor(random() * 3)),
    ...(random() < 0.4 ? { presharedKey: PSK } : {}),
    ...(random() < 0.5 ? { endpoint: pick(["192.0.2.1:1", "192.0.2.2:2", "[2001:db8::1]:3"]) } : {}),
    ...(random() < 0.4 ? { persistentKeepalive: pick([5, 25]) } : {}),
  }));
  // a full tunnel in either family, on one peer (nested beside the others' routes)
  for (const route of ["0.0.0.0/0", "::/0"]) {
    const gateway = peers.length > 0 && random() < 0.3 ? pick(peers) : undefined;
    if (gateway) (gateway as { allowedIps: readonly string[] }).allowedIps = [...gateway.allowedIps, route];
  }
  const declared: DeclaredInterface = {
    listenPort: pick([undefined, 50000, 50001]),
    addresses: some(["198.51.100.2/24", "198.51.100.3/24", "fd00::2/64"]),
    mtu: pick([undefined, 1380, 1420]),
    peers,
  };
  const livePeers: LivePeer[] = some(POOL_KEYS).map((publicKey) =>
    livePeer(publicKey, {
      allowedIps: some(POOL_ROUTES),
      ...(random() < 0.4 ? { presharedKeyDigest: presharedKeyDigest(PSK) } : {}),
      ...(random() < 0.5 ? { endpoint: pick(["192.0.2.1:1", "192.0.2.9:9"]) } : {}),
      ...(random() < 0.4 ? { persistentKeepalive: pick([5, 25]) } : {}),
    }),
  );
  const exists = random() < 0.8;
  const fwmark = exists ? pick([undefined, undefined, 51820, 51822]) : undefined;
  const ownTable = fwmark ?? 51820;
  const policy: LivePolicy = {
    ...(fwmark !== undefined ? { fwmark } : {}),
    rules: some<PolicyRule>([
      { family: 4, kind: "fwmark", table: ownTable },
      { family: 4, kind: "suppress" },
      { family: 6, kind: "fwmark", table: ownTable },
      { family: 6, kind: "suppress" },
    ]),
    tableRoutes: exists ? some([{ table: ownTable, cidr: "0.0.0.0/0" }, { table: ownTable, cidr: "::/0" }]) : [],
    busyTables: some([51820, 51821]),
    // wg-quick's firewall where the node has nft: whole, stale (another mark, old addresses) or broken
    ...(random() < 0.75
      ? {
          firewalls: ([4, 6] as const)
            .filter(() => random() < 0.4)
            .map((family) => ({
              family,
              ...(random() < 0.9 ? { mark: pick([ownTable, 51823]) } : {}),
              guarded: some(family === 4 ? ["198.51.100.2", "198.51.100.3", "198.51.100.9"] : ["fd00::2", "fd00::9"]),
              complete: random() < 0.7,
            })),
        }
      : {}),
    ...(random() < 0.8 ? { srcValidMark: random() < 0.5 } : {}),
  };
  const running: LiveInterface = {
    link: exists ? { up: random() < 0.8, mtu: pick([1380, 1420, 1500]) } : undefined,
    publicKey: exists ? pick([OWN, KEYS.berserker]) : undefined,
    listenPort: exists ? pick([50000, 50002]) : undefined,
    peers: exists ? livePeers : [],
    addresses: exists ? some(["198.51.100.2/24", "198.51.100.9/24", "fd00::9/64"]) : [],
    routes: exists ? some(POOL_ROUTES) : [],
    unit: pick([undefined, "enabled", "disabled"] as const),
    resolved: {},
    autoMtu: 1420,
    previous: random() < 0.5 ? declared : undefined,
    policy,
  };
  return { declared, running };
}

/** Executes `ops` as the kernel, wireguard-go and systemctl would. */
function simulate(start: LiveInterface, ops: readonly SyncOp[]): LiveInterface {
  let state = { ...start, peers: start.peers.map((p) => ({ ...p })) as LivePeer[] };
  for (const op of ops) {
    const link = state.link;
    if (op.op !== "link-add" && !link) throw new Error(`${op.op} on a missing link`);
    switch (op.op) {
      case "link-add":
        if (link) throw new Error("link-add on an existing link");
        state = { ...state, link: { up: false, mtu: 1420 }, peers: [], addresses: [], routes: [], listenPort: 40000, publicKey: undefined };
        break;
      case "ifup":
        throw new Error("ifup in wg-quick mode");
      case "link-up":
        state = { ...state, link: { ...link!, up: true } };
        break;
      case "private-key":
        state = { ...state, publicKey: OWN };
        break;
      case "listen-port":
        state = { ...state, listenPort: op.port };
        break;
      case "mtu":
        state = { ...state, link: { ...link!, mtu: op.mtu } };
        break;
      case "addr-add":
        if (state.addresses.includes(op.cidr)) throw new Error(`address ${op.cidr} exists`);
        state = { ...state, addresses: [...state.addresses, op.cidr] };
        break;
      case "addr-del": {
        if (!state.addresses.includes(op.cidr)) throw new Error(`address ${op.cidr} does not exist`);
        const addresses = state.addresses.filter((a) => a !== op.cidr);
        // Linux: a device's IPv4 routes go with its last IPv4 address, in every table (fib_disable_ip)
        const flushed = !op.cidr.includes(":") && !addresses.some((a) => !a.includes(":"));
        const policy = state.policy && flushed ? { ...state.policy, tableRoutes: state.policy.tableRoutes.filter((r) => r.cidr.includes(":")) } : state.policy;
        state = { ...state, addresses, routes: flushed ? state.routes.filter((r) => r.includes(":")) : state.routes, ...(policy ? { policy } : {}) };
        break;
      }
      case "route-replace":
        if (!link!.up) throw new Error("route on a down link");
        state = { ...state, routes: [...state.routes.filter((r) => r !== op.cidr), op.cidr] };
        break;
      case "route-del":
        if (!state.routes.includes(op.cidr)) throw new Error(`route ${op.cidr} does not exist`);
        state = { ...state, routes: state.routes.filter((r) => r !== op.cidr) };
        break;
      case "peer-remove":
        state = { ...state, peers: state.peers.filter((p) => p.publicKey !== op.publicKey) };
        break;
      case "unit-enable":
        state = { ...state, unit: "enabled" };
        break;
      case "fwmark": {
        const { fwmark: _old, ...rest } = state.policy ?? { rules: [], tableRoutes: [], busyTables: [] };
        state = { ...state, policy: { ...rest, ...(op.mark === 0 ? {} : { fwmark: op.mark }) } };
        break;
      }
      case "rule-add": {
        const policy = state.policy as LivePolicy;
        state = { ...state, policy: { ...policy, rules: [...policy.rules, op.rule] } };
        break;
      }
      case "rule-del": {
        // ip rule del removes one matching rule; a missing one is an error
        const policy = state.policy as LivePolicy;
        const at = policy.rules.findIndex((rule) => JSON.stringify(rule) === JSON.stringify(op.rule));
        if (at < 0) throw new Error(`rule ${JSON.stringify(op.rule)} does not exist`);
        state = { ...state, policy: { ...policy, rules: policy.rules.filter((_, i) => i !== at) } };
        break;
      }
      case "table-route-replace":
      case "table-route-del": {
        const policy = state.policy as LivePolicy;
        const others = policy.tableRoutes.filter((r) => !(r.table === op.table && r.cidr === op.cidr));
        if (op.op === "table-route-del" && others.length === policy.tableRoutes.length) throw new Error(`route ${op.cidr} table ${op.table} does not exist`);
        state = { ...state, policy: { ...policy, tableRoutes: op.op === "table-route-del" ? others : [...others, { table: op.table, cidr: op.cidr }] } };
        break;
      }
      case "firewall-set":
      case "firewall-del": {
        // nft: deleting a table that is not there fails the transaction; adding over one would double its rules
        const policy = state.policy as LivePolicy;
        const family = op.op === "firewall-set" ? op.firewall.family : op.family;
        const there = (policy.firewalls ?? []).some((firewall) => firewall.family === family);
        if (there !== (op.op === "firewall-del" || op.replace)) throw new Error(`${op.op} of the IPv${family} table, which is ${there ? "there" : "not there"}`);
        const others = (policy.firewalls ?? []).filter((firewall) => firewall.family !== family);
        state = { ...state, policy: { ...policy, firewalls: op.op === "firewall-set" ? [...others, op.firewall] : others } };
        break;
      }
      case "src-valid-mark":
        state = { ...state, policy: { ...(state.policy as LivePolicy), srcValidMark: true } };
        break;
      case "peer": {
        let peer = state.peers.find((p) => p.publicKey === op.publicKey);
        if (!peer) state.peers.push((peer = livePeer(op.publicKey)));
        const index = state.peers.indexOf(peer);
        const next: { -readonly [K in keyof LivePeer]: LivePeer[K] } = { ...peer };
        if (op.presharedKey === null) delete next.presharedKeyDigest;
        else if (typeof op.presharedKey === "object") next.presharedKeyDigest = state.pairKeys?.[op.presharedKey.file] as string;
        else if (op.presharedKey !== undefined) next.presharedKeyDigest = presharedKeyDigest(op.presharedKey);
        if (op.endpoint !== undefined) next.endpoint = op.endpoint;
        if (op.persistentKeepalive !== undefined) {
          if (op.persistentKeepalive === 0) delete next.persistentKeepalive;
          else next.persistentKeepalive = op.persistentKeepalive;
        }
        if (op.allowedIps !== undefined) {
          next.allowedIps = [...op.allowedIps];
          // WireGuard: an AllowedIP belongs to one peer; setting it on one takes it from another
          for (const other of state.peers) if (other !== peer) (other as { allowedIps: readonly string[] }).allowedIps = other.allowedIps.filter((a) => !op.allowedIps!.includes(a));
        }
        state.peers[index] = next;
        break;
      }
    }
  }
  return state;
}

/** What the running interface must hold for `d`, worked out here from the wg-quick(8) rules. */
function expectedOf(d: DeclaredInterface, start: LiveInterface) {
  const covered = (route: string): boolean =>
    d.addresses.some((address) => {
      const [net, bits] = address.split("/") as [string, string];
      const [routeNet, routeBits] = route.split("/") as [string, string];
      if (net.includes(":") !== routeNet.includes(":") || Number(routeBits) < Number(bits)) return false;
      return net.includes(":") ? routeNet.startsWith(net.split("::")[0] as string) : routeNet.split(".").slice(0, 3).join(".") === net.split(".").slice(0, 3).join(".");
    });
  // wg-quick's full tunnel: the interface's mark, else the first table from 51820 with no route
  const families = ([4, 6] as const).filter((family) => d.peers.some((p) => p.allowedIps.includes(family === 4 ? "0.0.0.0/0" : "::/0")));
  let table = start.policy?.fwmark ?? 51820;
  while (start.policy?.fwmark === undefined && start.policy?.busyTables.includes(table)) table++;
  // an interface that has no full tunnel and had none leaves every rule alone (the shared suppress rule may be another's)
  const touched = families.length > 0 || start.policy?.fwmark !== undefined;
  const rules = (start.policy?.rules ?? []).map((rule) => `${rule.family} ${rule.kind === "fwmark" ? `fwmark ${rule.table}` : "suppress"}`);
  // addresses go out before the new come in: with every old IPv4 address gone, Linux drops the device's IPv4 routes in every table
  const start4 = start.addresses.filter((a) => !a.includes(":"));
  const flushed = start4.length > 0 && !start4.some((a) => d.addresses.includes(a));
  const tableRoutes = (start.policy?.tableRoutes ?? []).filter((route) => !flushed || route.cidr.includes(":")).map((route) => `${route.table} ${route.cidr}`);
  const ensure = (list: string[], item: string, present: boolean): void => {
    const at = list.indexOf(item);
    if (present && at < 0) list.push(item);
    if (!present && at >= 0) list.splice(at, 1);
  };
  for (const family of touched ? ([4, 6] as const) : []) {
    const wanted = families.includes(family);
    ensure(rules, `${family} fwmark ${table}`, wanted);
    ensure(rules, `${family} suppress`, wanted);
    ensure(tableRoutes, `${table} ${family === 4 ? "0.0.0.0/0" : "::/0"}`, wanted);
  }
  // add_default's firewall (nft only): the table's mark, the addresses of its family without their prefix
  const startFirewalls = start.policy?.firewalls;
  const firewalls =
    startFirewalls === undefined
      ? undefined
      : touched
        ? families.map((family) => ({ family, mark: table, guarded: d.addresses.filter((a) => a.includes(":") === (family === 6)).map((a) => a.split("/")[0]).sort().join(" "), complete: true }))
        : startFirewalls.map((firewall) => ({ ...firewall, guarded: [...firewall.guarded].sort().join(" ") })).sort((a, b) => a.family - b.family);
  const srcValidMark = families.includes(4) && start.policy?.srcValidMark === false ? true : start.policy?.srcValidMark;
  return {
    link: { up: true, mtu: d.mtu ?? 1420 },
    addresses: [...d.addresses].sort(),
    routes: [...new Set(d.peers.flatMap((p) => p.allowedIps))].filter((r) => !covered(r) && !r.endsWith("/0")).sort(),
    policy: { fwmark: families.length > 0 ? table : undefined, rules: rules.sort(), tableRoutes: tableRoutes.sort(), firewalls, srcValidMark },
    peers: d.peers
      .map((p) => ({
        key: p.publicKey,
        psk: p.presharedKey !== undefined,
        keepalive: p.persistentKeepalive ?? 0,
        allowed: [...p.allowedIps].sort().join(","),
      }))
      .sort((a, b) => a.key.localeCompare(b.key)),
    unit: start.unit === undefined ? undefined : "enabled",
  };
}

function observed(s: LiveInterface) {
  const policy = s.policy as LivePolicy;
  return {
    link: s.link,
    addresses: [...s.addresses].sort(),
    routes: [...s.routes].sort(),
    policy: {
      fwmark: policy.fwmark,
      rules: policy.rules.map((rule) => `${rule.family} ${rule.kind === "fwmark" ? `fwmark ${rule.table}` : "suppress"}`).sort(),
      tableRoutes: policy.tableRoutes.map((route) => `${route.table} ${route.cidr}`).sort(),
      firewalls: policy.firewalls?.map((firewall) => ({ ...firewall, guarded: [...firewall.guarded].sort().join(" ") })).sort((a, b) => a.family - b.family),
      srcValidMark: policy.srcValidMark,
    },
    peers: s.peers
      .map((p) => ({ key: p.publicKey, psk: p.presharedKeyDigest !== undefined, keepalive: p.persistentKeepalive ?? 0, allowed: [...p.allowedIps].sort().join(",") }))
      .sort((a, b) => a.key.localeCompare(b.key)),
    unit: s.unit,
  };
}

describe("planSync explored: 500 random declarations against random running states", () => {
  const seed = seedFrom("WGF_PLAN_SEED");
  it(`converges in one plan and then plans nothing (seed ${seed}; replay with WGF_PLAN_SEED=${seed})`, () => {
    const random = prng(seed);
    for (let round = 0; round < 500; round++) {
      const { declared: d, running } = randomState(random);
      const context = `seed ${seed}, round ${round}`;
      const first = planSync(d, running, { mode: "wg-quick", publicKey: OWN });
      const after = simulate(running, first.ops);
      assert.deepEqual(observed(after), expectedOf(d, running), `${context}: state after the plan`);
      assert.equal(after.publicKey, OWN, `${context}: own key`);
      if (d.listenPort !== undefined) assert.equal(after.listenPort, d.listenPort, `${context}: listen port`);
      if (!running.previous) {
        // nothing declared before: every declared endpoint is set (a roamed one is kept only while the declaration stands)
        for (const peer of d.peers) if (peer.endpoint) assert.equal(after.peers.find((p) => p.publicKey === peer.publicKey)?.endpoint, peer.endpoint, `${context}: endpoint`);
      }
      const second = planSync(d, { ...after, previous: d }, { mode: "wg-quick", publicKey: OWN });
      assert.deepEqual(second.ops, [], `${context}: a second plan must be empty`);
      const removals = first.ops.findIndex((op) => op.op === "peer-remove" && !d.peers.some((p) => p.publicKey === op.publicKey));
      const lastChange = first.ops.map((op) => op.op).lastIndexOf("peer");
      if (removals >= 0) assert.ok(removals > lastChange || !first.ops.slice(removals).some((op) => op.op === "peer"), `${context}: removals after additions`);
    }
  });
});
