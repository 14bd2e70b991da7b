import * as assert from "node:assert/strict";
import { exportPeers } from "../../provider/exported-peers";
import { nodeAddressViews, renderNodeAddressStanza, resolveInterfaces, routesOf, type NodeAddressView } from "../../provider/fabric";
import { connectionProblems, formatProblem, parseFabricOrThrow } from "../../provider/model";
import { KEYS, problemsOf, rfcSpec } from "./helpers";

type Spec = ReturnType<typeof rfcSpec>;

/** The RFC's fabric with Proxmox VE's router addresses: a range and an address of each node in it. */
function withNodeAddresses(spec: Spec): Spec {
  Object.assign(spec, { ipPrefix: "10.66.0.0/16" });
  Object.assign(spec.nodes.elementalist, { ip: "10.66.9.1" });
  Object.assign(spec.nodes.occultist, { ip: "10.66.9.2" });
  Object.assign(spec.nodes.berserker, { ip: "10.66.9.3" });
  return spec;
}

/** [what is wrong, how to break the spec, the exact problems expected] */
const BAD_INPUTS: [string, (spec: Spec) => void, string[]][] = [
  ["dangling peer node", (s) => (s.nodes.occultist.peers[1].node = "berserkr"), ['occultist: peers[1]: node: node "berserkr" is not defined in fabric "vpn"; did you mean "berserker"?']],
  ["dangling node_iface", (s) => (s.nodes.occultist.peers[0].nodeIface = "wg9"), [
    'occultist: peers[0]: nodeIface: interface "wg9" is not defined on node "elementalist"; did you mean "wg0"?',
    'warning: elementalist: peers[0]: occultist/wg0 has no peer back to elementalist/wg0: the tunnel cannot come up; add to occultist: { type: "internal", node: "elementalist", nodeIface: "wg0", iface: "wg0" }',
  ]],
  ["dangling local iface", (s) => (s.nodes.occultist.peers[1].iface = "wg1"), ['occultist: peers[1]: iface: interface "wg1" is not defined on node "occultist"; did you mean "wg0"?']],
  ["internal peer type for an external node", (s) => Object.assign(s.nodes.occultist.peers[1], { type: "internal", nodeIface: "wg0" }), ['occultist: peers[1]: type: node "berserker" is external; use type "external"']],
  ["external peer type for an internal node", (s) => (s.nodes.occultist.peers[0] = { type: "external", node: "elementalist", iface: "wg0" }), [
    'occultist: peers[0]: type: node "elementalist" is internal; use type "internal"',
    'warning: elementalist: peers[0]: occultist/wg0 has no peer back to elementalist/wg0: the tunnel cannot come up; add to occultist: { type: "internal", node: "elementalist", nodeIface: "wg0", iface: "wg0" }',
  ]],
  ["peer to its own interface", (s) => s.nodes.occultist.peers.push({ type: "internal", node: "occultist", nodeIface: "wg0", iface: "wg0" }), ["occultist: peers[2]: interface occultist/wg0 cannot be its own peer: it would list its own key (Proxmox VE renders it so)"]],
  ["duplicate listen port on a node", (s) => (s.nodes.occultist.interfaces.wg1 = { listenPort: 50000, ip: "198.51.101.2/24" }), ["occultist: wg1: listenPort: port 50000 is already used by interface wg0 on this node"]],
  ["same interface address twice in the fabric", (s) => (s.nodes.occultist.interfaces.wg0.ip = "198.51.100.1/24"), ["occultist: wg0: ip: address 198.51.100.1 is already used by elementalist/wg0; give each interface its own address"]],
  ["the same prefix on two peers", (s) => (s.nodes.berserker.allowedIps = ["203.0.113.128/25"]), [
    "occultist: wg0: peers[1]: allowedIps: 203.0.113.128/25 of berserker is also an AllowedIP of peers[0] (elementalist/wg0): WireGuard keeps a prefix for one peer only (the last one set); route it to one of them (a narrower or wider prefix may go to the other: the longest match wins)",
  ]],
  ["an overridden AllowedIP equal to another peer's host route", (s) => (s.nodes.occultist.peers[1].allowedIps = ["198.51.100.1/32"]), [
    "occultist: wg0: peers[1]: allowedIps: 198.51.100.1/32 of berserker is also an AllowedIP of peers[0] (elementalist/wg0): WireGuard keeps a prefix for one peer only (the last one set); route it to one of them (a narrower or wider prefix may go to the other: the longest match wins)",
  ]],
  ["a default route in an apply mode without policy routing", (s) => Object.assign(s.nodes.occultist, { fullTunnel: true, applyMode: "proxmox", peers: [s.nodes.occultist.peers[0], { type: "external", node: "berserker", iface: "wg0", allowedIps: ["0.0.0.0/0"] }] }), [
    "occultist: peers[1]: allowedIps: 0.0.0.0/0 to berserker needs the wg-quick apply mode: proxmox mode installs no policy routing for a default route (Proxmox VE's fabrics have no full tunnel either)",
  ]],
  ["the same prefix routed through two interfaces of a node", (s) => {
    s.nodes.occultist.interfaces.wg1 = { listenPort: 50001, ip: "198.51.101.2/24" };
    s.nodes.elementalist.interfaces.wg1 = { listenPort: 50001, ip: "198.51.101.1/24" };
    s.nodes.occultist.peers.push({ type: "internal", node: "elementalist", nodeIface: "wg1", iface: "wg1" });
    s.nodes.elementalist.peers.push({ type: "internal", node: "occultist", nodeIface: "wg1", iface: "wg1" });
  }, ["occultist: wg1: peers[2]: allowedIps: 203.0.113.128/25 of elementalist/wg1 is already routed through wg0 (to elementalist/wg0); a node routes a prefix through one interface only (Proxmox VE's stanzas would fail on the second `ip route add`): override allowedIps on one of the two peers, or set skipRouteGeneration on one"]],
  ["external node without public key", (s) => delete s.nodes.berserker.publicKey, ["berserker: publicKey: is required"]],
  ["public key too short", (s) => (s.nodes.berserker.publicKey = "GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdz="), ['berserker: publicKey: is not a WireGuard key (32 bytes of base64, 44 characters ending in "=")']],
  ["public key not base64", (s) => (s.nodes.berserker.publicKey = "GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmd!A="), ['berserker: publicKey: is not a WireGuard key (32 bytes of base64, 44 characters ending in "=")']],
  ["pre-shared key malformed", (s) => (s.nodes.occultist.peers[1].presharedKey = "secret"), ['occultist: peers[1]: presharedKey: is not a WireGuard key (32 bytes of base64, 44 characters ending in "=")']],
  ["listen port 0", (s) => (s.nodes.occultist.interfaces.wg0.listenPort = 0), ["occultist: wg0: listenPort: port 0 is outside 1-65535"]],
  ["listen port 70000", (s) => (s.nodes.occultist.interfaces.wg0.listenPort = 70000), ["occultist: wg0: listenPort: port 70000 is outside 1-65535"]],
  ["endpoint port 0", (s) => (s.nodes.berserker.endpoint = "berserker:0"), ['berserker: endpoint: "berserker:0": port 0 is outside 1-65535']],
  ["endpoint port too large", (s) => (s.nodes.berserker.endpoint = "berserker:65536"), ['berserker: endpoint: "berserker:65536": port 65536 is outside 1-65535']],
  ["endpoint with bad port text", (s) => (s.nodes.berserker.endpoint = "berserker:http"), ['berserker: endpoint: "berserker:http" has an invalid port "http"']],
  ["endpoint IPv6 with port but no brackets is ambiguous", (s) => (s.nodes.elementalist.endpoint = "2001:db8::1:51820:1:2:3:4:5"), ['elementalist: endpoint: "2001:db8::1:51820:1:2:3:4:5" is not an endpoint (host, host:port, [IPv6]:port or IPv6)']],
  ["endpoint with unclosed bracket", (s) => (s.nodes.elementalist.endpoint = "[2001:db8::1:51820"), ['elementalist: endpoint: "[2001:db8::1:51820" is not an endpoint (host, host:port, [IPv6]:port or IPv6)']],
  ["endpoint with a bad IPv4", (s) => (s.nodes.elementalist.endpoint = "192.0.2.256"), ['elementalist: endpoint: "192.0.2.256" is not an endpoint (host, host:port, [IPv6]:port or IPv6)']],
  ["endpoint hostname with shell characters", (s) => (s.nodes.berserker.endpoint = "host;rm -rf /:51337"), ['berserker: endpoint: "host;rm -rf /:51337" is not an endpoint (host, host:port, [IPv6]:port or IPv6)']],
  ["interface address without prefix", (s) => (s.nodes.occultist.interfaces.wg0.ip = "198.51.100.2"), ['occultist: wg0: ip: "198.51.100.2" needs a prefix length (e.g. /24 or /64)']],
  ["IPv4 prefix over 32", (s) => (s.nodes.occultist.interfaces.wg0.ip = "198.51.100.2/33"), ['occultist: wg0: ip: "198.51.100.2/33": an IPv4 prefix length is at most 32']],
  ["IPv6 prefix over 128", (s) => (s.nodes.occultist.interfaces.wg0.ip = "2001:db8::2/129"), ['occultist: wg0: ip: "2001:db8::2/129": an IPv6 prefix length is at most 128']],
  ["garbage address", (s) => (s.nodes.occultist.interfaces.wg0.ip = "fe80::zz/64"), ['occultist: wg0: ip: "fe80::zz/64" is not an IPv4 or IPv6 address with prefix length']],
  ["allowed IPs with host bits", (s) => (s.nodes.berserker.allowedIps = ["203.0.113.5/25"]), ['berserker: allowedIps[0]: "203.0.113.5/25" has host bits set; did you mean 203.0.113.0/25?']],
  ["interface name of 16 characters", (s) => (s.nodes.occultist.interfaces = { wg0123456789abcd: { listenPort: 50000 } }), ['occultist: wg0123456789abcd: interface name "wg0123456789abcd" is 16 characters; Linux allows at most 15']],
  ["interface name with shell metacharacters", (s) => (s.nodes.occultist.interfaces = { "wg0;touch /tmp/pwned": { listenPort: 50000 } }), ['occultist: wg0;touch /tmp/pwned: interface name "wg0;touch /tmp/pwned" is 20 characters; Linux allows at most 15']],
  ["interface name with a slash", (s) => (s.nodes.occultist.interfaces = { "wg/0": { listenPort: 50000 } }), ['occultist: wg/0: interface name "wg/0" may only contain letters, digits and _ = + . -']],
  ["unknown role", (s) => (s.nodes.berserker.role = "peer"), ['berserker: role: role must be "internal" or "external"']],
  ["unknown peer type", (s) => (s.nodes.occultist.peers[1].type = "remote"), ['occultist: peers[1]: type: type must be "internal" or "external"']],
  ["unknown field on a node", (s) => (s.nodes.occultist.allowed_ips = ["10.0.0.0/8"]), ['occultist: unknown field "allowed_ips"']],
  ["unknown field on an interface", (s) => (s.nodes.occultist.interfaces.wg0.address = "10.0.0.1/24"), ['occultist: wg0: unknown field "address"']],
  ["unknown field on a peer", (s) => (s.nodes.occultist.peers[0].publicKey = KEYS.elementalist), ['occultist: peers[0]: unknown field "publicKey"']],
  ["node name with underscore", (s) => { s.nodes.bad_name = s.nodes.berserker; }, ['bad_name: must be letters, digits and inner dashes (no underscore), at most 63 characters']],
  ["keepalive out of range", (s) => (s.nodes.occultist.peers[1].persistentKeepalive = 70000), ["occultist: peers[1]: persistentKeepalive: must be 0-65535 seconds"]],
  ["key dir relative", (s) => (s.nodes.occultist.keyDir = "etc/wireguard"), ["occultist: keyDir: must be an absolute path of letters, digits and _ . / -"]],
  ["key dir with ..", (s) => (s.nodes.occultist.keyDir = "/etc/../tmp"), ["occultist: keyDir: must not contain .."]],
  ["key dir /", (s) => (s.nodes.occultist.keyDir = "/"), ["occultist: keyDir: must be a folder of its own, not /"]],
  ["key dir in Proxmox VE's WireGuard folder", (s) => (s.nodes.occultist.keyDir = "/etc/wireguard/proxmox"), [
    "warning: occultist: keyDir: /etc/wireguard/proxmox is in a folder Proxmox VE owns: every network apply of a Proxmox VE node deletes each *.conf in /etc/wireguard/proxmox (the configs of the ifupdown2 and proxmox apply modes live beside the keys); use a folder of our own, such as the default /etc/wireguard/wg-fabric",
  ]],
  ["key dir in Proxmox VE's cluster file system", (s) => (s.nodes.occultist.keyDir = "/etc/pve/priv/wg"), [
    "warning: occultist: keyDir: /etc/pve/priv/wg is in a folder Proxmox VE owns: /etc/pve is Proxmox VE's cluster file system, the same on every node of the cluster; use a folder of our own, such as the default /etc/wireguard/wg-fabric",
  ]],
  ["interface name that looks like an option", (s) => (s.nodes.occultist.interfaces = { "-a": { listenPort: 50000 } }), ['occultist: -a: interface name "-a" must start with a letter or digit']],
  ["external endpoint without port", (s) => (s.nodes.berserker.endpoint = "berserker"), ['berserker: endpoint: an external node\'s endpoint needs a port (e.g. "berserker:51820")']],
  ["external peer's endpoint override without port", (s) => (s.nodes.occultist.peers[1].endpoint = "198.18.0.9"), ['occultist: peers[1]: endpoint: an external peer\'s endpoint needs a port (e.g. "198.18.0.9:51820")']],
  ["AllowedIPs covering a peer's endpoint: a warning (the node's routes decide, at up)", (s) => (s.nodes.berserker.allowedIps = ["192.0.2.0/24"]), [
    "warning: occultist: wg0: peers[1]: allowedIps: 192.0.2.0/24 of berserker covers 192.0.2.1, the endpoint of elementalist/wg0: WireGuard's own packets to it would enter the tunnel, unless occultist routes it more specifically outside the tunnel (up checks the node's routes before any change)",
  ]],
  ["a default route without fullTunnel", (s) => (s.nodes.occultist.peers = [{ type: "external", node: "berserker", iface: "wg0", allowedIps: ["::/0"] }]), [
    "occultist: peers[0]: allowedIps: ::/0 would route all of occultist's traffic (its SSH connection too) to berserker; set fullTunnel: true on occultist if that is meant",
    'warning: elementalist: peers[0]: occultist/wg0 has no peer back to elementalist/wg0: the tunnel cannot come up; add to occultist: { type: "internal", node: "elementalist", nodeIface: "wg0", iface: "wg0" }',
  ]],
  ["apply mode unknown", (s) => (s.nodes.occultist.applyMode = "systemd"), ['occultist: applyMode: Invalid option: expected one of "wg-quick"|"ifupdown2"|"proxmox"|"none"']],
  ["endpoint needs a port when the interface has none", (s) => delete s.nodes.elementalist.interfaces.wg0.listenPort, ['occultist: peers[0]: endpoint: elementalist/wg0 has no listenPort, so the endpoint needs a port (e.g. "192.0.2.1:51820")']],
  ["public key given for an internal interface in a spec", (s) => (s.nodes.occultist.interfaces.wg0.publicKey = KEYS.occultist), ["occultist: wg0: publicKey: is generated on the node and is an output; remove it from the input"]],
  ["interfaces missing", (s) => delete s.nodes.occultist.interfaces, ["occultist: interfaces: is required"]],
  ["MTU too small", (s) => (s.nodes.occultist.interfaces.wg0.mtu = 576), ["occultist: wg0: mtu: must be at least 1280 (IPv6 minimum)"]],
];

