import {
  FabricError,
  formatEndpoint,
  locate,
  parseFabric,
  redactSecrets,
  type Fabric,
  type FabricNode,
  type Interface,
  type Peer,
  type Problem,
} from "../model";
import { keyId } from "./keys";

/**
 * Proxmox VE's `fabrics.cfg` (section config) for WireGuard fabrics, in the RFC's syntax:
 *
 *     wireguard_fabric: vpn
 *
 *     wireguard_node: vpn_occultist
 *             endpoint 192.0.2.2
 *             interfaces name=wg0,listen_port=50000,ip=198.51.100.2/24
 *             peers type=internal,node=elementalist,node_iface=wg0,iface=wg0
 *             role internal
 *
 * Sections of other protocols (ospf_fabric:, openfabric_node: …) are kept as they are.
 */

/** A section this module does not interpret, kept verbatim. */
export interface ForeignSection {
  readonly text: string;
}

/** A parsed fabrics.cfg. */
export interface SectionConfig {
  readonly fabrics: readonly Fabric[];
  readonly foreign: readonly ForeignSection[];
}

/** Thrown for a fabrics.cfg that cannot be parsed; problems carry `file:line:` in `where`. */
export class SectionConfigError extends FabricError {}

const FABRIC_TYPE = "wireguard_fabric";
const NODE_TYPE = "wireguard_node";
const LIST_KEYS = new Set(["allowed_ips", "interfaces", "peers"]);

type Raw = Record<string, unknown>;

interface RawFabric {
  readonly raw: Raw & { nodes: Record<string, Raw> };
  /** Line of each parsed value, by zod path joined with "/". */
  readonly lines: Map<string, number>;
}

function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function numeric(key: string, value: string): unknown {
  if (key === "full_tunnel" && /^[01]$/.test(value)) return value === "1";
  return /^(listen_port|mtu|persistent_keepalive)$/.test(key) && /^\d+$/.test(value) ? Number(value) : value;
}

/** `name=wg0,listen_port=50000` → `{ name: "wg0", listenPort: 50000 }`; lists use ";". */
function parsePropertyString(text: string): Raw | string {
  const result: Raw = {};
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return `"${part}" in "${text}" is not key=value`;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (camel(key) in result) return `"${key}" appears twice in "${text}"`;
    result[camel(key)] = key === "allowed_ips" ? value.split(";").filter(Boolean) : numeric(key, value);
  }
  return result;
}

