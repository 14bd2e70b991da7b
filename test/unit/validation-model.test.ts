import * as assert from "node:assert/strict";
import { validateFabric } from "../../provider/fabric";
import { parseSectionConfig, writeFabricSections } from "../../provider/section-config";
import { parseFabricOrThrow, type Problem } from "../../provider/model";
import { KEYS, prng, seedFrom } from "./helpers";

/**
 * validateFabric's cross-reference rules against a naive model: every pair compared, IPv4 as
 * plain numbers, nothing shared with the code under test. The fabrics are small and random, with
 * dangling references, duplicates, one-sided peerings, overrides and routes (the same prefix on two peers; nested ones are fine).
 */

type Raw = Record<string, any>;

/** IPv4 `a.b.c.d/len` as [first, last]. */
function range(cidr: string): [number, number] {
  const [address, length] = cidr.split("/") as [string, string];
  const value = address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(length));
  const first = Math.floor(value / size) * size;
  return [first, first + size - 1];
}

const ROUTES = ["172.16.0.0/16", "172.16.1.0/24", "172.16.2.0/24", "172.17.0.0/24", "192.0.2.0/24", "192.0.2.4/30", "10.0.1.0/24", "0.0.0.0/0"];

function randomFabric(random: () => number): Raw {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number): boolean => random() < p;
  const routes = (): string[] => [...new Set(Array.from({ length: Math.floor(random() * 3) }, () => pick(ROUTES)))];
  const internal = Array.from({ length: 2 + Math.floor(random() * 4) }, (_, i) => `n${i}`);
  const external = Array.from({ length: Math.floor(random() * 3) }, (_, i) => `x${i}`);
  const nodes: Raw = {};
  internal.forEach((name, i) => {
    const interfaces: Raw = {};
    for (let k = 0; k < (chance(0.3) ? 2 : 1); k++) interfaces[`wg${k}`] = { ...(chance(0.9) ? { listenPort: 51820 + k } : {}), ip: `10.0.${i}.${k + 1}/24` };
    nodes[name] = {
      role: "internal",
      ...(chance(0.8) ? { endpoint: chance(0.7) ? `192.0.2.${i + 1}` : `192.0.2.${i + 1}:5190${i}` } : {}),
      allowedIps: routes(),
      ...(chance(0.1) ? { fullTunnel: true } : {}),
      interfaces,
      peers: [],
    };
  });
  external.forEach((name, j) => {
    nodes[name] = { role: "external", endpoint: chance(0.8) ? `198.51.100.${j + 1}:51820` : "gw.example:51820", allowedIps: routes(), publicKey: KEYS.berserker };
  });
  for (const name of internal) {
    const node = nodes[name] as Raw;
    for (let p = Math.floor(random() * 2 * internal.length); p > 0; p--) {
      const iface = chance(0.9) ? pick(Object.keys(node.interfaces)) : "wg7";
      const target = chance(0.05) ? "ghost" : pick(chance(0.8) ? internal : [...external, ...internal]);
      const internalType = chance(0.9) ? target.startsWith("n") : !target.startsWith("n");
      const peer: Raw = internalType ? { type: "internal", node: target, nodeIface: chance(0.9) ? pick(["wg0", "wg0", "wg1"]) : "wg9", iface } : { type: "external", node: target, iface };
      if (chance(0.15)) peer.allowedIps = routes();
      if (chance(0.1)) peer.extraAllowedIps = routes();
      if (chance(0.1)) peer.endpoint = chance(0.5) ? "192.0.2.77" : "192.0.2.78:51820";
      node.peers.push(peer);
    }
  }
  return { name: "vpn", nodes };
}

