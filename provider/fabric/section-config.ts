import {
  Cidr,
  fabricSchema,
  FabricError,
  formatEndpoint,
  locate,
  problemsFromZod,
  redactSecrets,
  type Endpoint,
  type Fabric,
  type FabricNode,
  type Interface,
  type InternalNode,
  type Peer,
  type Problem,
} from "../model";
import { keyId } from "./keys";
import { keyByField, keyByName, marksRfcDialect, SECTION_KEYS, type Dialect, type SectionKey, type SectionKind } from "./section-keys";

/**
 * Proxmox VE's `fabrics.cfg` (section config) for WireGuard fabrics, in either dialect (see
 * section-keys.ts): what Proxmox VE ships, and the RFC's with our extensions.
 *
 *     wireguard_fabric: vpn
 *             persistent_keepalive 25
 *
 *     wireguard_node: vpn_occultist
 *             endpoint 192.0.2.2:50000
 *             interfaces name=wg0,listen_port=50000,ip=198.51.100.2/24,ip6=fd00::2/64
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
  /** The dialect the file was read in (given, or detected). */
  readonly dialect: Dialect;
  /** The line a problem of `fabric` located at `where` (as validateFabric reports it) points at. */
  readonly lineOf: (fabric: string, where: string) => number;
}

/** Thrown for a fabrics.cfg that cannot be parsed; problems carry `file:line:` in `where`. */
export class SectionConfigError extends FabricError {}

/** Options of {@link parseSectionConfig}. */
export interface ParseOptions {
  /** The file's dialect; detected when not given (see `marksRfcDialect`). */
  readonly dialect?: Dialect;
}

const FABRIC_TYPE = "wireguard_fabric";
const NODE_TYPE = "wireguard_node";

/**
 * One line of a section: a `key value` of the fabric or node, or an `interfaces`/`peers` item
 * with its `key=value` pairs (one object per line, not per pair: a large mesh has a million).
 */
type Entry = {
  readonly line: number;
  /** Model path of the object it belongs to (the item's own for interfaces and peers). */
  readonly path: readonly (string | number)[];
} & (
  | { readonly section: "fabric" | "node"; readonly key: string; readonly value: string }
  | { readonly section: "interface" | "peer"; readonly pairs: readonly (readonly [string, string])[] }
);

interface RawFabric {
  readonly name: string;
  readonly entries: Entry[];
  /** Line of each object but peers, by model path joined with "/" ("" is the fabric section). */
  readonly lines: Map<string, number>;
  /** Line of each peer, by node and index (a mesh has a million: no path string each). */
  readonly peerLines: Map<string, number[]>;
}

type Fail = (line: number, message: string) => void;

/** `name=wg0,listen_port=50000` → pairs; lists inside use ";". Returns an error message instead. */
function propertyPairs(text: string): [string, string][] | string {
  const pairs: [string, string][] = [];
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return `"${part}" in "${text}" is not key=value`;
    const key = part.slice(0, eq).trim();
    if (pairs.some(([seen]) => seen === key)) return `"${key}" appears twice in "${text}"`;
    pairs.push([key, part.slice(eq + 1).trim()]);
  }
  return pairs;
}

const BOOLEANS: Record<string, boolean> = { "1": true, "0": false, true: true, false: false, yes: true, no: false, on: true, off: false };

/** A file value as its key's kind says: numbers, Proxmox VE's booleans (1/0, yes/no …), lists. */
function typedValue(spec: SectionKey, value: string): unknown {
  if (spec.value === "number") return /^\d+$/.test(value) ? Number(value) : value;
  if (spec.value === "boolean") return BOOLEANS[value.toLowerCase()] ?? value;
  return value;
}

/**
 * Splits the file into our fabrics' entries and foreign sections; syntax problems go to `fail`.
 * `rfcKeys` tells whether a key only the RFC's dialect has was used.
 */
