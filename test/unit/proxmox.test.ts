import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { argsFromModel } from "../../provider/args";
import { type InterfaceView, recordedPublicKeys, renderProxmoxConfig, renderProxmoxModeStanza, renderProxmoxStanza, renderWgQuick, resolveInterfaces, validateAcrossFabrics, validateFabric } from "../../provider/fabric";
import { parseDeclared } from "../../provider/remote/plan";
import { parseSectionConfig, type SectionConfig, writeSectionConfig } from "../../provider/section-config";
import { formatProblem, type Fabric } from "../../provider/model";
import { KEYS, sectionConfigProblems } from "./helpers";
import { FIXTURES } from "./rfc.test";

const PRIVATE = "qGXl+84iE1teMyQeL1DgkuLivKKYasx6fOYqBfr3QEI=";
const text = readFileSync(path.join(FIXTURES, "proxmox-fabrics.cfg"), "utf8");

function viewOf(fabric: Fabric, id: string): InterfaceView {
  const view = resolveInterfaces(fabric).find((v) => v.id === id);
  assert.ok(view, `no interface ${id}`);
  return view;
}

const problems = sectionConfigProblems;

describe("Proxmox VE's shipped fabrics.cfg", () => {
  let config: SectionConfig;
  let fabric: Fabric;
  beforeEach(() => {
    config = parseSectionConfig(text);
    fabric = config.fabrics[0]!;
  });

  it("reads dual-stack interfaces, the fabric keepalive, skip_route_generation and ip6_ll, in Proxmox VE's dialect", () => {
    assert.equal(config.dialect, "proxmox");
    assert.deepEqual(validateFabric(fabric).map(formatProblem), []);
    assert.equal(fabric.persistentKeepalive, 25);
    const pve1 = fabric.nodes.pve1!;
    const pve2 = fabric.nodes.pve2!;
    assert.ok(pve1.role === "internal" && pve2.role === "internal");
    assert.equal(pve1.interfaces.wg0!.ip!.toString(), "198.51.100.1/24");
    assert.equal(pve1.interfaces.wg0!.ip6!.toString(), "fd00:51::1/64");
    assert.equal(pve2.interfaces.wg0!.ip6Ll, true);
    assert.equal(pve1.peers[1]!.skipRouteGeneration, true);
    assert.deepEqual(pve1.peers[1]!.extraAllowedIps!.map(String), ["10.9.0.0/24"]);
    assert.equal(pve1.peers[1]!.allowedIps, undefined, "a peer's allowed_ips add, they replace nothing");
  });

  it("renders /etc/wireguard/proxmox/<iface>.conf as a Proxmox VE node: host routes, the node's and the peer's allowed IPs, the fabric keepalive", () => {
    const conf = renderProxmoxConfig(viewOf(fabric, "pve2/wg0"), { publicKeys: recordedPublicKeys(fabric), privateKey: PRIVATE });
    assert.equal(
      conf,
      [
        "[Interface]",
        `PrivateKey = ${PRIVATE}`,
        "ListenPort = 51820",
        "",
        "[Peer]",
        `PublicKey = ${KEYS.elementalist}`,
        "AllowedIPs = 198.51.100.1/32, fd00:51::1/128, 203.0.113.0/25, 10.1.0.0/24",
        "Endpoint = 192.0.2.1:51820",
        "PersistentKeepalive = 25",
        "",
      ].join("\n"),
    );
    const pve1 = renderProxmoxConfig(viewOf(fabric, "pve1/wg0"), { publicKeys: recordedPublicKeys(fabric) });
    // pve2's endpoint has no port (an older file): the interface's listen port is dialled
    assert.match(pve1, /PublicKey = y0kO.*\nAllowedIPs = 198\.51\.100\.2\/32, fd00:51::2\/128\nEndpoint = 192\.0\.2\.2:51820\n/);
    assert.match(pve1, new RegExp(`PublicKey = ${KEYS.berserker.replace(/[+/]/g, "\\$&")}\\nAllowedIPs = 198\\.18\\.9\\.0/24, 10\\.9\\.0\\.0/24\\nEndpoint = 192\\.0\\.2\\.9:51337\\nPersistentKeepalive = 25\\n`));
  });

  it("renders the ifupdown2 stanza as Proxmox VE: link-type wireguard, wg syncconf, a route pair per prefix (none for a skipping peer), inet6 block, inet manual without IPv4", () => {
    assert.equal(
      renderProxmoxStanza(viewOf(fabric, "pve1/wg0")),
      [
        "auto wg0",
        "iface wg0 inet static",
        "\taddress 198.51.100.1/24",
        "\tlink-type wireguard",
        "\tip-forward 1",
        "\tpost-up wg syncconf wg0 /etc/wireguard/proxmox/wg0.conf",
        "\tpost-up ip route add 198.51.100.2/32 dev wg0",
        "\tdown ip route del 198.51.100.2/32 dev wg0",
        "\tpost-up ip route add fd00:51::2/128 dev wg0",
        "\tdown ip route del fd00:51::2/128 dev wg0",
        "",
        "iface wg0 inet6 static",
        "\taddress fd00:51::1/64",
        "",
      ].join("\n"),
    );
    assert.equal(
      renderProxmoxStanza(viewOf(fabric, "pve1/wg1")),
      ["auto wg1", "iface wg1 inet manual", "\tlink-type wireguard", "\tip-forward 1", "\tpost-up wg syncconf wg1 /etc/wireguard/proxmox/wg1.conf", ""].join("\n"),
    );
  });

  it("proxmox apply mode writes Proxmox VE's stanza reading the config from our folder, its MTU stated and no IPv6 address generation (ifreload -a then changes nothing: syncconf runs on a link without the config's key only)", () => {
    const view = viewOf(fabric, "pve1/wg1");
    assert.equal(
      renderProxmoxModeStanza(view),
      ["auto wg1", "iface wg1 inet manual", "\tmtu 1420", "\tipv6-addrgen off", "\tlink-type wireguard", "\tip-forward 1", `\tpost-up [ "$(wg show wg1 public-key 2>/dev/null)" = "$(sed -n 's/^PrivateKey *= *//p' ${view.keyDir}/wg1.conf | wg pubkey 2>/dev/null)" ] || wg syncconf wg1 ${view.keyDir}/wg1.conf`, ""].join("\n"),
    );
    assert.equal(view.keyDir, "/etc/wireguard/wg-fabric");
    assert.match(renderProxmoxModeStanza({ ...view, mtu: 1380 }), /\tmtu 1380\n/);
  });

  it("the same file read in the RFC's dialect: a peer's allowed_ips replace the node's", () => {
    const rfc = parseSectionConfig(text, "fabrics.cfg", { dialect: "rfc" }).fabrics[0]!;
    const conf = renderProxmoxConfig(viewOf(rfc, "pve2/wg0"), { publicKeys: recordedPublicKeys(rfc) });
    assert.match(conf, /AllowedIPs = 198\.51\.100\.1\/32, fd00:51::1\/128, 10\.1\.0\.0\/24\n/);
  });

  it("writes the Proxmox VE dialect every release reads: internal endpoints as a host, a peer's extra networks on the node it points at; what it renders unchanged", () => {
    const warnings: string[] = [];
    const written = writeSectionConfig(config, { onWarning: (problem) => warnings.push(formatProblem(problem)) });
    assert.deepEqual(warnings, [], "the meaning kept");
    assert.equal(writeSectionConfig(parseSectionConfig(written)), written, "canonical text round-trips");
    assert.match(written, /^wireguard_fabric: pve\n\tpersistent_keepalive 25\n/);
    // proxmox-ve-config 0.10.1 reads an internal endpoint as a host (host:port would be rendered host:port:port)
    assert.match(written, /wireguard_node: pve_pve1\n\tendpoint 192\.0\.2\.1\n\tallowed_ips 203\.0\.113\.0\/25\n\tallowed_ips 10\.1\.0\.0\/24\n/, "pve2's only peering with pve1 adds 10.1.0.0/24: it moves to pve1");
    assert.match(written, /wireguard_node: pve_pve2\n\tendpoint 192\.0\.2\.2\n/);
    assert.match(written, /interfaces name=wg0,listen_port=51820,public_key=y0k[^,]+,ip=198\.51\.100\.2\/24,ip6=fd00:51::2\/64,ip6_ll=1\n/);
    // a peer's allowed_ips does not parse in proxmox-ve-config 0.10.1 ("expected a sequence")
    assert.doesNotMatch(written, /peers [^\n]*allowed_ips/);
    assert.match(written, /peers type=external,node=pdm,iface=wg0,skip_route_generation=1\n/);
    assert.match(written, /wireguard_node: pve_pdm\n\tendpoint 192\.0\.2\.9:51337\n\tallowed_ips 198\.18\.9\.0\/24\n\tallowed_ips 10\.9\.0\.0\/24\n/);
    const again = parseSectionConfig(written).fabrics[0]!;
    for (const id of ["pve1/wg0", "pve2/wg0"]) {
      assert.equal(renderProxmoxConfig(viewOf(again, id), { publicKeys: recordedPublicKeys(again) }), renderProxmoxConfig(viewOf(fabric, id), { publicKeys: recordedPublicKeys(fabric) }), id);
    }
  });

  it("warns, naming the key, where no form every Proxmox VE release reads keeps the meaning: a peer's own extra networks, an internal endpoint's other port", () => {
    const edited = text
      .replace("endpoint 192.0.2.2\n", "endpoint 192.0.2.2:40000\n")
      .replace("peers type=internal,node=pve2,node_iface=wg0,iface=wg0\n", "peers type=internal,node=pve2,node_iface=wg0,iface=wg0\n\tpeers type=internal,node=pve2,node_iface=wg0,iface=wg1,endpoint=192.0.2.22,allowed_ips=10.2.0.0/24\n");
    const warnings: string[] = [];
    const written = writeSectionConfig(parseSectionConfig(edited), { onWarning: (problem) => warnings.push(formatProblem(problem)) });
    assert.deepEqual(warnings, [
      "warning: pve: pve1: peers[1]: allowed_ips: Proxmox VE cannot read a peer's allowed_ips (proxmox-ve-config 0.10.1 refuses the whole file: \"expected a sequence\"), and these networks differ from those of pve2's other peers, so they cannot move to pve2's allowed_ips; give every peer of pve2 the same ones, or write the RFC dialect",
      "warning: pve: pve2: endpoint: 192.0.2.2:40000: Proxmox VE 0.10.1 (proxmox-ve-config) reads an internal node's endpoint as a host and dials the peer interface's listen port (here 51820), so it would write \"192.0.2.2:40000:51820\"; a port other than the listen port is read only by later releases"
    ]);
    assert.match(written, /\tendpoint 192\.0\.2\.2:40000\n/, "written as later releases read it");
    assert.match(written, /iface=wg1,endpoint=192\.0\.2\.22,allowed_ips=10\.2\.0\.0\/24\n/);
  });

  it("writes an RFC interface with an IPv6 ip as Proxmox VE's ip6", () => {
    const rfc = parseSectionConfig(readFileSync(path.join(__dirname, "../../../examples/section-config/fabrics.cfg"), "utf8"));
    assert.equal(rfc.dialect, "rfc");
    assert.match(writeSectionConfig(rfc), /interfaces name=wg1,listen_port=51001,ip6=fd00:51::1\/64\n/);
  });

  it("names the file's own key, its line and the fabric in every problem", () => {
    const bad = text
      .replace("persistent_keepalive 25", "persistent_keepalive often")
      .replace("ip6=fd00:51::1/64", "ip6=10.0.0.1/24")
      .replace("skip_route_generation=1", "skip_route_generation=maybe,colour=red");
    assert.deepEqual(problems(bad), [
      "fabrics.cfg:2: pve: persistent_keepalive: must be a number of seconds, 0-65535, without unit (25, not 25s)",
      "fabrics.cfg:8: pve: pve1: wg0: ip6: must be an IPv6 address with prefix length",
      'fabrics.cfg:11: pve: pve1: peers[1]: colour: unknown key',
      "fabrics.cfg:11: pve: pve1: peers[1]: skip_route_generation: Invalid input: expected boolean, received string",
    ]);
  });

  it("Proxmox VE's rules: listen ports and interface names per node across fabrics, the local iface of a peer, host:port of external nodes", () => {
    const second = ["", "wireguard_fabric: dmz", "", "wireguard_node: dmz_pve1", "\trole internal", "\tinterfaces name=wg0,listen_port=51821", "\tinterfaces name=wg7,listen_port=51820"].join("\n");
    const both = parseSectionConfig(text + second);
    assert.deepEqual(validateAcrossFabrics(both.fabrics).map(formatProblem), [
      "dmz: pve1: wg0: interface wg0 of node pve1 is also defined in fabric pve; a node's interface names must differ across fabrics",
      "dmz: pve1: wg0: listenPort: port 51821 is already used on node pve1 by pve: wg1; a node's listen ports must differ across fabrics",
      "dmz: pve1: wg7: listenPort: port 51820 is already used on node pve1 by pve: wg0; a node's listen ports must differ across fabrics",
    ]);
    const orphan = parseSectionConfig(text.replace("node=pdm,iface=wg0", "node=pdm,iface=wg9")).fabrics[0]!;
    assert.deepEqual(validateFabric(orphan).map(formatProblem), ['pve1: peers[1]: iface: interface "wg9" is not defined on node "pve1"; did you mean "wg0"?']);
    const portless = parseSectionConfig(text.replace("endpoint 192.0.2.9:51337", "endpoint 192.0.2.9")).fabrics[0]!;
    assert.deepEqual(validateFabric(portless).map(formatProblem), ['pdm: endpoint: an external node\'s endpoint needs a port (e.g. "192.0.2.9:51820")']);
    const roaming = parseSectionConfig(text.replace("\tendpoint 192.0.2.9:51337\n", ""));
    assert.throws(() => writeSectionConfig(roaming), /pve: pdm: endpoint: Proxmox VE needs host:port for an external node/);
    assert.doesNotThrow(() => writeSectionConfig(roaming, { dialect: "rfc" }));
  });

  it("Proxmox VE's interface names (1-8 characters) are required in its dialect, reading and writing; the RFC's takes Linux's 15", () => {
    assert.throws(() => parseSectionConfig(text.replaceAll("wg1", "wg-fabric")), /fabrics\.cfg:9: interface name "wg-fabric": Proxmox VE's fabrics take 1-8 letters, digits and inner dashes/);
    const long = parseSectionConfig(text.replaceAll("wg1", "wg-fabric"), "fabrics.cfg", { dialect: "rfc" });
    assert.throws(() => writeSectionConfig(long, { dialect: "proxmox" }), /pve: pve1: wg-fabric: Proxmox VE allows interface names of 1-8 letters/);
    assert.match(writeSectionConfig(long, { dialect: "rfc" }), /name=wg-fabric/);
  });

  it("never takes an internal interface's public key from the file into a Pulumi program", () => {
    const args = argsFromModel(fabric, {});
    const nodes = args.nodes as Record<string, { interfaces?: Record<string, object> }>;
    for (const iface of Object.values(nodes.pve1!.interfaces!)) assert.ok(!("publicKey" in iface));
    assert.deepEqual(Object.keys(nodes.pve2!.interfaces!.wg0!).sort(), ["ip", "ip6", "ip6Ll", "listenPort", "mtu"]);
  });
});

describe("rendered files as real tools read them", () => {
  const fabric = parseSectionConfig(text).fabrics[0]!;
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), "wgf-proxmox-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("wg-quick strip loads every rendered config: Proxmox VE's, and wg-quick's dual-stack one with Table = off for a skipping peer", () => {
    const context = { publicKeys: recordedPublicKeys(fabric), privateKey: PRIVATE };
    for (const view of resolveInterfaces(fabric)) {
      for (const [format, rendered] of [["proxmox", renderProxmoxConfig(view, context)], ["wg-quick", renderWgQuick(view, context)]] as const) {
        const file = path.join(dir, `${view.iface}.conf`);
        writeFileSync(file, rendered, { mode: 0o600 });
        const stripped = execFileSync("wg-quick", ["strip", file], { encoding: "utf8" });
        assert.match(stripped, /ListenPort = 5182\d/, `${format} ${view.id}`);
        assert.ok(!/Address|Table|PostUp/.test(stripped), "strip leaves only what wg setconf reads");
      }
    }
    const routed = parseSectionConfig(text.replace("\tendpoint 192.0.2.2\n", "\tendpoint 192.0.2.2\n\tallowed_ips 10.2.0.0/24\n")).fabrics[0]!;
    const wgQuick = renderWgQuick(viewOf(routed, "pve1/wg0"), { publicKeys: recordedPublicKeys(routed) });
    assert.match(wgQuick, /Address = 198\.51\.100\.1\/24, fd00:51::1\/64\nTable = off\nPostUp = ip route replace 10\.2\.0\.0\/24 dev %i\n\n/);
    // the planner reads back exactly the routes the file adds: none for pdm (skip), none inside the interface's own subnets
    assert.deepEqual(parseDeclared(wgQuick).routes, ["10.2.0.0/24"]);
    assert.equal(parseDeclared(renderWgQuick(viewOf(routed, "pve2/wg0"), { publicKeys: recordedPublicKeys(routed) })).routes, undefined, "without a skipping peer wg-quick routes every AllowedIP");
  });

  it("Debian's ifupdown2 (ifquery) parses the stanza: both families, link-type wireguard, the post-up and down commands", () => {
    const file = path.join(dir, "interfaces");
    writeFileSync(file, renderProxmoxStanza(viewOf(fabric, "pve2/wg0")));
    const parsed = JSON.parse(execFileSync("ifquery", ["-i", file, "-o", "json", "wg0"], { encoding: "utf8" })) as { addr_family: string; config: Record<string, string | string[]> }[];
    assert.deepEqual(
      parsed.map((block) => [block.addr_family, block.config]),
      [
        [
          "inet",
          {
            address: "198.51.100.2/24",
            "link-type": "wireguard",
            "ip-forward": "1",
            "post-up": [
              "wg syncconf wg0 /etc/wireguard/proxmox/wg0.conf",
              "ip route add 198.51.100.1/32 dev wg0",
              "ip route add fd00:51::1/128 dev wg0",
              "ip route add 203.0.113.0/25 dev wg0",
              "ip route add 10.1.0.0/24 dev wg0",
            ],
            down: ["ip route del 198.51.100.1/32 dev wg0", "ip route del fd00:51::1/128 dev wg0", "ip route del 203.0.113.0/25 dev wg0", "ip route del 10.1.0.0/24 dev wg0"],
          },
        ],
        ["inet6", { address: "fd00:51::2/64" }],
      ],
    );
  });
});
