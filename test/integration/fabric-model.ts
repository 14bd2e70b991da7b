/**
 * A model of a lab fabric for model-based tests: random edits change the model, the model says
 * what the program declares, and (apart, from the wg-quick(8) rules, without the planner or
 * renderers) what every node's live interfaces must hold afterwards.
 *
 * Shape: every node has `wg0` (IPv4, 10.40.0.0/24); some have `wg1` (IPv6, fd40:1::/64).
 * Peerings join the same interface name on two nodes. `wg0` peers carry the node's allowed
 * networks; `wg1` peers override them with none (so no prefix is routed through two
 * interfaces of one node, which Linux would refuse). Node number i owns 10.(110+i).0.0/16 and
 * subnets of it; another node may route a /24 nested inside it (10.(110+i).(5+j).0/24 of node
 * j), and a wg-quick node may send its default traffic to one of its peers (a full tunnel).
 */
import type { ApplyMode, FabricInput } from "../../provider/model";

export type IfName = "wg0" | "wg1";
export const IFACES: readonly IfName[] = ["wg0", "wg1"];

/** One interface of a node. */
export interface ModelIface {
  port: number;
  /** Host part of the interface address. */
  host: number;
  mtu?: number;
}

/** A peer entry on a node's interface, pointing at the same interface of another node. */
export interface ModelEntry {
  psk?: string;
  /** A pair key made on the nodes, with this rotation value (the same in both entries of the peering). */
  pair?: string;
  keepalive?: number;
  /** This peer takes the node's default traffic (a full tunnel: 0.0.0.0/0 added to its AllowedIPs). */
  gateway?: boolean;
}

/** One internal node. */
export interface ModelNode {
  /** How its configs go live: fixed for a run (wg-quick unless the test gives one). */
  readonly mode: ApplyMode;
  /** Which of the node's lab addresses its endpoint names, or none. */
  endpoint: "primary" | "secondary" | "none";
  allowed: string[];
  ifaces: Partial<Record<IfName, ModelIface>>;
  /** Per local interface: peer node → entry. */
  entries: Record<IfName, Record<string, ModelEntry>>;
}

/** The whole fabric. */
export interface Model {
  readonly names: readonly string[];
  readonly nodes: Record<string, ModelNode>;
}

/** A node's two lab addresses. */
export interface NodeAddresses {
  readonly primary: string;
  readonly secondary: string;
}

const FIRST_PORT: Record<IfName, number> = { wg0: 51000, wg1: 52000 };

export function interfaceAddress(iface: IfName, host: number): string {
  return iface === "wg0" ? `10.40.0.${host}/24` : `fd40:1::${host.toString(16)}/64`;
}

function hostRoute(iface: IfName, host: number): string {
  return iface === "wg0" ? `10.40.0.${host}/32` : `fd40:1::${host.toString(16)}/128`;
}

/** The address to ping an interface at. */
export function pingAddress(iface: IfName, host: number): string {
  return interfaceAddress(iface, host).split("/")[0] as string;
}

/** A full tunnel's AllowedIP. */
const DEFAULT_ROUTE = "0.0.0.0/0";

/** The /24 node number `inner` routes inside node number `outer`'s /16. */
function nestedSubnet(outer: number, inner: number): string {
  return `10.${110 + outer}.${5 + inner}.0/24`;
}

/**
 * Addresses each node owns (on its lab link) to be reached through the fabric: one in its own
 * /16 outside every subnet of it, one in each nested /24 it may route, one beyond every route
 * (for a full tunnel), by node.
 */
export function ownedAddresses(names: readonly string[]): Record<string, string[]> {
  return Object.fromEntries(
    names.map((name, i) => [name, [`10.${110 + i}.200.1`, ...names.flatMap((_, outer) => (outer === i ? [] : [nestedSubnet(outer, i).replace(/0\/24$/, "1")])), `10.250.0.${i + 1}`]]),
  );
}