describe("bad input is rejected with the exact problem", () => {
  it("the unbroken spec has no problem", () => {
    assert.deepEqual(problemsOf(rfcSpec(), { publicKeysAreOutputs: true }), []);
  });
  for (const [what, breakIt, expected] of BAD_INPUTS) {
    it(what, () => {
      const spec = rfcSpec();
      breakIt(spec);
      assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), expected);
    });
  }

  it("reports every problem at once", () => {
    const spec = rfcSpec();
    spec.nodes.occultist.peers[1].node = "berserkr";
    spec.nodes.occultist.interfaces.wg0.listenPort = 0;
    spec.nodes.berserker.publicKey = "nope";
    assert.equal(problemsOf(spec, { publicKeysAreOutputs: true }).length, 2, "schema problems come first, all of them");
  });

  it("warns, without failing, about a one-sided internal peering", () => {
    const spec = rfcSpec();
    spec.nodes.elementalist.peers = [];
    assert.deepEqual(problemsOf(spec), [
      'warning: occultist: peers[0]: elementalist/wg0 has no peer back to occultist/wg0: the tunnel cannot come up; add to elementalist: { type: "internal", node: "occultist", nodeIface: "wg0", iface: "wg0" }',
    ]);
  });
});

describe("a node's connection, checked in the program before any resource", () => {
  const at = ["nodes", "pve1", "connection"];
  const said = (connection: unknown, complete: boolean) => connectionProblems(connection, at, complete).map(formatProblem);

  it("names the field and says what a port is, for a known part and for the whole", () => {
    assert.deepEqual(said({ port: "ssh" }, false), ["pve1: connection: port: must be a port number, 1-65535"]);
    assert.deepEqual(said({ host: "198.18.0.1", port: 70000 }, true), ["pve1: connection: port: port 70000 is outside 1-65535"]);
    assert.deepEqual(said({ host: "198.18.0.1", prot: 22 }, true), ['pve1: connection: unknown field "prot"']);
  });

  it("requires the host only of a connection known whole", () => {
    assert.deepEqual(said({ user: "root" }, false), []);
    assert.deepEqual(said({ user: "root" }, true), ["pve1: connection: host: is required"]);
    assert.deepEqual(said({ host: "198.18.0.1", user: "root", proxy: { host: "198.18.0.2" } }, true), []);
  });
});

