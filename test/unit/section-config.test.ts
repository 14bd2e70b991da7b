import * as assert from "node:assert/strict";
import { parseSectionConfig, writeFabricSections, writeSectionConfig } from "../../provider/section-config";
import { KEYS, prng, sectionConfigProblems, seedFrom } from "./helpers";

const PSK = "Wq1sVSW/i4sTk/jcJ/F5DCYDyXbyGXQzu4MSPdQWavM=";

const problems = sectionConfigProblems;

describe("Proxmox section config", () => {
  const full = [
    "ospf_fabric: under",
    "\tarea 0",
    "",
    "wireguard_fabric: vpn",
    "\tkey_dir /etc/wireguard/proxmox",
    "\tapply_mode wg-quick",
    "",
    "wireguard_node: vpn_a",
    "\tendpoint [2001:db8::1]:51000",
    "\tallowed_ips 10.1.0.0/16",
    "\tallowed_ips fd01::/48",
    "\tpersistent_keepalive 25",
    "\tinterfaces name=wg0,listen_port=51000,ip=10.99.0.1/24,mtu=1420",
    "\tinterfaces name=wg1,listen_port=51001,ip=fd99::1/64",
    `\tpeers type=external,node=ext,iface=wg0,endpoint=192.0.2.9:4000,allowed_ips=10.50.0.0/16;10.51.0.0/16,persistent_keepalive=10,preshared_key=${PSK}`,
    "\tkey_dir /srv/keys",
    "\tapply_mode none",
    "\trole internal",
    "",
    "wireguard_node: vpn_ext",
    `\tpublic_key ${KEYS.berserker}`,
    "\trole external",
    "",
  ].join("\n");

  it("parses every field, keeps foreign sections, and writes canonical text that round-trips", () => {
    const config = parseSectionConfig(full);
    const a = config.fabrics[0]!.nodes.a!;
    assert.equal(a.role, "internal");
    if (a.role !== "internal") return;
    assert.equal(a.peers[0]!.presharedKey, PSK);
    assert.deepEqual(a.peers[0]!.allowedIps!.map(String), ["10.50.0.0/16", "10.51.0.0/16"]);
    assert.equal(a.interfaces.wg0!.mtu, 1420);
    assert.equal(config.dialect, "rfc", "keys of ours mark the RFC dialect");
    const text = writeSectionConfig(config, { dialect: "rfc" });
    assert.equal(text, full, "the input was already canonical");
    assert.equal(writeSectionConfig(parseSectionConfig(text), { dialect: "rfc" }), text);
  });

  it("leaves pre-shared keys out when asked and records generated public keys", () => {
    const text = writeSectionConfig(parseSectionConfig(full), {
      dialect: "rfc",
      omitPresharedKeys: true,
      publicKeys: new Map([["a/wg0", KEYS.occultist]]),
    });
    assert.doesNotMatch(text, /preshared_key/);
    assert.match(text, new RegExp(`interfaces name=wg0,listen_port=51000,public_key=${KEYS.occultist.replace(/[+/]/g, "\\$&")},ip=10.99.0.1/24`));
  });

  it("names file and line of each problem", () => {
    assert.deepEqual(
      problems(["wireguard_fabric: vpn", "", "wireguard_node: vpn_a", "\tinterfaces name=wg0,listen_port=99999", "\tpeers type=external,node=nobody,iface=wg0", "\trole internal"].join("\n")),
      ["fabrics.cfg:4: vpn: a: wg0: listen_port: port 99999 is outside 1-65535"],
    );
  });

  it("reports syntax errors with line numbers, all at once", () => {
    assert.deepEqual(
      problems(
        [
          "\tendpoint 192.0.2.1",
          "wireguard_node: novpn",
          "wireguard_fabric: vpn",
          "wireguard_node: vpn_a",
          "\tinterfaces name=wg0,listen_port",
          "\tinterfaces listen_port=1",
          "\tinterfaces name=wg1",
          "\tinterfaces name=wg1",
          "\trole internal",
          "\trole internal",
          "wireguard_node: vpn_a",
          "\trole external",
        ].join("\n"),
      ),
      [
        'fabrics.cfg:1: "endpoint 192.0.2.1" is outside any section',
        'fabrics.cfg:2: section id "novpn" must be <fabric>_<node>',
        "fabrics.cfg:3: no blank line before this section: Proxmox VE's parser ends a section only at a blank line",
        "fabrics.cfg:4: no blank line before this section: Proxmox VE's parser ends a section only at a blank line",
        'fabrics.cfg:5: "listen_port" in "name=wg0,listen_port" is not key=value',
        'fabrics.cfg:6: interfaces entry "listen_port=1" needs name=',
        'fabrics.cfg:8: interface "wg1" is defined twice on this node',
        'fabrics.cfg:10: "role" is set twice in this section',
        'fabrics.cfg:11: node "a" is defined twice in fabric "vpn"',
        "fabrics.cfg:11: no blank line before this section: Proxmox VE's parser ends a section only at a blank line",
        "fabrics.cfg:11: vpn: a: public_key: is required",
      ],
    );
  });

  it("never quotes a pre-shared key from a malformed line", () => {
    const planted = "cGxhbnRlZC1wcmVzaGFyZWQta2V5LTMyLWJ5dGVzIT0=";
    const found = problems(
      ["wireguard_fabric: vpn", "", "wireguard_node: vpn_a", `\tpeers type=external,node=b,iface=wg0,preshared_key=${planted},broken`, `\tpreshared_key ${planted}`, "\trole internal"].join("\n"),
    );
    assert.deepEqual(found, [
      "fabrics.cfg:3: vpn: a: interfaces: is required",
      'fabrics.cfg:4: "broken" in "type=external,node=b,iface=wg0,preshared_key=[redacted],broken" is not key=value',
      'fabrics.cfg:5: vpn: a: preshared_key: unknown key (Proxmox VE ignores it, so a misspelt key would silently vanish)',
    ]);
    assert.ok(!found.join("\n").includes(planted.slice(0, 20)));
  });

  it("names an unknown key with the key it most likely meant; a node section's says that Proxmox VE would drop it silently", () => {
    const found = problems(
      [
        "wireguard_fabric: vpn",
        "\tpersistent_keepalve 25",
        "",
        "wireguard_node: vpn_a",
        "\trole internal",
        "\tendpoit 192.0.2.1",
        "\tinterfaces name=wg0,listen_prot=51820",
        "\tpeers type=internal,node=b,node_ifac=wg0,iface=wg0",
        "\tcolour blue",
      ].join("\n"),
    );
    assert.deepEqual(found.filter((line) => line.includes("unknown key")), [
      'fabrics.cfg:2: vpn: persistent_keepalve: unknown key; did you mean "persistent_keepalive"?',
      'fabrics.cfg:6: vpn: a: endpoit: unknown key (Proxmox VE ignores it, so a misspelt key would silently vanish); did you mean "endpoint"?',
      'fabrics.cfg:7: vpn: a: wg0: listen_prot: unknown key; did you mean "listen_port"?',
      'fabrics.cfg:8: vpn: a: peers[0]: node_ifac: unknown key; did you mean "node_iface"?',
      'fabrics.cfg:9: vpn: a: colour: unknown key (Proxmox VE ignores it, so a misspelt key would silently vanish)',
    ]);
  });

  it("reads and writes the nodes' own addresses: ip_prefix, ip6_prefix and a node's ip and ip6 (addresses without prefix length)", () => {
    const text = [
      "wireguard_fabric: mesh",
      "\tip_prefix 10.66.0.0/16",
      "\tip6_prefix fd66::/64",
      "",
      "wireguard_node: mesh_a",
      "\trole internal",
      "\tip 10.66.0.1",
      "\tip6 fd66::1",
      `\tinterfaces name=wg0,listen_port=51820,public_key=${KEYS.elementalist},ip=10.65.0.1/24`,
      "",
      "wireguard_node: mesh_x",
      "\trole external",
      "\tendpoint 192.0.2.9:51820",
      `\tpublic_key ${KEYS.berserker}`,
      "\tip 10.66.0.9",
      "\tip6 fd66::9",
    ].join("\n");
    const fabric = parseSectionConfig(text).fabrics[0]!;
    assert.deepEqual([fabric.ipPrefix?.toString(), fabric.ip6Prefix?.toString(), fabric.nodes.a?.ip?.toString(), fabric.nodes.x?.ip6?.toString()], ["10.66.0.0/16", "fd66::/64", "10.66.0.1/32", "fd66::9/128"]);
    const written = writeFabricSections(fabric, { publicKeys: new Map() });
    assert.match(written, /^wireguard_fabric: mesh\n\tip_prefix 10\.66\.0\.0\/16\n\tip6_prefix fd66::\/64\n/);
    assert.match(written, /\tip 10\.66\.0\.1\n\tip6 fd66::1\n/);
    assert.deepEqual(parseSectionConfig(written).fabrics[0], fabric, "round trip");
  });

  it("refuses nodes of a fabric that has no fabric section", () => {
    assert.deepEqual(problems("wireguard_node: other_a\n\trole external\n"), ['fabrics.cfg:1: fabric "other" has nodes but no "wireguard_fabric: other" section']);
  });
});