function readSections(text: string, fail: Fail): { raws: Map<string, RawFabric>; foreign: string[][]; rfcKeys: boolean } {
  let rfcKeys = false;
  const raws = new Map<string, RawFabric>();
  const fabricOf = (name: string): RawFabric => {
    let raw = raws.get(name);
    if (!raw) raws.set(name, (raw = { name, entries: [], lines: new Map(), peerLines: new Map() }));
    return raw;
  };
  const foreign: string[][] = [];
  let current: { fabric: RawFabric; path: readonly string[]; ifaces: Set<string>; peers: number; keys: Set<string> } | { foreign: string[] } | undefined;
  text.split("\n").forEach((line, i) => {
    const lineNo = i + 1;
    if (/^\s*#/.test(line)) return;
    if (line.trim() === "") {
      if (current && "foreign" in current) current.foreign.push(line);
      return;
    }
    const header = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (header && !/^\s/.test(line)) {
      const [, type, id] = header as unknown as [string, string, string];
      const fresh = { ifaces: new Set<string>(), peers: 0, keys: new Set<string>() };
      if (type === FABRIC_TYPE) {
        const fabric = fabricOf(id);
        if (fabric.lines.has("")) fail(lineNo, `fabric "${id}" is defined twice (first on line ${fabric.lines.get("")})`);
        fabric.lines.set("", lineNo);
        current = { fabric, path: [], ...fresh };
      } else if (type === NODE_TYPE) {
        const underscore = id.indexOf("_");
        if (underscore <= 0) {
          fail(lineNo, `section id "${id}" must be <fabric>_<node>`);
          current = undefined;
          return;
        }
        const fabric = fabricOf(id.slice(0, underscore));
        const nodeName = id.slice(underscore + 1);
        if (fabric.lines.has(`nodes/${nodeName}`)) {
          fail(lineNo, `node "${nodeName}" is defined twice in fabric "${fabric.name}"`);
          // the later section stands alone: what the earlier one said is dropped
          const earlier = (path: readonly (string | number)[]): boolean => path[0] === "nodes" && path[1] === nodeName;
          for (let j = fabric.entries.length - 1; j >= 0; j--) if (earlier((fabric.entries[j] as Entry).path)) fabric.entries.splice(j, 1);
          for (const path of [...fabric.lines.keys()]) if (path.startsWith(`nodes/${nodeName}/`)) fabric.lines.delete(path);
        }
        fabric.lines.set(`nodes/${nodeName}`, lineNo);
        fabric.peerLines.set(nodeName, []);
        current = { fabric, path: ["nodes", nodeName], ...fresh };
      } else {
        const section = [line];
        foreign.push(section);
        current = { foreign: section };
      }
      return;
    }
    if (!current) return fail(lineNo, `"${line.trim()}" is outside any section`);
    if ("foreign" in current) {
      current.foreign.push(line);
      return;
    }
    const property = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
    if (!property) return fail(lineNo, `"${line}" is not an indented "key value" line`);
    const key = property[1] as string;
    const value = property[2] ?? "";
    const { fabric, path } = current;
    const section: SectionKind = path.length === 0 ? "fabric" : "node";
    if (section === "node" && (key === "interfaces" || key === "peers")) {
      const pairs = propertyPairs(value);
      if (typeof pairs === "string") return fail(lineNo, pairs);
      let itemPath: (string | number)[];
      if (key === "interfaces") {
        const name = pairs.find(([k]) => k === "name")?.[1];
        if (name === undefined) return fail(lineNo, `interfaces entry "${value}" needs name=`);
        if (current.ifaces.has(name)) return fail(lineNo, `interface "${name}" is defined twice on this node`);
        current.ifaces.add(name);
        itemPath = [...path, "interfaces", name];
        fabric.lines.set(itemPath.join("/"), lineNo);
      } else {
        itemPath = [...path, "peers", current.peers++];
        fabric.peerLines.get(path[1] as string)?.push(lineNo);
      }
      const itemSection = key === "interfaces" ? "interface" : "peer";
      if (!rfcKeys) rfcKeys = pairs.some(([k]) => marksRfcDialect(itemSection, k));
      fabric.entries.push({ section: itemSection, pairs, line: lineNo, path: itemPath });
      return;
    }
    const spec = SECTION_KEYS.find((entry) => entry.section === section && entry.key === key);
    if (spec?.value !== "list") {
      if (current.keys.has(key)) return fail(lineNo, `"${key}" is set twice in this section`);
      current.keys.add(key);
    }
    if (!rfcKeys) rfcKeys = marksRfcDialect(section, key);
    fabric.entries.push({ section, key, value, line: lineNo, path });
  });
  return { raws, foreign, rfcKeys };
}

/** The fabric's entries as the model's input object, keys mapped by `dialect`; unknown keys go to `fail`. */
function rawModel(fabric: RawFabric, dialect: Dialect, fail: Fail): Record<string, unknown> {
  const root: Record<string, unknown> = { name: fabric.name, nodes: {} };
  const objectAt = (path: readonly (string | number)[]): Record<string, unknown> => {
    let target: Record<string, unknown> | unknown[] = root;
    path.forEach((part, i) => {
      const container = target as Record<string | number, unknown>;
      container[part] ??= typeof path[i + 1] === "number" ? [] : {};
      target = container[part] as Record<string, unknown>;
    });
    return target as Record<string, unknown>;
  };
  // nodes and interfaces exist even when empty: the schema names what they lack
  for (const path of fabric.lines.keys()) if (path) objectAt(path.split("/"));
  for (const entry of fabric.entries) {
    const target = objectAt(entry.path);
    const pairs = "pairs" in entry ? entry.pairs : [[entry.key, entry.value] as const];
    for (const [key, text] of pairs) {
      if (entry.section === "interface" && key === "name") continue;
      const spec = keyByName(entry.section, key, dialect);
      if (!spec) {
        const where = locate(entry.path);
        fail(entry.line, `${fabric.name}: ${where ? `${where}: ` : ""}unknown key "${key}"`);
        continue;
      }
      // an interface's or peer's fields are on its own line, already recorded
      if (!("pairs" in entry)) fabric.lines.set([...entry.path, spec.field].join("/"), entry.line);
      if (spec.value !== "list") target[spec.field] = typedValue(spec, text);
      else if (entry.section === "node") target[spec.field] = [...((target[spec.field] as unknown[] | undefined) ?? []), text];
      else target[spec.field] = text.split(";").filter(Boolean);
    }
  }
  return root;
}

/** The section a model path's last field belongs to. */
function sectionOf(path: readonly PropertyKey[]): SectionKind {
  if (path[0] !== "nodes") return "fabric";
  if (path[2] === "interfaces" && path.length > 4) return "interface";
  if (path[2] === "peers" && path.length > 4) return "peer";
  return "node";
}

/** A model path with its last field spelled as the file's key (`listenPort` → `listen_port`). */
function fileKeyPath(path: readonly PropertyKey[], dialect: Dialect): PropertyKey[] {
  const last = path[path.length - 1];
  if (typeof last !== "string") return [...path];
  const spec = keyByField(sectionOf(path), last, dialect);
  return spec ? [...path.slice(0, -1), spec.key] : [...path];
}

/** The line of a peer, when `path` is in one (`nodes/a/peers/3/…`). */
function recordedPeerLine(fabric: RawFabric, node: PropertyKey | undefined, index: PropertyKey | undefined): number | undefined {
  return typeof index === "number" ? fabric.peerLines.get(String(node))?.[index] : undefined;
}

/** The line of the longest recorded prefix of a model path. */
function lineForPath(fabric: RawFabric, path: readonly PropertyKey[]): number {
  if (path[0] === "nodes" && path[2] === "peers") {
    const line = recordedPeerLine(fabric, path[1], path[3]);
    if (line !== undefined) return line;
  }
  for (let length = path.length; length > 0; length--) {
    const line = fabric.lines.get(path.slice(0, length).map(String).join("/"));
    if (line !== undefined) return line;
  }
  return fabric.lines.get("") ?? 1;
}

/** The line a located problem (`a: wg0: ip`, `a: peers[2]: node`) points at. */
function lineForWhere(fabric: RawFabric, where: string): number {
  const peer = /^(.+?): peers\[(\d+)\](?:$|: )/.exec(where);
  const line = peer && recordedPeerLine(fabric, peer[1], Number(peer[2]));
  if (line) return line;
  let best = fabric.lines.get("") ?? 1;
  let bestLength = -1;
  for (const [path, line] of fabric.lines) {
    const located = locate(path.split("/").map((part) => (/^\d+$/.test(part) ? Number(part) : part)));
    if (located.length > bestLength && (where === located || where.startsWith(`${located}: `))) {
      best = line;
      bestLength = located.length;
    }
  }
  return best;
}

/**
 * A problem's location with its field spelled as the file's key: validateFabric names the
 * last part by its TypeScript field (`a: peers[0]: allowedIps`).
 */
export function fileKeyWhere(where: string, dialect: Dialect): string {
  const parts = where.split(": ");
  const last = parts[parts.length - 1] as string;
  const section: SectionKind = parts.length === 1 ? "node" : /^peers\[\d+\]$/.test(parts[parts.length - 2] as string) ? "peer" : parts.length === 3 ? "interface" : "node";
  const spec = keyByField(section, last, dialect) ?? (parts.length === 1 ? keyByField("fabric", last, dialect) : undefined);
  return spec ? [...parts.slice(0, -1), spec.key].join(": ") : where;
}

/** Parses a whole fabrics.cfg; throws {@link SectionConfigError} naming `file:line: fabric:` of each problem. */
export function parseSectionConfig(text: string, file = "fabrics.cfg", options: ParseOptions = {}): SectionConfig {
  const problems: Problem[] = [];
  // messages quote the offending line: never a pre-shared key in it
  const fail: Fail = (line, message) => problems.push({ severity: "error", where: `${file}:${line}`, message: redactSecrets(message) });
  const { raws, foreign, rfcKeys } = readSections(text, fail);
  const dialect = options.dialect ?? (rfcKeys ? "rfc" : "proxmox");
  const fabrics: Fabric[] = [];
  for (const raw of raws.values()) {
    if (!raw.lines.has("")) {
      fail([...raw.lines.values()][0] ?? 1, `fabric "${raw.name}" has nodes but no "${FABRIC_TYPE}: ${raw.name}" section`);
      continue;
    }
    const parsed = fabricSchema.safeParse(rawModel(raw, dialect, fail));
    if (parsed.success) {
      fabrics.push(parsed.data);
      continue;
    }
    const located = problemsFromZod(parsed.error, (path) => fileKeyPath(path, dialect));
    parsed.error.issues.forEach((issue, i) => {
      const problem = located[i] as Problem;
      const where = problem.where ? `${raw.name}: ${problem.where}` : raw.name;
      problems.push({ ...problem, where: `${file}:${lineForPath(raw, issue.path)}: ${where}`, message: redactSecrets(problem.message) });
    });
  }
  // in file order (a stable sort keeps a line's problems as found)
  const lineOfProblem = (problem: Problem): number => Number(/:(\d+)$/.exec(problem.where.split(": ")[0] as string)?.[1] ?? 0);
  if (problems.length > 0) throw new SectionConfigError(problems.sort((a, b) => lineOfProblem(a) - lineOfProblem(b)));
  return {
    fabrics,
    foreign: foreign.map((section) => ({ text: section.join("\n").trimEnd() })),
    dialect,
    lineOf: (fabric, where) => {
      const raw = raws.get(fabric);
      return raw ? lineForWhere(raw, where) : 1;
    },
  };
}

/** Options for {@link writeSectionConfig}. */
export interface WriteOptions {
  /** Public keys to record on internal interfaces (generated on the nodes), by `node/iface`. */
  readonly publicKeys?: ReadonlyMap<string, string>;
  /** Leave out `preshared_key` (secrets) from peers. */
  readonly omitPresharedKeys?: boolean;
  /** `proxmox` (default): what Proxmox VE reads; `rfc`: the RFC's dialect, with every field of ours. */
  readonly dialect?: Dialect;
  /** Told of each field left out of a Proxmox VE file (it has no such key). */
  readonly onWarning?: (problem: Problem) => void;
}

/** Proxmox VE's interface name rule: 1-8 characters, letters, digits and inner dashes. */
const PROXMOX_IFNAME = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,6}[a-zA-Z0-9]?$/;