/** The networks node number `i` may announce (disjoint between nodes; a /16 and a /24 in it). */
function allowedPool(i: number): string[] {
  return [`10.${110 + i}.0.0/16`, `10.${110 + i}.0.0/24`, `10.${110 + i}.2.0/24`, `fd${90 + i}::/48`, `fd${90 + i}:1::/64`];
}

/** Every node has wg0, the first three also wg1; wg0 is a full mesh (the first two nodes' peering with a pair key), wg1 a chain. Nodes not in `modes` use wg-quick. */
export function initialModel(names: readonly string[], modes: Readonly<Record<string, ApplyMode>> = {}): Model {
  const nodes: Record<string, ModelNode> = {};
  names.forEach((name, i) => {
    nodes[name] = {
      mode: modes[name] ?? "wg-quick",
      endpoint: "primary",
      allowed: [allowedPool(i)[0] as string],
      ifaces: { wg0: { port: FIRST_PORT.wg0, host: i + 1 }, ...(i < 3 ? { wg1: { port: FIRST_PORT.wg1, host: i + 1 } } : {}) },
      entries: { wg0: Object.fromEntries(names.filter((other) => other !== name).map((other) => [other, {}])), wg1: {} },
    };
  });
  for (let i = 0; i + 1 < Math.min(3, names.length); i++) {
    (nodes[names[i] as string] as ModelNode).entries.wg1[names[i + 1] as string] = {};
    (nodes[names[i + 1] as string] as ModelNode).entries.wg1[names[i] as string] = {};
  }
  // one peering starts with a pair key, so that rotations and removals come early
  if (names.length > 1) {
    (nodes[names[0] as string] as ModelNode).entries.wg0[names[1] as string] = { pair: "r1" };
    (nodes[names[1] as string] as ModelNode).entries.wg0[names[0] as string] = { pair: "r1" };
  }
  return { names, nodes };
}

/** The fabric the program declares for the model (pre-shared keys inline). */
export function specOf(model: Model, addresses: Readonly<Record<string, NodeAddresses>>): FabricInput {
  const nodes: FabricInput["nodes"] = {};
  for (const name of model.names) {
    const node = model.nodes[name] as ModelNode;
    const address = addresses[name] as NodeAddresses;
    nodes[name] = {
      role: "internal",
      ...(node.mode === "wg-quick" ? {} : { applyMode: node.mode }),
      ...(Object.values(node.entries.wg0).some((entry) => entry.gateway) ? { fullTunnel: true } : {}),
      ...(node.endpoint === "none" ? {} : { endpoint: address[node.endpoint] }),
      allowedIps: [...node.allowed],
      interfaces: Object.fromEntries(
        IFACES.flatMap((iface) => {
          const spec = node.ifaces[iface];
          return spec ? [[iface, { listenPort: spec.port, ip: interfaceAddress(iface, spec.host), ...(spec.mtu ? { mtu: spec.mtu } : {}) }]] : [];
        }),
      ),
      peers: IFACES.flatMap((iface) =>
        Object.entries(node.entries[iface]).map(([other, entry]) => ({
          type: "internal" as const,
          node: other,
          nodeIface: iface,
          iface,
          ...(iface === "wg1" ? { allowedIps: [] } : {}),
          ...(entry.gateway ? { extraAllowedIps: [DEFAULT_ROUTE] } : {}),
          ...(entry.psk ? { presharedKey: entry.psk } : {}),
          ...(entry.pair ? { pairKey: true, pairKeyRotation: entry.pair } : {}),
          ...(entry.keepalive ? { persistentKeepalive: entry.keepalive } : {}),
        })),
      ),
    };
  }
  return { name: "model", nodes };
}

// ---------------------------------------------------------------------------------------------
// Random edits

type Random = () => number;
const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;

function pskFrom(random: Random): string {
  return Buffer.from(Array.from({ length: 32 }, () => Math.floor(random() * 256))).toString("base64");
}