/** What the model expects: `where|rule`, one per problem (the same prefix on two peers: one per interface that has any). */
function modelProblems(fabric: Raw): string[] {
  const nodes = fabric.nodes as Record<string, Raw>;
  const found: string[] = [];
  const internal = Object.keys(nodes).filter((name) => nodes[name]?.role === "internal");
  const targetOf = (peer: Raw): Raw | undefined => nodes[peer.node];
  const resolves = (peer: Raw): boolean => {
    const target = targetOf(peer);
    return target !== undefined && target.role === peer.type && (peer.type === "external" || target.interfaces[peer.nodeIface] !== undefined);
  };
  const hasPort = (endpoint: string): boolean => /:\d+$/.test(endpoint);
  const address = (endpoint: string | undefined): number | undefined => {
    const host = endpoint?.replace(/:\d+$/, "");
    return host && /^\d+\.\d+\.\d+\.\d+$/.test(host) ? range(`${host}/32`)[0] : undefined;
  };
  // a public key names one peer: an external node may not repeat another's
  const keys = new Set<string>();
  for (const [name, node] of Object.entries(nodes)) {
    if (node.role !== "external") continue;
    if (keys.has(node.publicKey)) found.push(`${name}: publicKey|key`);
    keys.add(node.publicKey);
  }
  for (const name of internal) {
    const node = nodes[name] as Raw;
    // two interfaces of a node on overlapping subnets: the later one is named
    const subnets = Object.entries(node.interfaces as Record<string, Raw>).map(([iface, spec]) => [iface, range(spec.ip)] as const);
    subnets.forEach(([iface, [first, last]], k) => {
      if (subnets.slice(0, k).some(([, [a, b]]) => a <= last && first <= b)) found.push(`${name}: ${iface}: ip|subnet`);
    });
    const seen = new Set<string>();
    (node.peers as Raw[]).forEach((peer, i) => {
      const at = `${name}: peers[${i}]`;
      if (!node.interfaces[peer.iface]) found.push(`${at}: iface|iface`);
      const target = targetOf(peer);
      if (!target) found.push(`${at}: node|node`);
      else if (target.role !== peer.type) found.push(`${at}: type|type`);
      else if (peer.type === "internal" && !target.interfaces[peer.nodeIface]) found.push(`${at}: nodeIface|nodeIface`);
      else if (peer.type === "internal") {
        if (peer.node === name && peer.nodeIface === peer.iface) found.push(`${at}|self`);
        const endpoint = peer.endpoint ?? target.endpoint;
        if (endpoint && !hasPort(endpoint) && target.interfaces[peer.nodeIface].listenPort === undefined) found.push(`${at}: endpoint|port`);
      }
      if (peer.type === "external" && peer.endpoint && !hasPort(peer.endpoint)) found.push(`${at}: endpoint|port`);
      const key = `${peer.iface}|${peer.type === "internal" ? `${peer.node}/${peer.nodeIface}` : peer.node}`;
      if (seen.has(key)) found.push(`${at}|duplicate`);
      seen.add(key);
      if (peer.type === "internal" && resolves(peer) && node.interfaces[peer.iface] && peer.node !== name) {
        const back = (target as Raw).peers.some((p: Raw) => p.type === "internal" && p.node === name && p.nodeIface === peer.iface && p.iface === peer.nodeIface);
        if (!back) found.push(`${at}|one-sided`);
      }
    });
    // the interfaces' views: resolving peers of each interface, in order
    const routedThrough = new Map<string, string>();
    for (const iface of Object.keys(node.interfaces)) {
      const view = (node.peers as Raw[]).map((peer, i) => ({ peer, i })).filter(({ peer }) => peer.iface === iface && resolves(peer));
      const claims = view.map(({ peer, i }) => {
        const target = targetOf(peer) as Raw;
        const allowed: string[] = [...(peer.allowedIps ?? target.allowedIps), ...(peer.extraAllowedIps ?? [])];
        const host = peer.type === "internal" ? [`${target.interfaces[peer.nodeIface].ip.split("/")[0]}/32`] : [];
        return { i, allowed, host, endpoint: peer.endpoint ?? target.endpoint, label: peer.type === "internal" ? `${peer.node}/${peer.nodeIface}` : peer.node };
      });
      // the very same addresses on two peers; nested prefixes are fine (the longest match wins),
      // and one peer listed twice is one mistake (a duplicate)
      const same = (x: string, y: string): boolean => range(x)[0] === range(y)[0] && range(x)[1] === range(y)[1];
      const shared = claims.some((a, p) => claims.some((b, q) => p !== q && a.label !== b.label && [...a.allowed, ...a.host].some((x) => [...b.allowed, ...b.host].some((y) => same(x, y)))));
      if (shared) found.push(`${name}: ${iface}|same`);
      const endpoints = claims.map((claim) => address(claim.endpoint)).filter((a): a is number => a !== undefined);
      for (const claim of claims) {
        if (!node.fullTunnel) for (const route of claim.allowed) if (route.endsWith("/0")) found.push(`${name}: peers[${claim.i}]: allowedIps|default`);
        for (const route of [...claim.allowed, ...claim.host]) {
          if (route.endsWith("/0")) continue;
          const [first, last] = range(route);
          if (endpoints.some((a) => first <= a && a <= last)) found.push(`${name}: ${iface}: peers[${claim.i}]: allowedIps|tunnel`);
        }
        if (Object.keys(node.interfaces).length < 2) continue;
        for (const route of [...claim.host, ...claim.allowed]) {
          if (route.endsWith("/0")) continue;
          const first = routedThrough.get(route);
          if (first === undefined) routedThrough.set(route, iface);
          else if (first !== iface) found.push(`${name}: ${iface}: peers[${claim.i}]: allowedIps|across`);
        }
      }
    }
  }
  return found.sort();
}