function absent(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0);
}

/** Writes the fields of sections and property strings in table order, as the dialect spells them. */
class SectionWriter {
  readonly errors: Problem[] = [];
  readonly dialect: Dialect;
  constructor(
    private readonly fabric: string,
    private readonly options: WriteOptions,
  ) {
    this.dialect = options.dialect ?? "proxmox";
  }

  /**
   * `[key, text]` of every set field of `object` (one pair per element of a node's list);
   * fields the dialect cannot hold are left out with a warning.
   */
  fields(section: SectionKind, where: string, object: Readonly<Record<string, unknown>>): [string, string][] {
    const written: [string, string][] = [];
    const handled = new Set<string>();
    for (const spec of SECTION_KEYS) {
      if (spec.section !== section || !spec.dialects.includes(this.dialect)) continue;
      handled.add(spec.field);
      const value = object[spec.field];
      if (absent(value)) continue;
      if (this.dialect === "proxmox" && !spec.proxmox) {
        this.warn(where, spec.key);
        continue;
      }
      const texts = section === "node" && Array.isArray(value) ? value.map(String) : [this.text(spec, value)];
      for (const text of texts) written.push([spec.key, text]);
    }
    for (const spec of SECTION_KEYS) {
      if (spec.section !== section || handled.has(spec.field) || absent(object[spec.field])) continue;
      handled.add(spec.field);
      this.warn(where, spec.key);
    }
    return written;
  }