describe("nested prefixes: the longest match wins, as in WireGuard and the kernel", () => {
  it("a hub's summary and a spoke's subnet of it, on one interface and on two", () => {
    const spec = rfcSpec();
    // berserker (the spoke) routes a /26 inside elementalist's (the hub's) /25, and a host route inside occultist's own subnet
    spec.nodes.berserker.allowedIps = ["203.0.113.128/26", "198.51.100.7/32"];
    assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), []);
  });

  it("a full-tunnel gateway beside other peers of the interface", () => {
    const spec = rfcSpec();
    spec.nodes.occultist.peers[1] = { type: "external", node: "berserker", iface: "wg0", allowedIps: ["0.0.0.0/0", "::/0"] };
    spec.nodes.occultist.fullTunnel = true;
    assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), []);
  });
});

describe("the nodes' own addresses (Proxmox VE's router addresses: ip_prefix, ip6_prefix, ip, ip6), checked as Proxmox VE checks them", () => {
  it("an address needs the fabric's range; the range needs an address on every node, external ones too, inside it, each its own", () => {
    const spec = rfcSpec();
    spec.nodes.occultist.ip = "10.66.0.2";
    assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), ["occultist: ip: 10.66.0.2 needs the fabric's ip_prefix, the range the nodes' addresses lie in"]);
    Object.assign(spec, { ipPrefix: "10.66.0.0/16" });
    spec.nodes.elementalist.ip = "10.67.0.1";
    assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), [
      "elementalist: ip: 10.67.0.1 is outside the fabric's ip_prefix 10.66.0.0/16",
      "berserker: ip: is required: the fabric's ip_prefix is 10.66.0.0/16, and every node (external ones too) needs its own address in it",
    ]);
    spec.nodes.elementalist.ip = "10.66.0.2";
    spec.nodes.berserker.ip = "10.66.0.3/32";
    assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), ["berserker: ip: must be an IPv4 address without prefix length"]);
    spec.nodes.berserker.ip = "10.66.0.3";
    assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), ["occultist: ip: 10.66.0.2 is already elementalist's address; each node has its own"]);
  });

  it("an internal node's address is a host route to it in its peers' AllowedIPs, first, as Proxmox VE renders it", () => {
    const fabric = parseFabricOrThrow(withNodeAddresses(rfcSpec()));
    const occultist = resolveInterfaces(fabric).find((view) => view.id === "occultist/wg0");
    assert.deepEqual(occultist?.peers.map((peer) => routesOf(peer).map(String)), [["10.66.9.1/32", "198.51.100.1/32", "203.0.113.128/25"], ["203.0.113.0/25"]], "an external node's address is not added");
  });

  it("another stack's peers of an internal node route its own address too: exportedPeers carries it as its peers' AllowedIPs do", () => {
    const fabric = parseFabricOrThrow(withNodeAddresses(rfcSpec()));
    const exported = exportPeers(fabric, { "elementalist/wg0": KEYS.elementalist, "occultist/wg0": KEYS.occultist });
    const occultist = resolveInterfaces(fabric).find((view) => view.id === "occultist/wg0");
    const toElementalist = occultist?.peers.find((peer) => peer.label === "elementalist/wg0");
    assert.deepEqual(exported.interfaces["elementalist/wg0"]?.allowedIps, routesOf(toElementalist!).map(String), "what a peer in this fabric routes to it");
    assert.deepEqual(exported.interfaces["elementalist/wg0"]?.allowedIps, ["10.66.9.1/32", "198.51.100.1/32", "203.0.113.128/25"]);
  });

  it("an internal node's addresses go on its dummy_<fabric> link, in Proxmox VE's stanza; a fabric name too long for that link, or an interface of that name, is refused", () => {
    const spec = rfcSpec();
    Object.assign(spec, { ipPrefix: "10.66.0.0/16", ip6Prefix: "fd66::/64", keyDir: "/etc/wg-keys" });
    Object.assign(spec.nodes.elementalist, { ip: "10.66.9.1", ip6: "fd66::1", applyMode: "proxmox" });
    Object.assign(spec.nodes.occultist, { ip: "10.66.9.2" });
    Object.assign(spec.nodes.berserker, { ip: "10.66.9.3" });
    assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), ["occultist: ip6: is required: the fabric's ip6_prefix is fd66::/64, and every node (external ones too) needs its own address in it", "berserker: ip6: is required: the fabric's ip6_prefix is fd66::/64, and every node (external ones too) needs its own address in it"]);
    Object.assign(spec.nodes.occultist, { ip6: "fd66::2" });
    Object.assign(spec.nodes.berserker, { ip6: "fd66::3" });
    const views = nodeAddressViews(parseFabricOrThrow(spec));
    assert.deepEqual(views, [
      { node: "elementalist", link: "dummy_vpn", id: "elementalist/dummy_vpn", owner: "vpn/elementalist/dummy_vpn", keyDir: "/etc/wg-keys", applyMode: "proxmox", ip: "10.66.9.1", ip6: "fd66::1" },
      { node: "occultist", link: "dummy_vpn", id: "occultist/dummy_vpn", owner: "vpn/occultist/dummy_vpn", keyDir: "/etc/wg-keys", applyMode: "wg-quick", ip: "10.66.9.2", ip6: "fd66::2" },
    ], "internal nodes only");
    // proxmox-perl-rs, get_interfaces_etc_network_config and render_interface: a block per family
    assert.equal(
      renderNodeAddressStanza("dummy_vpn", views[0] as NodeAddressView),
      "auto dummy_vpn\niface dummy_vpn inet static\n\taddress 10.66.9.1/32\n\tlink-type dummy\n\tip-forward 1\n\n" +
        "auto dummy_vpn\niface dummy_vpn inet6 static\n\taddress fd66::1/128\n\tlink-type dummy\n\tip-forward 1\n",
    );
    assert.equal(renderNodeAddressStanza("dummy_vpn", { ip6: "fd66::1" }), "auto dummy_vpn\niface dummy_vpn inet6 static\n\taddress fd66::1/128\n\tlink-type dummy\n\tip-forward 1\n");
    assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), []);

    spec.nodes.occultist.interfaces.dummy_vpn = { listenPort: 51999, ip: "10.99.0.1/24" };
    assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), ["occultist: dummy_vpn: is the link that holds the node's own address (ip); name the interface differently"]);
    delete spec.nodes.occultist.interfaces.dummy_vpn;
    Object.assign(spec, { name: "datacenter" });
    const tooLong = "the node's address goes on the link dummy_datacenter (Proxmox VE's name for it), but its name \"dummy_datacenter\" is 16 characters; Linux allows at most 15: name the fabric with at most 9 characters";
    assert.deepEqual(problemsOf(spec, { publicKeysAreOutputs: true }), [`elementalist: ip: ${tooLong}`, `occultist: ip: ${tooLong}`], "external nodes have no link");
  });
});

describe("fullTunnel and secrets in errors", () => {
  it("fullTunnel: true allows a default route on that node's peers", () => {
    const spec = rfcSpec();
    spec.nodes.occultist.peers = [{ type: "external", node: "berserker", iface: "wg0", allowedIps: ["0.0.0.0/0", "::/0"] }];
    spec.nodes.elementalist.peers = [];
    spec.nodes.occultist.fullTunnel = true;
    assert.deepEqual(problemsOf(spec), []);
  });
});