/** Pairs of nodes that both have `iface`, as [a, b] with a before b. */
function pairsOn(model: Model, iface: IfName): [string, string][] {
  const having = model.names.filter((name) => model.nodes[name]?.ifaces[iface]);
  return having.flatMap((a, i) => having.slice(i + 1).map((b): [string, string] => [a, b]));
}

function unusedHost(model: Model, iface: IfName, random: Random): number {
  const used = new Set(model.names.map((name) => model.nodes[name]?.ifaces[iface]?.host));
  for (;;) {
    const host = 1 + Math.floor(random() * 200);
    if (!used.has(host)) return host;
  }
}

/** One edit: what it did, or undefined when it does not apply to this model (another is drawn). */
type Edit = (model: Model, random: Random) => string | undefined;

const EDITS: Record<string, Edit> = {
  "add peering": (model, random) => {
    const iface = pick(random, IFACES);
    const missing = pairsOn(model, iface).filter(([a, b]) => !model.nodes[a]?.entries[iface][b] || !model.nodes[b]?.entries[iface][a]);
    if (missing.length === 0) return undefined;
    const [a, b] = pick(random, missing);
    (model.nodes[a] as ModelNode).entries[iface][b] ??= {};
    (model.nodes[b] as ModelNode).entries[iface][a] ??= {};
    return `peer ${a}/${iface} with ${b}/${iface}`;
  },
  "remove peering": (model, random) => {
    const iface = pick(random, IFACES);
    const present = pairsOn(model, iface).filter(([a, b]) => model.nodes[a]?.entries[iface][b] || model.nodes[b]?.entries[iface][a]);
    if (present.length === 0) return undefined;
    const [a, b] = pick(random, present);
    const oneSide = random() < 0.3;
    delete (model.nodes[a] as ModelNode).entries[iface][b];
    if (!oneSide) delete (model.nodes[b] as ModelNode).entries[iface][a];
    // a pair key needs both entries: the one left stops asking for it
    else delete (model.nodes[b] as ModelNode).entries[iface][a]?.pair;
    return oneSide ? `remove ${b} from the peers of ${a}/${iface} (one side only)` : `unpeer ${a}/${iface} and ${b}/${iface}`;
  },
  "grow allowed": (model, random) => {
    const i = Math.floor(random() * model.names.length);
    const node = model.nodes[model.names[i] as string] as ModelNode;
    const spare = allowedPool(i).filter((net) => !node.allowed.includes(net));
    if (spare.length === 0) return undefined;
    const net = pick(random, spare);
    node.allowed.push(net);
    return `add ${net} to ${model.names[i]}'s allowed IPs`;
  },
  "shrink allowed": (model, random) => {
    const name = pick(random, model.names);
    const node = model.nodes[name] as ModelNode;
    if (node.allowed.length === 0) return undefined;
    const net = pick(random, node.allowed);
    node.allowed = node.allowed.filter((n) => n !== net);
    return `remove ${net} from ${name}'s allowed IPs`;
  },
  "narrow or widen allowed": (model, random) => {
    const i = Math.floor(random() * model.names.length);
    const node = model.nodes[model.names[i] as string] as ModelNode;
    const [wide, narrow] = allowedPool(i) as [string, string];
    const has = node.allowed.includes(wide) ? wide : node.allowed.includes(narrow) ? narrow : undefined;
    if (!has) return undefined;
    const other = has === wide ? narrow : wide;
    node.allowed = [...node.allowed.filter((n) => n !== has && n !== other), other];
    return `replace ${has} by ${other} in ${model.names[i]}'s allowed IPs`;
  },
  "set pre-shared key": (model, random) => {
    const iface = pick(random, IFACES);
    const mutual = pairsOn(model, iface).filter(([a, b]) => model.nodes[a]?.entries[iface][b] && model.nodes[b]?.entries[iface][a]);
    if (mutual.length === 0) return undefined;
    const [a, b] = pick(random, mutual);
    const psk = pskFrom(random);
    const had = (model.nodes[a] as ModelNode).entries[iface][b]?.psk;
    // the user's key replaces a pair key (asking for both is an error)
    const { pair: _a, ...atA } = (model.nodes[a] as ModelNode).entries[iface][b] as ModelEntry;
    const { pair: _b, ...atB } = (model.nodes[b] as ModelNode).entries[iface][a] as ModelEntry;
    (model.nodes[a] as ModelNode).entries[iface][b] = { ...atA, psk };
    (model.nodes[b] as ModelNode).entries[iface][a] = { ...atB, psk };
    return `${had ? "change" : "add"} the pre-shared key of ${a}/${iface} <-> ${b}/${iface}`;
  },
  "pair key on or off": (model, random) => {
    const iface = pick(random, IFACES);
    const mutual = pairsOn(model, iface).filter(([a, b]) => model.nodes[a]?.entries[iface][b] && model.nodes[b]?.entries[iface][a]);
    if (mutual.length === 0) return undefined;
    const [a, b] = pick(random, mutual);
    const entries = [(model.nodes[a] as ModelNode).entries[iface][b], (model.nodes[b] as ModelNode).entries[iface][a]] as ModelEntry[];
    const on = entries[0]?.pair === undefined;
    const replaced = on && entries.some((entry) => entry.psk);
    for (const entry of entries) {
      delete entry.psk;
      if (on) entry.pair = "r1";
      else delete entry.pair;
    }
    return `pair key of ${a}/${iface} <-> ${b}/${iface} ${on ? "on" : "off"}${replaced ? " (in place of a pre-shared key)" : ""}`;
  },
  "rotate a pair key": (model, random) => {
    const iface = pick(random, IFACES);
    const keyed = pairsOn(model, iface).filter(([a, b]) => model.nodes[a]?.entries[iface][b]?.pair && model.nodes[b]?.entries[iface][a]?.pair);
    if (keyed.length === 0) return undefined;
    const [a, b] = pick(random, keyed);
    for (const entry of [(model.nodes[a] as ModelNode).entries[iface][b], (model.nodes[b] as ModelNode).entries[iface][a]] as ModelEntry[]) {
      entry.pair = `r${Number((entry.pair ?? "r0").slice(1)) + 1}`;
    }
    return `rotate the pair key of ${a}/${iface} <-> ${b}/${iface}`;
  },
  keepalive: (model, random) => {
    const name = pick(random, model.names);
    const iface = pick(random, IFACES);
    const others = Object.keys((model.nodes[name] as ModelNode).entries[iface]);
    if (others.length === 0) return undefined;
    const other = pick(random, others);
    const entry = (model.nodes[name] as ModelNode).entries[iface][other] as ModelEntry;
    if (entry.keepalive) {
      delete entry.keepalive;
      return `remove the keepalive of ${name}/${iface} to ${other}`;
    }
    entry.keepalive = pick(random, [15, 25]);
    return `keepalive ${entry.keepalive} on ${name}/${iface} to ${other}`;
  },
  "change endpoint": (model, random) => {
    const name = pick(random, model.names);
    const node = model.nodes[name] as ModelNode;
    const next = pick(random, (["primary", "secondary", "none"] as const).filter((e) => e !== node.endpoint));
    node.endpoint = next;
    return next === "none" ? `remove ${name}'s endpoint` : `${name}'s endpoint becomes its ${next} address`;
  },
  mtu: (model, random) => {
    const name = pick(random, model.names);
    const iface = pick(random, IFACES);
    const spec = model.nodes[name]?.ifaces[iface];
    if (!spec) return undefined;
    spec.mtu = pick(random, [undefined, 1280, 1380, 1400].filter((m) => m !== spec.mtu));
    return `MTU of ${name}/${iface}: ${spec.mtu ?? "default"}`;
  },
  address: (model, random) => {
    const name = pick(random, model.names);
    const iface = pick(random, IFACES);
    const spec = model.nodes[name]?.ifaces[iface];
    if (!spec) return undefined;
    spec.host = unusedHost(model, iface, random);
    return `address of ${name}/${iface}: ${interfaceAddress(iface, spec.host)}`;
  },
  "listen port": (model, random) => {
    const name = pick(random, model.names);
    const iface = pick(random, IFACES);
    const spec = model.nodes[name]?.ifaces[iface];
    if (!spec) return undefined;
    spec.port = FIRST_PORT[iface] + 1 + Math.floor(random() * 900);
    return `listen port of ${name}/${iface}: ${spec.port}`;
  },
  "add interface": (model, random) => {
    const without = model.names.filter((name) => !model.nodes[name]?.ifaces.wg1);
    const withIt = model.names.filter((name) => model.nodes[name]?.ifaces.wg1);
    if (without.length === 0) return undefined;
    const name = pick(random, without);
    const node = model.nodes[name] as ModelNode;
    node.ifaces.wg1 = { port: FIRST_PORT.wg1, host: unusedHost(model, "wg1", random) };
    if (withIt.length > 0) {
      const other = pick(random, withIt);
      node.entries.wg1[other] = {};
      (model.nodes[other] as ModelNode).entries.wg1[name] = {};
    }
    return `add wg1 to ${name}`;
  },
  "nest a subnet": (model, random) => {
    const inner = Math.floor(random() * model.names.length);
    const outer = pick(random, model.names.map((_, i) => i).filter((i) => i !== inner));
    const node = model.nodes[model.names[inner] as string] as ModelNode;
    const subnet = nestedSubnet(outer, inner);
    if (node.allowed.includes(subnet)) return undefined;
    node.allowed.push(subnet);
    return `${model.names[inner]} routes ${subnet}, inside ${model.names[outer]}'s 10.${110 + outer}.0.0/16`;
  },
  gateway: (model, random) => {
    const clients = model.names.filter((name) => model.nodes[name]?.mode === "wg-quick" && Object.keys(model.nodes[name]?.entries.wg0 ?? {}).length > 0);
    if (clients.length === 0) return undefined;
    const name = pick(random, clients);
    const entries = (model.nodes[name] as ModelNode).entries.wg0;
    const current = Object.keys(entries).find((other) => entries[other]?.gateway);
    if (current && random() < 0.5) {
      delete (entries[current] as ModelEntry).gateway;
      return `${name} stops sending its default traffic to ${current}`;
    }
    const next = pick(random, Object.keys(entries).filter((other) => other !== current));
    if (!next) return undefined;
    if (current) delete (entries[current] as ModelEntry).gateway;
    (entries[next] as ModelEntry).gateway = true;
    return `${name} sends its default traffic to ${next} (a full tunnel)`;
  },
  "remove interface": (model, random) => {
    const withIt = model.names.filter((name) => model.nodes[name]?.ifaces.wg1);
    if (withIt.length === 0) return undefined;
    const name = pick(random, withIt);
    const node = model.nodes[name] as ModelNode;
    delete node.ifaces.wg1;
    node.entries.wg1 = {};
    for (const other of model.names) delete (model.nodes[other] as ModelNode).entries.wg1[name];
    return `remove wg1 from ${name} (and every peer entry for it)`;
  },
};