const RULES: [RegExp, string][] = [
  [/is not defined on node|is not defined in fabric|is external; use|is internal; use/, ""],
  [/cannot be its own peer/, "self"],
  [/so the endpoint needs a port|endpoint needs a port/, "port"],
  [/is already a peer of/, "duplicate"],
  [/has no peer back/, "one-sided"],
  [/is also an AllowedIP of peers\[/, "same"],
  [/is also the public key of/, "key"],
  [/would route all of/, "default"],
  [/covers .*, the endpoint of/, "tunnel"],
  [/is already routed through/, "across"],
  [/overlaps .* on this node/, "subnet"],
];

/** validateFabric's problems as `where|rule` (the same prefix on two peers: one per interface). */
function actualProblems(problems: readonly Problem[]): string[] {
  const found = new Set<string>();
  const list: string[] = [];
  for (const problem of problems) {
    const rule = RULES.find(([pattern]) => pattern.test(problem.message));
    assert.ok(rule, `unexpected problem: ${problem.where}: ${problem.message}`);
    if (rule[1] === "same") found.add(`${problem.where.replace(/: peers\[\d+\]: allowedIps$/, "")}|same`);
    else list.push(`${problem.where}|${rule[1] || (problem.where.split(": ").pop() as string)}`);
  }
  return [...list, ...found].sort();
}

describe("validation against a naive model", () => {
  it("every cross-reference rule on random fabrics, also after a round trip through fabrics.cfg (seeded)", () => {
    const seed = seedFrom("WGF_VALIDATION_SEED");
    const random = prng(seed);
    for (let round = 0; round < 400; round++) {
      const input = randomFabric(random);
      const context = `seed ${seed} (replay with WGF_VALIDATION_SEED=${seed}), round ${round}: ${JSON.stringify(input)}`;
      const fabric = parseFabricOrThrow(input);
      const problems = validateFabric(fabric);
      assert.deepEqual(actualProblems(problems), modelProblems(input), context);
      // the file reader shares equal peer lines: the same problems come back
      const [reread] = parseSectionConfig(writeFabricSections(fabric, { dialect: "rfc" })).fabrics;
      assert.deepEqual(validateFabric(reread as typeof fabric), problems, context);
    }
  });
});
