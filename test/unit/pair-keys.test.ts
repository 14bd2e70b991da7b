import * as assert from "node:assert/strict";
import { pairKeyFingerprint, pairKeyViews, renderNodeFiles, resolveInterfaces, validateFabric } from "../../provider/fabric";
import { formatProblem, parseFabricOrThrow, type WgKey } from "../../provider/model";
import { encodePlan, parseDeclared, planSync, presharedKeyDigest } from "../../provider/remote";
import { pairWork } from "../../provider/dynamic/pair-keys-impl";
import { KEYS, prng, problemsOf, rfcSpec, seedFrom } from "./helpers";

const PSK = "cGxhbnRlZC1wcmVzaGFyZWQta2V5LTMyLWJ5dGVzIT0=" as WgKey;

describe("pair keys: which peerings have one, and what is wrong with how they are asked for", () => {
  it("a fabric's pairKeys gives every two-sided internal peering one, made on the end first in name order; a user's presharedKey wins", () => {
    const spec = { ...rfcSpec(), pairKeys: true };
    const pairs = pairKeyViews(parseFabricOrThrow(spec));
    assert.deepEqual(pairs, [
      {
        id: "elementalist/wg0~occultist/wg0",
        ends: [
          { node: "elementalist", iface: "wg0", keyDir: "/etc/wireguard/wg-fabric", owner: "vpn/elementalist/wg0", file: "wg0@occultist@wg0.psk" },
          { node: "occultist", iface: "wg0", keyDir: "/etc/wireguard/wg-fabric", owner: "vpn/occultist/wg0", file: "wg0@elementalist@wg0.psk" },
        ],
      },
    ], "the external peer berserker has none");
    assert.deepEqual(problemsOf(spec), []);
    const both = rfcSpec();
    both.nodes.elementalist.peers[0] = { ...both.nodes.elementalist.peers[0], presharedKey: PSK };
    both.nodes.occultist.peers[0] = { ...both.nodes.occultist.peers[0], presharedKey: PSK };
    assert.deepEqual(pairKeyViews(parseFabricOrThrow({ ...both, pairKeys: true })), []);
  });

  const cases: [string, (spec: ReturnType<typeof rfcSpec>) => void, string[]][] = [
    ["one end asks, the other says no", (s) => {
      s.nodes.elementalist.peers[0].pairKey = true;
      s.nodes.occultist.peers[0].pairKey = false;
    }, ["elementalist: peers[0]: pairKey: occultist/wg0's entry for elementalist/wg0 has no pair key (pairKey: false); both ends must agree"]],
    ["one end asks, the other has a presharedKey", (s) => {
      s.nodes.elementalist.peers[0].pairKey = true;
      s.nodes.occultist.peers[0].presharedKey = PSK;
    }, ["elementalist: peers[0]: pairKey: occultist/wg0's entry for elementalist/wg0 has no pair key (it has a presharedKey); both ends must agree"]],
    ["pairKey beside its own presharedKey", (s) => Object.assign(s.nodes.elementalist.peers[0], { pairKey: true, presharedKey: PSK }), [
      "elementalist: peers[0]: pairKey: is set beside presharedKey: the peering has a pre-shared key of its own already",
    ]],
    ["an external peer", (s) => (s.nodes.occultist.peers[1].pairKey = true), [
      "occultist: peers[1]: pairKey: peer berserker is external: a pair key is made by two nodes we manage; give the peering a presharedKey (a Pulumi secret) instead",
    ]],
    ["rotations that differ", (s) => {
      Object.assign(s.nodes.elementalist.peers[0], { pairKey: true, pairKeyRotation: "2027" });
      Object.assign(s.nodes.occultist.peers[0], { pairKey: true });
    }, ['elementalist: peers[0]: pairKeyRotation: is "2027" here and null in occultist/wg0\'s entry for elementalist/wg0; both ends must agree']],
  ];
  for (const [what, breakIt, expected] of cases) {
    it(`refuses ${what}, naming the node, peer and field`, () => {
      const spec = rfcSpec();
      breakIt(spec);
      assert.deepEqual(problemsOf(spec), expected);
    });
  }

  it("a one-sided peering: an error when it asks itself, nothing when the fabric's default asks", () => {
    const spec = rfcSpec();
    spec.nodes.occultist.peers.splice(0, 1);
    spec.nodes.elementalist.peers[0].pairKey = true;
    assert.ok(problemsOf(spec).includes("elementalist: peers[0]: pairKey: occultist/wg0 has no peer entry for elementalist/wg0: a pair key needs the peering declared on both nodes"), problemsOf(spec).join("\n"));
    delete spec.nodes.elementalist.peers[0].pairKey;
    assert.deepEqual(pairKeyViews(parseFabricOrThrow({ ...spec, pairKeys: true })), []);
  });

  const seed = seedFrom("WGF_PAIR_SEED");
  it(`explored: 300 random meshes against a model of the rule (seed ${seed}; replay with WGF_PAIR_SEED=${seed})`, () => {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    for (let round = 0; round < 300; round++) {
      const names = ["a", "b", "c", "d"].slice(0, 2 + Math.floor(random() * 3));
      const fabricDefault = pick([undefined, true, false]);
      const entries: Record<string, { pairKey?: boolean; presharedKey?: WgKey }> = {};
      const nodes = Object.fromEntries(
        names.map((name, i) => {
          const peers = names
            .filter((other) => other !== name && random() < 0.7)
            .map((other) => {
              const entry = { ...(random() < 0.5 ? { pairKey: pick([true, false]) } : {}), ...(random() < 0.15 ? { presharedKey: PSK } : {}) };
              entries[`${name}>${other}`] = entry;
              return { type: "internal" as const, node: other, nodeIface: "wg0", iface: "wg0", ...entry };
            });
          return [name, { role: "internal" as const, endpoint: `192.0.2.${i + 1}`, interfaces: { wg0: { listenPort: 51820, ip: `10.0.0.${i + 1}/24` } }, peers }];
        }),
      );
      const fabric = parseFabricOrThrow({ name: "mesh", nodes, ...(fabricDefault === undefined ? {} : { pairKeys: fabricDefault }) });
      // the rule, worked out here: an entry wants a key when it has no presharedKey and its own pairKey (else the fabric's) says so
      const wants = (entry: { pairKey?: boolean; presharedKey?: WgKey }): boolean => entry.presharedKey === undefined && (entry.pairKey ?? fabricDefault ?? false);
      const expectedPairs: string[] = [];
      let expectedErrors = 0;
      for (const [key, entry] of Object.entries(entries)) {
        const [from, to] = key.split(">") as [string, string];
        const back = entries[`${to}>${from}`];
        if (entry.pairKey && entry.presharedKey) expectedErrors++;
        if (!back) {
          if (entry.pairKey) expectedErrors++;
          continue;
        }
        if (wants(entry) !== wants(back)) {
          if (wants(entry)) expectedErrors++;
        } else if (wants(entry) && from < to) expectedPairs.push(`${from}/wg0~${to}/wg0`);
      }
      const context = `seed ${seed}, round ${round}`;
      const problems = validateFabric(fabric).filter((problem) => /pairKey/.test(formatProblem(problem)) && problem.severity === "error");
      assert.equal(problems.length, expectedErrors, `${context}: ${problems.map(formatProblem).join("; ")}`);
      assert.deepEqual(pairKeyViews(fabric).map((pair) => pair.id), expectedPairs.sort(), context);
    }
  });
});

