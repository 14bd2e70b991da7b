import * as assert from "node:assert/strict";
import { configPath, legacyConfigPath } from "../../provider/fabric";
import { type ProxmoxClaims, proxmoxAddressConflicts, proxmoxConflicts, proxmoxInterfaces } from "../../provider/remote/plan";

/** A Proxmox VE fabrics.cfg as inspect.sh reports it: grep -n of its node, interface and node address lines, read on node `node`. */
function claims(node: string, file: string): ProxmoxClaims {
  const lines = file.split("\n").flatMap((text, i) => (/^(wireguard_node:|\s+(interfaces|ip|ip6)\s)/.test(text) ? [{ line: i + 1, text }] : []));
  return { node, lines };
}

const FILE = [
  "openfabric_fabric: under",
  "",
  "wireguard_fabric: pve",
  "",
  "wireguard_node: pve_pve1",
  "\trole internal",
  "\tinterfaces name=wg0,listen_port=51820,ip=10.0.0.1/24",
  "\tinterfaces listen_port=51821,name=wg1",
  "",
  "wireguard_node: pve_pve2",
  "\tinterfaces name=wg5,listen_port=51825",
  "",
  "wireguard_node: long_name_pve1",
  "\tinterfaces name=wg7",
].join("\n");

describe("Proxmox VE's own WireGuard fabrics on a node", () => {
  it("finds the node's interfaces by its section (fabric_node), in any key order, with their lines", () => {
    assert.deepEqual(proxmoxInterfaces(claims("pve1", FILE)), [
      { fabric: "pve", name: "wg0", listenPort: 51820, line: 7 },
      { fabric: "pve", name: "wg1", listenPort: 51821, line: 8 },
      { fabric: "long_name", name: "wg7", line: 14 },
    ]);
    assert.deepEqual(proxmoxInterfaces(claims("pve2", FILE)), [{ fabric: "pve", name: "wg5", listenPort: 51825, line: 11 }]);
    assert.deepEqual(proxmoxInterfaces(claims("pve3", FILE)), []);
  });

  it("refuses one of their names (unless adopted) and one of their ports, naming the file and line", () => {
    const pve1 = claims("pve1", FILE);
    assert.deepEqual(proxmoxConflicts(pve1, { iface: "wg0", listenPort: 51999 }), [
      "/etc/pve/sdn/fabrics.cfg:7: Proxmox VE's fabric pve has interface wg0 on this node (pve1); name ours differently, or set adopt: true on the node to take it over from Proxmox VE's SDN",
    ]);
    assert.deepEqual(proxmoxConflicts(pve1, { iface: "wg0", listenPort: 51820, adopt: true }), [], "a move from Proxmox VE's SDN keeps name and port");
    assert.deepEqual(proxmoxConflicts(pve1, { iface: "wg2", listenPort: 51821, adopt: true }), [
      "/etc/pve/sdn/fabrics.cfg:8: listen port 51821 is used by interface wg1 of Proxmox VE's fabric pve on this node (pve1); choose another port",
    ]);
    assert.deepEqual(proxmoxConflicts(pve1, { iface: "wg2", listenPort: 51825 }), [], "another node's port is no conflict");
    assert.deepEqual(proxmoxConflicts(undefined, { iface: "wg0", listenPort: 51820 }), [], "no fabrics.cfg: no Proxmox VE fabric");
  });

  it("refuses our node address link when a Proxmox VE fabric of the same name gives the node an address (both would write dummy_<fabric>), naming the line", () => {
    const file = ["wireguard_fabric: ours", "\tip_prefix 10.80.0.0/24", "", "wireguard_node: ours_pve1", "\trole internal", "\tip 10.80.0.1", "", "wireguard_node: ours_pve2", "\trole internal", ""].join("\n");
    assert.deepEqual(proxmoxAddressConflicts(claims("pve1", file), "dummy_ours"), [
      "/etc/pve/sdn/fabrics.cfg:6: Proxmox VE's fabric ours gives this node (pve1) an address on dummy_ours too, and writes its own stanza for that link; name our fabric differently (its node addresses go on dummy_<fabric>)",
    ]);
    assert.deepEqual(proxmoxAddressConflicts(claims("pve2", file), "dummy_ours"), [], "no address of theirs on pve2");
    assert.deepEqual(proxmoxAddressConflicts(claims("pve1", file), "dummy_other"), [], "another fabric's link");
    assert.deepEqual(proxmoxAddressConflicts(undefined, "dummy_ours"), [], "no Proxmox VE fabrics");
  });

  it("our configs live in our key folder; only proxmox mode's of releases before 0.3 lived in Proxmox VE's", () => {
    assert.equal(configPath("proxmox", "/etc/wireguard/wg-fabric", "wg0"), "/etc/wireguard/wg-fabric/wg0.conf");
    assert.equal(configPath("ifupdown2", "/srv/keys", "wg0"), "/srv/keys/wg0.conf");
    assert.equal(configPath("wg-quick", "/srv/keys", "wg0"), "/etc/wireguard/wg0.conf");
    assert.equal(legacyConfigPath("proxmox", "/srv/keys", "wg0"), "/etc/wireguard/proxmox/wg0.conf");
    assert.equal(legacyConfigPath("ifupdown2", "/srv/keys", "wg0"), "/srv/keys/wg0.conf");
  });
});