/** The kinds of edit, for reports. */
export const EDIT_KINDS = Object.keys(EDITS);

/** Applies one random edit that fits the model; returns what it did. */
export function randomEdit(model: Model, random: Random): string {
  for (;;) {
    const done = EDITS[pick(random, EDIT_KINDS)]?.(model, random);
    if (done) return done;
  }
}

/** A deep copy, to compare before and after an edit. */
export function cloneModel(model: Model): Model {
  return JSON.parse(JSON.stringify(model)) as Model;
}

// ---------------------------------------------------------------------------------------------
// Expected live state, from the wg-quick(8) rules (and Proxmox VE's stanza for its routes)

/** A peer as the running interface must hold it. */
export interface ExpectedPeer {
  readonly node: string;
  readonly psk?: string;
  /** A pair key: its rotation value; the running key must be the one both ends' files hold. */
  readonly pairKey?: string;
  readonly keepalive?: number;
  /** Where the peer is: any of its node's addresses, at this port; undefined when not declared. */
  readonly endpoint?: { readonly hosts: readonly string[]; readonly declared: string; readonly port: number };
  readonly allowedIps: readonly string[];
}

/** An interface as it must run. */
export interface ExpectedIface {
  readonly port: number;
  readonly address: string;
  readonly mtu: number;
  readonly peers: readonly ExpectedPeer[];
  /** Prefixes routed to the interface besides its own subnet: AllowedIPs outside it. */
  readonly routes: readonly string[];
}