describe("pair keys in a config: a marker with file and fingerprint, the key put in by the node", () => {
  const fabric = parseFabricOrThrow({ ...rfcSpec(), pairKeys: true });
  const view = resolveInterfaces(fabric).find((v) => v.node === "elementalist") as ReturnType<typeof resolveInterfaces>[number];
  const fingerprint = pairKeyFingerprint("elementalist/wg0~occultist/wg0", presharedKeyDigest(PSK));
  const withPairKey = { ...view, peers: view.peers.map((peer) => ({ ...peer, pairKey: { file: "wg0@occultist@wg0.psk", fingerprint } })) };
  const publicKeys = new Map([["occultist/wg0", KEYS.occultist as WgKey]]);

  it("renders the marker where PresharedKey goes, reads it back, never a key", () => {
    const { config } = renderNodeFiles(withPairKey, { publicKeys });
    assert.match(config, new RegExp(`^# PresharedKey made on the nodes: wg0@occultist@wg0\\.psk ${fingerprint}$`, "m"));
    assert.doesNotMatch(config, /^PresharedKey/m);
    assert.deepEqual(parseDeclared(config).peers[0]?.pairKey, { file: "wg0@occultist@wg0.psk", fingerprint });
    assert.match(fingerprint, /^[0-9a-f]{16}$/);
    assert.notEqual(pairKeyFingerprint("elementalist/wg0~other/wg0", presharedKeyDigest(PSK)), fingerprint, "the pair's name is in it");
  });

  it("plans the key from its file when the live peer holds another; refuses while the file is missing", () => {
    const declared = parseDeclared(renderNodeFiles(withPairKey, { publicKeys }).config);
    const live = {
      link: { up: true, mtu: 1420 },
      publicKey: KEYS.elementalist,
      listenPort: 50000,
      peers: [{ publicKey: KEYS.occultist, endpoint: "192.0.2.2:50000", allowedIps: ["198.51.100.2/32"], latestHandshake: 0, rxBytes: 0, txBytes: 0 }],
      addresses: ["198.51.100.1/24"],
      routes: [],
      resolved: {},
      autoMtu: 1420,
    };
    const options = { mode: "wg-quick" as const, publicKey: KEYS.elementalist };
    const ops = planSync(declared, { ...live, pairKeys: { "wg0@occultist@wg0.psk": presharedKeyDigest(PSK) } }, options).ops;
    assert.deepEqual(ops, [{ op: "peer", publicKey: KEYS.occultist, presharedKey: { file: "wg0@occultist@wg0.psk" } }]);
    assert.equal(encodePlan(ops, "wg0").plan, `wg\tpeer=${KEYS.occultist}\tpskfile=wg0@occultist@wg0.psk\n`);
    const inPlace = { ...live, peers: [{ ...live.peers[0]!, presharedKeyDigest: presharedKeyDigest(PSK) }], pairKeys: { "wg0@occultist@wg0.psk": presharedKeyDigest(PSK) } };
    assert.deepEqual(planSync(declared, inPlace, options).ops, []);
    assert.match(planSync(declared, live, options).refusals.join(), /pair key wg0@occultist@wg0\.psk of peer .* is not in the key folder/);
  });
});