describe("reading a large, repetitive fabrics.cfg", () => {
  /** A mesh-like fabric: each node peers with most others, in order, some lines differing (overrides, gaps, swaps). */
  function meshText(random: () => number): string {
    const names = Array.from({ length: 3 + Math.floor(random() * 10) }, (_, i) => `n${i}`);
    const sections = ["wireguard_fabric: vpn", ""];
    names.forEach((name, i) => {
      const peers = names.filter((other) => other !== name && random() < 0.9).map((other) => `\tpeers type=internal,node=${other},node_iface=wg0,iface=wg0${random() < 0.05 ? ",persistent_keepalive=25" : ""}`);
      if (peers.length > 2 && random() < 0.2) peers.splice(0, 2, peers[1] as string, peers[0] as string);
      // comments between peer lines break a run; Proxmox VE writes role after the peers
      const lines = peers.flatMap((line) => (random() < 0.03 ? ["\t# between", line] : [line]));
      sections.push(`wireguard_node: vpn_${name}`, `\tendpoint 192.0.2.${i + 1}:51820`, `\tinterfaces name=wg0,listen_port=51820,ip=10.0.${i}.1/16`, ...lines, "\trole internal", "");
      if (random() < 0.1) sections.push("ospf_fabric: other", "\tarea 0", "");
    });
    return sections.join("\n");
  }

  /** The text cut into blocks of whole lines at random places (joined with "\n" they make it). */
  function blocks(text: string, random: () => number): string[] {
    const lines = text.split("\n");
    const cut: string[] = [];
    for (let at = 0; at < lines.length; ) {
      const size = 1 + Math.floor(random() * 40);
      cut.push(lines.slice(at, at + size).join("\n"));
      at += size;
    }
    return cut;
  }

  it("gives the same fabric and lines however the file is cut into blocks (seeded)", () => {
    const seed = seedFrom("WGF_SECTION_SEED");
    const random = prng(seed);
    for (let round = 0; round < 150; round++) {
      const text = meshText(random);
      const context = `seed ${seed} (replay with WGF_SECTION_SEED=${seed}), round ${round}`;
      const whole = parseSectionConfig(text);
      const cut = parseSectionConfig(blocks(text, random));
      assert.equal(JSON.stringify(cut.fabrics), JSON.stringify(whole.fabrics), context);
      const lines = text.split("\n");
      // the model: each node's peer lines, found in the text itself
      let node = "";
      let index = 0;
      lines.forEach((line, i) => {
        const header = /^wireguard_node: vpn_(\S+)$/.exec(line);
        if (header) [node, index] = [header[1] as string, 0];
        if (!line.startsWith("\tpeers ")) return;
        const peer = (cut.fabrics[0]?.nodes[node] as { peers: { node: string }[] }).peers[index];
        assert.ok(line.includes(`node=${peer?.node},`), `${context}: ${node} peers[${index}] is line ${i + 1}`);
        assert.equal(cut.lineOf("vpn", ["nodes", node, "peers", index]), i + 1, `${context}: line of ${node} peers[${index}]`);
        index++;
      });
    }
  });
});