/** Every interface of the model by `node/iface`, as it must run. */
export function expectedOf(model: Model, addresses: Readonly<Record<string, NodeAddresses>>): Map<string, ExpectedIface> {
  const result = new Map<string, ExpectedIface>();
  for (const name of model.names) {
    const node = model.nodes[name] as ModelNode;
    for (const iface of IFACES) {
      const spec = node.ifaces[iface];
      if (!spec) continue;
      const peers = Object.entries(node.entries[iface]).map(([other, entry]): ExpectedPeer => {
        const target = model.nodes[other] as ModelNode;
        const targetIface = target.ifaces[iface] as ModelIface;
        const address = addresses[other] as NodeAddresses;
        return {
          node: other,
          ...(entry.psk ? { psk: entry.psk } : {}),
          ...(entry.pair ? { pairKey: entry.pair } : {}),
          ...(entry.keepalive ? { keepalive: entry.keepalive } : {}),
          ...(target.endpoint === "none"
            ? {}
            : { endpoint: { hosts: [address.primary, address.secondary], declared: `${address[target.endpoint]}:${targetIface.port}`, port: targetIface.port } }),
          allowedIps: [hostRoute(iface, targetIface.host), ...(iface === "wg0" ? target.allowed : []), ...(entry.gateway ? [DEFAULT_ROUTE] : [])].sort(),
        };
      });
      // host routes lie in the interface's own subnet, which the kernel routes; the rest gets a
      // route (Proxmox VE's stanza routes every AllowedIP, host routes too); a default route
      // goes into a table of its own (the main table keeps its own)
      const inSubnet = (ip: string): boolean => node.mode !== "proxmox" && (ip.startsWith("10.40.0.") || ip.startsWith("fd40:1::"));
      const routes = [...new Set(peers.flatMap((peer) => peer.allowedIps.filter((ip) => !inSubnet(ip) && ip !== DEFAULT_ROUTE)))].sort();
      result.set(`${name}/${iface}`, { port: spec.port, address: interfaceAddress(iface, spec.host), mtu: spec.mtu ?? 1420, peers, routes });
    }
  }
  return result;
}