describe("pair keys in an update: a node that cannot be asked holds back only work on its own pairs", () => {
  const X = { value: "aaaaaaaaaaaaaaaa", made: 100 };
  const Y = { value: "bbbbbbbbbbbbbbbb", made: 200 };
  const DOWN = { unasked: "n3: connect ETIMEDOUT" };

  it("keeps a pair both ends hold, makes one anew when an end lacks it, the ends differ or it rotates", () => {
    assert.deepEqual(pairWork([X, X], X, false), { kind: "keep", found: X, checked: true });
    assert.deepEqual(pairWork([X, X], undefined, false), { kind: "keep", found: X, checked: true }, "the nodes are the truth, not state");
    assert.deepEqual(pairWork([X, X], X, true), { kind: "make" });
    assert.deepEqual(pairWork([X, Y], X, false), { kind: "make" });
    assert.deepEqual(pairWork([undefined, X], X, false), { kind: "make" });
    assert.deepEqual(pairWork([undefined, undefined], undefined, false), { kind: "make" });
  });

  it("an end that cannot be asked: the pair is kept, unchecked, when nothing is due; else it is held back, saying why", () => {
    assert.deepEqual(pairWork([X, DOWN], X, false), { kind: "keep", found: X, checked: false });
    assert.deepEqual(pairWork([DOWN, DOWN], X, false), { kind: "keep", found: X, checked: false });
    assert.deepEqual(pairWork([X, DOWN], X, true), { kind: "blocked", reason: "it rotates" });
    assert.deepEqual(pairWork([DOWN, undefined], undefined, false), { kind: "blocked", reason: "it has no key yet" });
    assert.deepEqual(pairWork([Y, DOWN], X, false), { kind: "blocked", reason: "an end lacks its key or holds another" });
    assert.deepEqual(pairWork([DOWN, undefined], X, false), { kind: "blocked", reason: "an end lacks its key or holds another" });
  });

  it("never makes a key while an end cannot be asked, and never keeps one an asked end contradicts (seeded)", () => {
    const seed = seedFrom("WGF_PAIR_WORK_SEED");
    const random = prng(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const ends = [X, Y, undefined, DOWN] as const;
    for (let i = 0; i < 500; i++) {
      const pair = [pick(ends), pick(ends)] as const;
      const recorded = pick([X, Y, undefined]);
      const rotates = random() < 0.3;
      const work = pairWork(pair, recorded, rotates);
      const down = pair.filter((end) => end === DOWN).length;
      const asked = pair.filter((end) => end !== DOWN);
      const where = `seed ${seed} (WGF_PAIR_WORK_SEED), case ${i}: ${JSON.stringify({ pair, recorded, rotates, work })}`;
      if (down > 0) assert.notEqual(work.kind, "make", where);
      if (rotates) assert.notEqual(work.kind, "keep", where);
      if (work.kind === "keep") {
        assert.ok(asked.every((end) => end === work.found), where);
        assert.equal(work.checked, down === 0, where);
        if (down > 0) assert.equal(work.found, recorded, where);
      }
      // the only reason to hold a pair back is an end that cannot be asked
      if (work.kind === "blocked") assert.ok(down > 0, where);
      if (down === 0 && !rotates && pair[0] !== undefined && pair[0] === pair[1]) assert.equal(work.kind, "keep", where);
    }
  });
});