  warn(where: string, key: string): void {
    this.options.onWarning?.({
      severity: "warning",
      where: `${this.fabric}: ${where ? `${where}: ` : ""}${key}`,
      message: "left out: Proxmox VE has no such key, or gives it another meaning (write the RFC dialect to keep it)",
    });
  }

  error(where: string, message: string): void {
    this.errors.push({ severity: "error", where: `${this.fabric}: ${where}`, message });
  }

  private text(spec: SectionKey, value: unknown): string {
    if (spec.value === "boolean") return value ? "1" : "0";
    if (Array.isArray(value)) return value.map(String).join(";");
    if (typeof value === "object" && value !== null && !(value instanceof Cidr) && "host" in value) return formatEndpoint(value as Endpoint);
    return String(value);
  }
}

function interfaceLine(writer: SectionWriter, node: string, name: string, iface: Interface, publicKey: string | undefined): string {
  let fields: Record<string, unknown> = { ...iface, publicKey: publicKey ?? iface.publicKey };
  if (writer.dialect === "proxmox") {
    if (!PROXMOX_IFNAME.test(name)) writer.error(`${node}: ${name}`, "Proxmox VE allows interface names of 1-8 letters, digits and inner dashes; rename it or write the RFC dialect");
    if (iface.listenPort === undefined) writer.error(`${node}: ${name}: listen_port`, "is required by Proxmox VE");
    // Proxmox VE's `ip` is IPv4 only: an IPv6 `ip` (the RFC allows it) moves to `ip6`
    if (iface.ip?.family === 6 && !iface.ip6) fields = { ...fields, ip: undefined, ip6: iface.ip };
  }
  return [`name=${name}`, ...writer.fields("interface", `${node}: ${name}`, fields).map(([key, value]) => `${key}=${value}`)].join(",");
}