/** Parses a whole fabrics.cfg; throws {@link SectionConfigError} naming `file:line` of each problem. */
export function parseSectionConfig(text: string, file = "fabrics.cfg"): SectionConfig {
  const problems: Problem[] = [];
  const fail = (line: number, message: string): void => {
    // messages quote the offending line: never a pre-shared key in it
    problems.push({ severity: "error", where: `${file}:${line}`, message: redactSecrets(message) });
  };
  const raws = new Map<string, RawFabric>();
  const fabricOf = (name: string): RawFabric => {
    let entry = raws.get(name);
    if (!entry) raws.set(name, (entry = { raw: { name, nodes: {} }, lines: new Map() }));
    return entry;
  };
  const foreignSections: string[][] = [];
  const lines = text.split("\n");
  let current: { fabric: RawFabric; target: Raw; path: string } | { foreign: string[] } | undefined;

  lines.forEach((line, i) => {
    const lineNo = i + 1;
    if (/^\s*#/.test(line)) return;
    if (line.trim() === "") {
      if (current && "foreign" in current) current.foreign.push(line);
      return;
    }
    const header = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (header && !/^\s/.test(line)) {
      const [, type, id] = header as unknown as [string, string, string];
      if (type === FABRIC_TYPE) {
        const fabric = fabricOf(id);
        if (fabric.lines.has("")) fail(lineNo, `fabric "${id}" is defined twice (first on line ${fabric.lines.get("")})`);
        fabric.lines.set("", lineNo);
        current = { fabric, target: fabric.raw, path: "" };
      } else if (type === NODE_TYPE) {
        const underscore = id.indexOf("_");
        if (underscore <= 0) {
          fail(lineNo, `section id "${id}" must be <fabric>_<node>`);
          current = undefined;
          return;
        }
        const fabric = fabricOf(id.slice(0, underscore));
        const nodeName = id.slice(underscore + 1);
        if (nodeName in fabric.raw.nodes) fail(lineNo, `node "${nodeName}" is defined twice in fabric "${id.slice(0, underscore)}"`);
        const node: Raw = {};
        fabric.raw.nodes[nodeName] = node;
        fabric.lines.set(`nodes/${nodeName}`, lineNo);
        current = { fabric, target: node, path: `nodes/${nodeName}` };
      } else {
        const section = [line];
        foreignSections.push(section);
        current = { foreign: section };
      }
      return;
    }
    if (!current) {
      fail(lineNo, `"${line.trim()}" is outside any section`);
      return;
    }
    if ("foreign" in current) {
      current.foreign.push(line);
      return;
    }
    const property = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
    if (!property) {
      fail(lineNo, `"${line}" is not an indented "key value" line`);
      return;
    }
    const key = property[1] as string;
    const value = property[2] ?? "";
    placeProperty(current, key, value, lineNo, fail);
  });

  const fabrics: Fabric[] = [];
  for (const [name, entry] of raws) {
    if (!entry.lines.has("")) {
      const first = [...entry.lines.values()][0] ?? 1;
      fail(first, `fabric "${name}" has nodes but no "${FABRIC_TYPE}: ${name}" section`);
      continue;
    }
    const parsed = parseFabric(entry.raw);
    if (Array.isArray(parsed)) {
      for (const problem of parsed) problems.push({ ...problem, where: `${file}:${lineFor(entry, problem.where)}: ${problem.where}` });
    } else {
      fabrics.push(parsed);
    }
  }
  if (problems.length > 0) throw new SectionConfigError(problems);
  return { fabrics, foreign: foreignSections.map((section) => ({ text: section.join("\n").trimEnd() })) };
}

function placeProperty(
  current: { fabric: RawFabric; target: Raw; path: string },
  key: string,
  value: string,
  lineNo: number,
  fail: (line: number, message: string) => void,
): void {
  const { fabric, target, path } = current;
  const field = camel(key);
  const prefix = path ? `${path}/` : "";
  if (key === "interfaces" || key === "peers") {
    const props = parsePropertyString(value);
    if (typeof props === "string") return fail(lineNo, props);
    if (key === "interfaces") {
      const { name, ...rest } = props;
      if (typeof name !== "string") return fail(lineNo, `interfaces entry "${value}" needs name=`);
      const ifaces = (target.interfaces ??= {}) as Record<string, Raw>;
      if (name in ifaces) return fail(lineNo, `interface "${name}" is defined twice on this node`);
      ifaces[name] = rest;
      fabric.lines.set(`${prefix}interfaces/${name}`, lineNo);
    } else {
      const peers = (target.peers ??= []) as Raw[];
      fabric.lines.set(`${prefix}peers/${peers.length}`, lineNo);
      peers.push(props);
    }
    return;
  }
  fabric.lines.set(`${prefix}${field}`, lineNo);
  if (LIST_KEYS.has(key)) {
    ((target[field] ??= []) as unknown[]).push(value);
    return;
  }
  if (field in target) return fail(lineNo, `"${key}" is set twice in this section`);
  target[field] = numeric(key, value);
}

/** The line a problem's location points at: the longest recorded prefix of its path. */
function lineFor(entry: RawFabric, where: string): number {
  let best = entry.lines.get("") ?? 1;
  let bestLength = -1;
  for (const [path, line] of entry.lines) {
    const located = locate(path.split("/").map((part) => (/^\d+$/.test(part) ? Number(part) : part)));
    if (located.length > bestLength && (where === located || where.startsWith(`${located}: `))) {
      best = line;
      bestLength = located.length;
    }
  }
  return best;
}

/** Options for {@link writeSectionConfig}. */
export interface WriteOptions {
  /** Public keys to record on internal interfaces (generated on the nodes), by `node/iface`. */
  readonly publicKeys?: ReadonlyMap<string, string>;
  /** Leave out `preshared_key` (secrets) from peers. */
  readonly omitPresharedKeys?: boolean;
}

function propertyString(entries: [string, unknown][]): string {
  return entries
    .filter(([, value]) => value !== undefined && !(Array.isArray(value) && value.length === 0))
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.map(String).join(";") : String(value)}`)
    .join(",");
}

function interfaceLine(name: string, iface: Interface, publicKey: string | undefined): string {
  return propertyString([
    ["name", name],
    ["listen_port", iface.listenPort],
    ["public_key", publicKey ?? iface.publicKey],
    ["ip", iface.ip],
    ["mtu", iface.mtu],
  ]);
}

function peerLine(peer: Peer, options: WriteOptions): string {
  return propertyString([
    ["type", peer.type],
    ["node", peer.node],
    ["node_iface", peer.type === "internal" ? peer.nodeIface : undefined],
    ["iface", peer.iface],
    ["endpoint", peer.endpoint && formatEndpoint(peer.endpoint)],
    ["allowed_ips", peer.allowedIps],
    ["persistent_keepalive", peer.persistentKeepalive],
    ["preshared_key", options.omitPresharedKeys ? undefined : peer.presharedKey],
  ]);
}

function nodeSection(fabric: Fabric, name: string, node: FabricNode, options: WriteOptions): string {
  const lines = [`${NODE_TYPE}: ${fabric.name}_${name}`];
  const add = (key: string, value: unknown): void => {
    if (value !== undefined) lines.push(`\t${key} ${String(value)}`);
  };
  add("endpoint", node.endpoint && formatEndpoint(node.endpoint));
  for (const route of node.allowedIps) add("allowed_ips", route);
  add("persistent_keepalive", node.persistentKeepalive);
  if (node.role === "external") add("public_key", node.publicKey);
  if (node.role === "internal") {
    for (const [ifaceName, iface] of Object.entries(node.interfaces)) {
      add("interfaces", interfaceLine(ifaceName, iface, options.publicKeys?.get(keyId(name, ifaceName))));
    }
    for (const peer of node.peers) add("peers", peerLine(peer, options));
    add("key_dir", node.keyDir);
    add("apply_mode", node.applyMode);
    if (node.fullTunnel) add("full_tunnel", 1);
  }
  add("role", node.role);
  return lines.join("\n");
}

/** One fabric as canonical fabrics.cfg text: its fabric section, then its nodes. */
export function writeFabricSections(fabric: Fabric, options: WriteOptions = {}): string {
  const head = [
    `${FABRIC_TYPE}: ${fabric.name}`,
    `\tkey_dir ${fabric.keyDir}`,
    `\tapply_mode ${fabric.applyMode}`,
    ...(fabric.persistentKeepalive !== undefined ? [`\tpersistent_keepalive ${fabric.persistentKeepalive}`] : []),
  ].join("\n");
  const nodes = Object.entries(fabric.nodes).map(([name, node]) => nodeSection(fabric, name, node, options));
  return [head, ...nodes].join("\n\n");
}

/** A whole fabrics.cfg in canonical form: foreign sections first, as they were, then ours. */
export function writeSectionConfig(config: SectionConfig, options: WriteOptions = {}): string {
  const parts = [...config.foreign.map((section) => section.text), ...config.fabrics.map((f) => writeFabricSections(f, options))];
  return `${parts.join("\n\n")}\n`;
}