/** A pair of interfaces that must carry pings: mutual, same pre-shared key, and an endpoint to dial. */
export interface Tunnel {
  /** The side that knows the other's endpoint (it can start the handshake). */
  readonly from: string;
  readonly to: string;
  readonly iface: IfName;
  readonly address: string;
}

/** The tunnels of the model, each once. */
export function tunnelsOf(model: Model): Tunnel[] {
  const tunnels: Tunnel[] = [];
  for (const iface of IFACES) {
    for (const [a, b] of pairsOn(model, iface)) {
      const ab = model.nodes[a]?.entries[iface][b];
      const ba = model.nodes[b]?.entries[iface][a];
      if (!ab || !ba || (ab.psk ?? "") !== (ba.psk ?? "") || (ab.pair ?? "") !== (ba.pair ?? "")) continue;
      const [from, to] = model.nodes[b]?.endpoint !== "none" ? [a, b] : model.nodes[a]?.endpoint !== "none" ? [b, a] : [];
      if (!from || !to) continue;
      tunnels.push({ from, to, iface, address: pingAddress(iface, model.nodes[to]?.ifaces[iface]?.host as number) });
    }
  }
  return tunnels;
}

/** Tunnels whose pair key an edit rotated (and nothing else of them): a rotation must not lose a packet. */
export function rotatedTunnels(before: Model, after: Model, addresses: Readonly<Record<string, NodeAddresses>>): Tunnel[] {
  const pairOf = (model: Model, t: Tunnel) => model.nodes[t.from]?.entries[t.iface][t.to]?.pair;
  return untouchedTunnels(before, after, addresses).filter((t) => pairOf(before, t) !== undefined && pairOf(after, t) !== undefined && pairOf(before, t) !== pairOf(after, t));
}