function peerLine(writer: SectionWriter, node: string, index: number, peer: Peer, options: WriteOptions): string {
  const fields = options.omitPresharedKeys ? { ...peer, presharedKey: undefined } : peer;
  return writer
    .fields("peer", `${node}: peers[${index}]`, fields)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
}

/**
 * An internal node's endpoint for a Proxmox VE file: `host:port` as current files have it. A
 * port-less endpoint (older files, the RFC's) gains the listen port its interfaces share; when
 * they listen on several ports it stays port-less, which Proxmox VE still reads.
 */
function migratedEndpoint(node: InternalNode): InternalNode["endpoint"] {
  const endpoint = node.endpoint;
  if (!endpoint || endpoint.port !== undefined) return endpoint;
  const ports = new Set(Object.values(node.interfaces).map((iface) => iface.listenPort));
  const [port] = ports;
  return ports.size === 1 && port !== undefined ? { ...endpoint, port } : endpoint;
}

function nodeSection(writer: SectionWriter, fabric: Fabric, name: string, node: FabricNode, options: WriteOptions): string {
  let fields: Record<string, unknown> = { ...node, fullTunnel: node.role === "internal" && node.fullTunnel ? true : undefined };
  if (node.role === "external" && writer.dialect === "proxmox" && node.endpoint?.port === undefined) {
    writer.error(`${name}: endpoint`, "Proxmox VE needs host:port for an external node");
  }
  if (node.role === "internal") {
    fields = {
      ...fields,
      endpoint: writer.dialect === "proxmox" ? migratedEndpoint(node) : node.endpoint,
      interfaces: Object.entries(node.interfaces).map(([ifaceName, iface]) => interfaceLine(writer, name, ifaceName, iface, options.publicKeys?.get(keyId(name, ifaceName)))),
      peers: node.peers.map((peer, index) => peerLine(writer, name, index, peer, options)),
    };
  }
  return [`${NODE_TYPE}: ${fabric.name}_${name}`, ...writer.fields("node", name, fields).map(([key, value]) => `\t${key} ${value}`)].join("\n");
}

