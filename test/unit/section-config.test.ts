import * as assert from "node:assert/strict";
import { parseSectionConfig, writeSectionConfig } from "../../provider/fabric";
import { KEYS, sectionConfigProblems } from "./helpers";

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
        'fabrics.cfg:5: "listen_port" in "name=wg0,listen_port" is not key=value',
        'fabrics.cfg:6: interfaces entry "listen_port=1" needs name=',
        'fabrics.cfg:8: interface "wg1" is defined twice on this node',
        'fabrics.cfg:10: "role" is set twice in this section',
        'fabrics.cfg:11: node "a" is defined twice in fabric "vpn"',
        "fabrics.cfg:11: vpn: a: public_key: is required",
      ],
    );
  });

  it("never quotes a pre-shared key from a malformed line", () => {
    const planted = "cGxhbnRlZC1wcmVzaGFyZWQta2V5LTMyLWJ5dGVzIT0=";
    const found = problems(
      ["wireguard_fabric: vpn", "wireguard_node: vpn_a", `\tpeers type=external,node=b,iface=wg0,preshared_key=${planted},broken`, `\tpreshared_key ${planted}`, "\trole internal"].join("\n"),
    );
    assert.deepEqual(found, [
      "fabrics.cfg:2: vpn: a: interfaces: is required",
      'fabrics.cfg:3: "broken" in "type=external,node=b,iface=wg0,preshared_key=[redacted],broken" is not key=value',
      'fabrics.cfg:4: vpn: a: unknown key "preshared_key"',
    ]);
    assert.ok(!found.join("\n").includes(planted.slice(0, 20)));
  });

  it("refuses nodes of a fabric that has no fabric section", () => {
    assert.deepEqual(problems("wireguard_node: other_a\n\trole external\n"), ['fabrics.cfg:1: fabric "other" has nodes but no "wireguard_fabric: other" section']);
  });
});
