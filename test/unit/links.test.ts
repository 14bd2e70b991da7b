import * as assert from "node:assert/strict";
import { renderEntry } from "../../provider/dynamic/inputs";
import { expandLinks, renderNodeFiles, resolveInterfaces } from "../../provider/fabric";
import { interfaceFields, peerEntryOf, presharedKeyFingerprint } from "../../provider/dynamic/entry";
import { parseDeclared } from "../../provider/remote/plan";
import { parseFabricOrThrow, type WgKey } from "../../provider/model";
import { KEYS, problemsOf, rfcSpec } from "./helpers";

describe("links", () => {
  const unlinked = () => {
    const spec = rfcSpec();
    for (const node of ["elementalist", "occultist"]) spec.nodes[node].peers = [];
    return spec;
  };

  it("expand into a peer entry on each internal end, after the nodes' own", () => {
    const spec = unlinked();
    spec.nodes.occultist.peers = [{ type: "external", node: "berserker", iface: "wg0", persistentKeepalive: 25 }];
    const { nodes, problems } = expandLinks(spec.nodes, [["elementalist/wg0", "occultist/wg0"]]);
    assert.deepEqual(problems, []);
    assert.deepEqual(nodes.elementalist.peers, [{ type: "internal", node: "occultist", nodeIface: "wg0", iface: "wg0" }]);
    assert.deepEqual(nodes.occultist.peers, [
      { type: "external", node: "berserker", iface: "wg0", persistentKeepalive: 25 },
      { type: "internal", node: "elementalist", nodeIface: "wg0", iface: "wg0" },
    ]);
    assert.deepEqual(spec.nodes.elementalist.peers, [], "the input is left as it was");
  });

  it("the RFC's peerings as links give the RFC's fabric", () => {
    const spec = unlinked();
    const { nodes } = expandLinks(spec.nodes, [
      ["elementalist/wg0", "occultist/wg0"],
      ["occultist/wg0", "berserker"],
    ]);
    assert.deepEqual({ ...spec, nodes }, rfcSpec());
    assert.deepEqual(problemsOf({ ...spec, nodes }), []);
  });

  it("name every bad end, by its place in the list", () => {
    const { problems } = expandLinks(unlinked().nodes, [
      ["elementalist/wg9", "occultist/wg0"],
      ["mage/wg0", "occultist"],
      ["berserker/wg0", "elementalist/wg0"],
      ["berserker", "berserker"],
      ["occultist/wg0", "occultist/wg0"],
      ["a/b/c", "occultist/wg0"],
    ]);
    assert.deepEqual(
      problems.map((p) => `${p.where}: ${p.message}`),
      [
        'links[0]: "elementalist/wg9": node elementalist has no interface wg9',
        'links[1]: "mage/wg0": node mage is not defined in the fabric',
        'links[1]: "occultist": occultist is an internal node; name its interface (occultist/wg0)',
        'links[2]: "berserker/wg0": berserker is an external node; name it without an interface',
        "links[3]: links two external nodes; at least one end must be node/iface of an internal node",
        "links[3]: links node berserker to itself",
        "links[4]: links node occultist to itself",
        'links[5]: "a/b/c" is not node/iface or an external node\'s name',
      ],
    );
  });
});

describe("config resource entries", () => {
  // every kind of host route: elementalist's own address, and its dual-stack interface's two
  const spec = rfcSpec();
  Object.assign(spec, { ipPrefix: "10.66.0.0/16" });
  Object.assign(spec.nodes.elementalist, { ip: "10.66.9.1" });
  Object.assign(spec.nodes.occultist, { ip: "10.66.9.2" });
  Object.assign(spec.nodes.berserker, { ip: "10.66.9.3" });
  Object.assign(spec.nodes.elementalist.interfaces.wg0, { ip6: "fd66::1/64" });
  const fabric = parseFabricOrThrow(spec);
  const publicKeys = new Map([
    ["elementalist/wg0", KEYS.elementalist as WgKey],
    ["occultist/wg0", KEYS.occultist as WgKey],
  ]);
  const occultist = resolveInterfaces(fabric).find((view) => view.id === "occultist/wg0")!;
  const entryOf = (psk?: string) => ({
    ...interfaceFields(occultist),
    peers: Object.fromEntries(
      occultist.peers.map((peer) => [
        peer.label,
        peerEntryOf(peer, peer.key.kind === "internal" ? publicKeys.get(peer.key.id)! : peer.key.key, psk ? { key: psk, fingerprint: presharedKeyFingerprint(psk) } : undefined),
      ]),
    ),
  });

  it("render what the fabric's view renders, every host route kept, peers in name order", () => {
    const fromEntry = parseDeclared(renderEntry(entryOf()).config);
    const fromView = parseDeclared(renderNodeFiles(occultist, { publicKeys }).config);
    assert.deepEqual(fromView.peers.find((peer) => peer.publicKey === KEYS.elementalist)?.allowedIps.slice(0, 3).map(String), ["10.66.9.1/32", "198.51.100.1/32", "fd66::1/128"]);
    assert.deepEqual(fromEntry.peers.map((peer) => peer.publicKey), [KEYS.berserker, KEYS.elementalist], "berserker before elementalist/wg0");
    assert.deepEqual(fromEntry, { ...fromView, peers: [...fromView.peers].reverse() });
  });

  it("carry a pre-shared key with its fingerprint, which differs from key to key", () => {
    const [one, two] = [entryOf(KEYS.elementalist), entryOf(KEYS.occultist)];
    const fingerprint = (entry: typeof one) => entry.peers.berserker!.presharedKeyFingerprint;
    assert.match(fingerprint(one) ?? "", /^[0-9a-f]{16}$/);
    assert.notEqual(fingerprint(one), fingerprint(two));
    assert.match(renderEntry(one).config, new RegExp(`PresharedKey = ${KEYS.elementalist.replace(/[+/]/g, "\\$&")}`));
  });
});