/** One fabric as canonical fabrics.cfg text: its fabric section, then its nodes. Throws when the dialect cannot hold it. */
export function writeFabricSections(fabric: Fabric, options: WriteOptions = {}): string {
  const writer = new SectionWriter(fabric.name, options);
  let fields: Record<string, unknown> = fabric;
  if (writer.dialect === "proxmox") {
    // defaults need no key; 0 is off, which Proxmox VE leaves out
    const defaults = fabricSchema.parse({ name: fabric.name, nodes: {} });
    fields = {
      persistentKeepalive: fabric.persistentKeepalive || undefined,
      keyDir: fabric.keyDir === defaults.keyDir ? undefined : fabric.keyDir,
      applyMode: fabric.applyMode === defaults.applyMode ? undefined : fabric.applyMode,
    };
  }
  // the RFC dialect always states key_dir and apply_mode, which mark it when the file is read back
  const head = [`${FABRIC_TYPE}: ${fabric.name}`, ...writer.fields("fabric", "", fields).map(([key, value]) => `\t${key} ${value}`)].join("\n");
  const nodes = Object.entries(fabric.nodes).map(([name, node]) => nodeSection(writer, fabric, name, node, options));
  if (writer.errors.length > 0) throw new FabricError(writer.errors);
  return [head, ...nodes].join("\n\n");
}

/** A whole fabrics.cfg in canonical form: foreign sections first, as they were, then ours. */
export function writeSectionConfig(config: Pick<SectionConfig, "fabrics" | "foreign">, options: WriteOptions = {}): string {
  const parts = [...config.foreign.map((section) => section.text), ...config.fabrics.map((f) => writeFabricSections(f, options))];
  return `${parts.join("\n\n")}\n`;
}