/**
 * Tunnels an edit did not touch: both interfaces and both peer entries are as they were, but
 * for a rotated pair key (a rotation must not interrupt the tunnel: the guard ping may run on it).
 */
export function untouchedTunnels(before: Model, after: Model, addresses: Readonly<Record<string, NodeAddresses>>): Tunnel[] {
  const was = expectedOf(before, addresses);
  const is = expectedOf(after, addresses);
  const same = (node: string, iface: IfName, peer: string): boolean => {
    const a = was.get(`${node}/${iface}`);
    const b = is.get(`${node}/${iface}`);
    if (!a || !b || a.port !== b.port || a.address !== b.address || a.mtu !== b.mtu) return false;
    const entry = (peers: readonly ExpectedPeer[]) => {
      const found = peers.find((p) => p.node === peer);
      return JSON.stringify(found && { ...found, pairKey: found.pairKey !== undefined });
    };
    return entry(a.peers) === entry(b.peers);
  };
  const stillThere = new Set(tunnelsOf(after).map((t) => JSON.stringify(t)));
  return tunnelsOf(before).filter((t) => stillThere.has(JSON.stringify(t)) && same(t.from, t.iface, t.to) && same(t.to, t.iface, t.from));
}

// ---------------------------------------------------------------------------------------------
// Which peer a packet leaves through: the longest matching AllowedIP, as WireGuard and the kernel pick

function ipv4(text: string): number {
  return text.split(".").reduce((value, part) => value * 256 + Number(part), 0);
}

/** True when IPv4 `address` lies in `prefix` (`a.b.c.d/n`). */
function contains(prefix: string, address: string): boolean {
  const [net, bits] = prefix.split("/") as [string, string];
  if (net.includes(":") || address.includes(":")) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(net) / size) === Math.floor(ipv4(address) / size);
}

/** The peer of `from`'s wg0 a packet to `address` leaves through, or undefined when none routes it. */
export function carrierOf(expected: Map<string, ExpectedIface>, from: string, address: string): string | undefined {
  let best: { node: string; bits: number } | undefined;
  for (const peer of expected.get(`${from}/wg0`)?.peers ?? []) {
    for (const prefix of peer.allowedIps) {
      const bits = Number(prefix.split("/")[1]);
      if (contains(prefix, address) && (!best || bits > best.bits)) best = { node: peer.node, bits };
    }
  }
  return best?.node;
}

/** A packet whose way through the fabric can be checked: from a node to an address another owns, through that node's peer. */
export interface RoutingProbe {
  readonly from: string;
  readonly via: string;
  readonly address: string;
}

/** Every probe the model allows: the longest match leads to the address's owner, over a tunnel on wg0. */
export function routingProbes(model: Model, addresses: Readonly<Record<string, NodeAddresses>>): RoutingProbe[] {
  const expected = expectedOf(model, addresses);
  const tunnels = tunnelsOf(model).filter((t) => t.iface === "wg0");
  const linked = (a: string, b: string): boolean => tunnels.some((t) => (t.from === a && t.to === b) || (t.from === b && t.to === a));
  const probes: RoutingProbe[] = [];
  for (const [owner, owned] of Object.entries(ownedAddresses(model.names))) {
    for (const from of model.names) {
      if (from === owner || !linked(from, owner)) continue;
      for (const address of owned) if (carrierOf(expected, from, address) === owner) probes.push({ from, via: owner, address });
    }
  }
  return probes;
}
