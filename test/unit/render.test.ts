import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  fullMeshInput,
  renderIfupdown2,
  renderProxmoxConfig,
  renderWg,
  renderWgQuick,
  resolveInterfaces,
  validateFabric,
  type InterfaceView,
  type PublicKeys,
  type PeerView,
} from "../../provider/fabric";
import { parseFabricOrThrow, type WgKey } from "../../provider/model";
import { encodePlan, parseDeclared, planSync } from "../../provider/remote";
import { KEYS, rfcSpec } from "./helpers";

const PSK = "Wq1sVSW/i4sTk/jcJ/F5DCYDyXbyGXQzu4MSPdQWavM=";
const PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

/** Runs the real `wg-quick strip` on a config: it parses wg-quick syntax and prints the wg(8) part. */
function wgQuickStrip(iface: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "wgf-strip-"));
  try {
    const file = path.join(dir, `${iface}.conf`);
    writeFileSync(file, text, { mode: 0o600 });
    return execFileSync("wg-quick", ["strip", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const keysFor = (ids: Record<string, string>): PublicKeys => new Map(Object.entries(ids) as [string, WgKey][]);
const rfcKeys = keysFor({ "elementalist/wg0": KEYS.elementalist, "occultist/wg0": KEYS.occultist });

function view(spec: unknown, id: string): InterfaceView {
  const fabric = parseFabricOrThrow(spec);
  assert.deepEqual(validateFabric(fabric).filter((p) => p.severity === "error"), []);
  const found = resolveInterfaces(fabric).find((v) => v.id === id);
  assert.ok(found, `no interface ${id}`);
  return found;
}

describe("renderers", () => {
  it("wg-quick adds Address and MTU, and the real wg-quick strip accepts it", () => {
    const spec = rfcSpec();
    spec.nodes.occultist.interfaces.wg0.mtu = 1420;
    const text = renderWgQuick(view(spec, "occultist/wg0"), { publicKeys: rfcKeys, privateKey: PRIVATE });
    // berserker is reached by name: the follower of endpoint names starts and stops with the interface
    const hooks = "PostUp = sh /etc/wireguard/wg-fabric/wg0.endpoint-refresh.sh start wg0 30 /etc/wireguard/wg0.conf\nPreDown = sh /etc/wireguard/wg-fabric/wg0.endpoint-refresh.sh stop wg0\n";
    assert.ok(text.startsWith(`[Interface]\nPrivateKey = ${PRIVATE}\nListenPort = 50000\nAddress = 198.51.100.2/24\nMTU = 1420\n${hooks}\n[Peer]`), text);
    const stripped = wgQuickStrip("wg0", text);
    assert.doesNotMatch(stripped, /Address|MTU|PostUp|PreDown/);
    assert.match(stripped, /PublicKey = O\+Kz/);
    assert.match(stripped, /Endpoint = berserker:51337/);
  });

  it("IPv6: host route /128, bracketed endpoint with the interface's listen port", () => {
    const spec = rfcSpec();
    spec.nodes.elementalist.endpoint = "2001:db8:0::1";
    spec.nodes.elementalist.interfaces.wg0.ip = "fd00:0:0:1::1/64";
    spec.nodes.elementalist.allowedIps = ["2001:db8:1::/48"];
    spec.nodes.occultist.interfaces.wg0.ip = "fd00::1:0:0:0:2/64";
    const text = renderWg(view(spec, "occultist/wg0"), { publicKeys: rfcKeys });
    assert.match(text, /AllowedIPs = fd00:0:0:1::1\/128\nEndpoint = \[2001:db8::1\]:50000\nAllowedIPs = 2001:db8:1::\/48\n/);
    assert.doesNotThrow(() => wgQuickStrip("wg0", renderWgQuick(view(spec, "occultist/wg0"), { publicKeys: rfcKeys })));
  });

  it("IPv6 endpoints keep their port, in brackets; a bare internal one takes the listen port", () => {
    const spec = rfcSpec();
    spec.nodes.elementalist.endpoint = "2001:db8::1";
    spec.nodes.berserker.endpoint = "[2001:db8::9]:51337";
    const text = renderWg(view(spec, "occultist/wg0"), { publicKeys: rfcKeys });
    assert.match(text, /Endpoint = \[2001:db8::1\]:50000\n/);
    assert.match(text, /Endpoint = \[2001:db8::9\]:51337\n/);
  });

  it("peer overrides win over the node's values; the public key stays the node's", () => {
    const spec = rfcSpec();
    Object.assign(spec.nodes.occultist.peers[0], { endpoint: "elementalist.example", allowedIps: ["10.9.0.0/16"], persistentKeepalive: 25, presharedKey: PSK });
    Object.assign(spec.nodes.occultist.peers[1], { endpoint: "192.0.2.77:4000" });
    const text = renderWg(view(spec, "occultist/wg0"), { publicKeys: rfcKeys });
    assert.equal(
      text,
      [
        "[Interface]\nListenPort = 50000\n",
        `[Peer]\nPublicKey = ${KEYS.elementalist}\nPresharedKey = ${PSK}\nAllowedIPs = 198.51.100.1/32\nEndpoint = elementalist.example:50000\nAllowedIPs = 10.9.0.0/16\nPersistentKeepalive = 25\n`,
        `[Peer]\nPublicKey = ${KEYS.berserker}\nEndpoint = 192.0.2.77:4000\nAllowedIPs = 203.0.113.0/25\n`,
      ].join("\n"),
    );
    assert.doesNotThrow(() => wgQuickStrip("wg0", text));
  });

  it("a keepalive of 0 is off everywhere: no line in any format, read back as none, planned as off and sent as off", () => {
    const spec = rfcSpec();
    spec.persistentKeepalive = 25;
    Object.assign(spec.nodes.occultist.peers[0], { persistentKeepalive: 0 });
    const occultist = view(spec, "occultist/wg0");
    assert.equal(occultist.peers[0]?.persistentKeepalive, 0, "a peer's 0 overrides the fabric's 25");
    for (const text of [renderWg(occultist, { publicKeys: rfcKeys }), renderWgQuick(occultist, { publicKeys: rfcKeys }), renderProxmoxConfig(occultist, { publicKeys: rfcKeys })]) {
      const sections = text.split("[Peer]");
      assert.doesNotMatch(sections[1] as string, /PersistentKeepalive/, "the peer set to 0");
      assert.match(sections[2] as string, /PersistentKeepalive = 25\n/, "the other peer keeps the fabric's");
    }
    const declared = parseDeclared(renderWg(occultist, { publicKeys: rfcKeys }).replace("[Peer]\n", "[Peer]\nPersistentKeepalive = 0\n"));
    assert.equal(declared.peers[0]?.persistentKeepalive, undefined, "PersistentKeepalive = 0 reads as none");
    const running = { publicKey: KEYS.elementalist, allowedIps: [...declared.peers[0]!.allowedIps], endpoint: declared.peers[0]!.endpoint, persistentKeepalive: 25, latestHandshake: 0, rxBytes: 0, txBytes: 0 };
    const ops = planSync({ ...declared, peers: [declared.peers[0]!] }, { link: { up: true, mtu: 1420 }, publicKey: KEYS.occultist, listenPort: 50000, peers: [running], addresses: [...declared.addresses], routes: [], resolved: {}, autoMtu: 1420 }, { mode: "wg-quick" }).ops;
    assert.deepEqual(ops.filter((op) => op.op === "peer"), [{ op: "peer", publicKey: KEYS.elementalist, persistentKeepalive: 0 }]);
    assert.match(encodePlan(ops, "wg0").plan, /keepalive=off/);
  });

  it("several interfaces on one node each get only their own peers", () => {
    const spec = rfcSpec();
    spec.nodes.occultist.interfaces.wg1 = { listenPort: 50001, ip: "198.51.101.2/24" };
    spec.nodes.elementalist.interfaces.wg1 = { listenPort: 50001, ip: "198.51.101.1/24" };
    // elementalist's networks reach occultist through wg0 already: this peer routes none of them (validation insists)
    spec.nodes.occultist.peers.push({ type: "internal", node: "elementalist", nodeIface: "wg1", iface: "wg1", skipRouteGeneration: true });
    spec.nodes.elementalist.peers.push({ type: "internal", node: "occultist", nodeIface: "wg1", iface: "wg1" });
    const keys = keysFor({ ...Object.fromEntries(rfcKeys), "elementalist/wg1": KEYS.berserker, "occultist/wg1": KEYS.occultist });
    const wg1 = renderWg(view(spec, "occultist/wg1"), { publicKeys: keys });
    assert.equal(wg1, `[Interface]\nListenPort = 50001\n\n[Peer]\nPublicKey = ${KEYS.berserker}\nAllowedIPs = 198.51.101.1/32\nEndpoint = 192.0.2.1:50001\nAllowedIPs = 203.0.113.128/25\n`);
    assert.equal((renderWg(view(spec, "occultist/wg0"), { publicKeys: keys }).match(/\[Peer\]/g) ?? []).length, 2);
  });

  it("a peer whose public key is not known yet is a clear error, not an empty PublicKey", () => {
    assert.throws(
      () => renderWg(view(rfcSpec(), "occultist/wg0"), { publicKeys: new Map() }),
      { message: "occultist: wg0: the public key of peer elementalist/wg0 is not known yet; generate it on elementalist first (pulumi up does)" },
    );
  });

  it("ifupdown2: a stanza that creates the link unless it exists, syncs a link that does not run its key yet to the file beside the keys, and routes AllowedIPs outside the subnet", () => {
    assert.equal(
      renderIfupdown2(view(rfcSpec(), "occultist/wg0")),
      [
        "auto wg0",
        "iface wg0 inet static",
        "\taddress 198.51.100.2/24",
        "\tmtu 1420",
        "\tipv6-addrgen off",
        "\tpre-up ip link show dev wg0 >/dev/null 2>&1 || ip link add dev wg0 type wireguard || wireguard-go wg0",
        `\tpre-up [ "$(wg show wg0 public-key 2>/dev/null)" = "$(sed -n 's/^PrivateKey *= *//p' /etc/wireguard/wg-fabric/wg0.conf | wg pubkey 2>/dev/null)" ] || wg syncconf wg0 /etc/wireguard/wg-fabric/wg0.conf`,
        "\tup ip route replace 203.0.113.128/25 dev wg0",
        "\tup ip route replace 203.0.113.0/25 dev wg0",
        "\tpost-up sh /etc/wireguard/wg-fabric/wg0.endpoint-refresh.sh start wg0 30 /etc/wireguard/wg-fabric/wg0.conf",
        "\tpre-down sh /etc/wireguard/wg-fabric/wg0.endpoint-refresh.sh stop wg0",
        "\tpost-down ip link delete dev wg0",
        "",
      ].join("\n"),
    );
  });
});

describe("full mesh", () => {
  const names = ["a", "b", "c", "d"];
  const spec = {
    name: "mesh",
    nodes: fullMeshInput(
      Object.fromEntries(names.map((n, i) => [n, { endpoint: `198.18.0.${i + 1}`, ip: `10.99.0.${i + 1}/24`, allowedIps: [`10.${i + 1}.0.0/16`] }])),
      { external: { berserker: { endpoint: "berserker:51337", allowedIps: ["203.0.113.0/25"], publicKey: KEYS.berserker } } },
    ),
  };

  it("gives every node a symmetric peer to every other node and to the external ones, with no problem", () => {
    const fabric = parseFabricOrThrow(spec);
    assert.deepEqual(validateFabric(fabric), []);
    const views = resolveInterfaces(fabric);
    assert.deepEqual(views.map((v) => v.id), ["a/wg0", "b/wg0", "c/wg0", "d/wg0"]);
    for (const v of views) assert.deepEqual(v.peers.map((p) => p.label), [...names.filter((n) => `${n}/wg0` !== v.id).map((n) => `${n}/wg0`), "berserker"]);
  });

  it("renders configs that wg-quick accepts, sharing peer stanzas through the cache", () => {
    const fabric = parseFabricOrThrow(spec);
    const publicKeys = keysFor(Object.fromEntries(names.map((n) => [`${n}/wg0`, KEYS.occultist])));
    const cache = new Map<PeerView, string>();
    for (const v of resolveInterfaces(fabric)) {
      const text = renderWgQuick(v, { publicKeys, stanzaCache: cache });
      assert.equal((text.match(/\[Peer\]/g) ?? []).length, 4);
      assert.match(wgQuickStrip("wg0", text), /ListenPort = 51820/);
    }
    assert.equal(cache.size, 5);
  });
});
