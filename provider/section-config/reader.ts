import {
  editDistance,
  FabricError,
  parseFabricIssues,
  movedProblem,
  problemAt,
  problemsFromZod,
  redactSecrets,
  type Fabric,
  type PathStep,
  type Problem,
} from "../model";
import { closestKey, keyByField, keyByName, marksRfcDialect, SECTION_KEYS, type Dialect, type SectionKey, type SectionKind } from "./section-keys";
import { BYTE_ORDER_MARK, CRLF, FABRIC_TYPE, NODE_TYPE, PROXMOX_FABRIC_ID_MAX, PROXMOX_IFNAME, quote } from "./proxmox-rules";

/**
 * Proxmox VE's `fabrics.cfg` (section config) for WireGuard fabrics, in either dialect (see
 * section-keys.ts): what Proxmox VE ships, and the RFC's with our extensions.
 *
 *     wireguard_fabric: vpn
 *             ip_prefix 10.99.0.0/24
 *
 *     wireguard_node: vpn_occultist
 *             endpoint 192.0.2.2:50000
 *             ip 10.99.0.2
 *             interfaces name=wg0,listen_port=50000,ip=198.51.100.2/24,ip6=fd00::2/64
 *             peers type=internal,node=elementalist,node_iface=wg0,iface=wg0
 *             role internal
 *
 * Sections of other protocols (ospf_fabric:, openfabric_node: …) are kept as they are.
 */

/** A section this module does not interpret, kept verbatim. */
export interface ForeignSection {
  /** The section as written. */
  readonly text: string;
}

/** A parsed fabrics.cfg. */
export interface SectionConfig {
  /** Its fabrics, parsed. */
  readonly fabrics: readonly Fabric[];
  /** Sections of other kinds (OpenFabric, OSPF, …), kept as written. */
  readonly foreign: readonly ForeignSection[];
  /** The dialect the file was read in (given, or detected). */
  readonly dialect: Dialect;
  /** The line a problem of `fabric` at `path` (a {@link Problem}'s) points at. */
  readonly lineOf: (fabric: string, path: readonly PathStep[]) => number;
}

/**
 * Thrown for a fabrics.cfg that cannot be parsed; problems carry `file:line:` in `where`. At most
 * {@link PARSE_PROBLEM_LIMIT} are kept (a file of junk has one a line); `omitted` counts the rest.
 */
export class SectionConfigError extends FabricError {
  constructor(
    problems: readonly Problem[],
    readonly omitted = 0,
  ) {
    super(problems);
  }
}

/** Parse problems kept: the rest are only counted, so memory stays bounded whatever the file. */
export const PARSE_PROBLEM_LIMIT = 1000;

/** Options of {@link parseSectionConfig}. */
export interface ParseOptions {
  /** The file's dialect; detected when not given (see `marksRfcDialect`). */
  readonly dialect?: Dialect;
}


/** The `key=value` pairs of an `interfaces` or `peers` line. Equal peer lines share one item (a large mesh has a million). */
interface Item {
  readonly pairs: readonly (readonly [string, string])[];
  /** The model object the pairs make in the file's dialect, and keys it has none for; made once. */
  model?: { readonly object: Record<string, unknown>; readonly unknownKeys: readonly string[] };
}

/** A `key value` line of the fabric or a node, or an `interfaces` item. */
type Entry = {
  readonly line: number;
  /** Model path of the object it belongs to (the interface's own for an interface). */
  readonly path: readonly (string | number)[];
} & ({ readonly section: "fabric" | "node"; readonly key: string; readonly value: string } | { readonly section: "interface"; readonly item: Item });

/**
 * Line numbers by index, kept as runs of consecutive lines: a node's peers are usually one run,
 * and a mesh has a million of them.
 */
class LineRuns {
  /** The index each run starts at, and its first line. */
  private readonly starts: number[] = [];
  private readonly firstLines: number[] = [];
  private count = 0;

  push(line: number): void {
    const last = this.starts.length - 1;
    if (last < 0 || (this.firstLines[last] as number) + this.count - (this.starts[last] as number) !== line) {
      this.starts.push(this.count);
      this.firstLines.push(line);
    }
    this.count++;
  }

  at(index: number): number | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) return undefined;
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.starts[mid] as number) <= index) low = mid;
      else high = mid - 1;
    }
    return (this.firstLines[low] as number) + index - (this.starts[low] as number);
  }
}

/** A node's peer lines: items (shared) and line numbers, by index. */
interface NodePeers {
  /** Emptied once the model is made: a mesh's million entries are not kept. */
  items: Item[];
  readonly lines: LineRuns;
}

interface RawFabric {
  readonly name: string;
  readonly entries: Entry[];
  /** Line of each object but peers, by model path joined with "/" ("" is the fabric section). */
  readonly lines: Map<string, number>;
  /** Each node's peers. */
  readonly peers: Map<string, NodePeers>;
}


/** A problem on a line: `where` locates it in the fabric (`fabric: node: key`), `hint` says what likely fixes it. */
/** Where a parse problem is beyond its line: its fabric, and the model path (its last step the file's key). */
type FailAt = { readonly fabric: string; readonly path: readonly PathStep[] };
type Fail = (line: number, message: string, at?: FailAt, hint?: string) => void;

/** `name=wg0,listen_port=50000` → pairs; lists inside use ";". Returns an error message instead. */
function propertyPairs(text: string): [string, string][] | string {
  const pairs: [string, string][] = [];
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return `${quote(part)} in ${quote(text)} is not key=value`;
    const key = part.slice(0, eq).trim();
    if (pairs.some(([seen]) => seen === key)) return `${quote(key)} appears twice in ${quote(text)}`;
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
 * A copy of a line that does not hold on to the piece of file it was cut from: a file read in
 * pieces (the CLI's) would otherwise stay in memory through the few strings kept from it.
 */
const detached = (text: string): string => Buffer.from(text, "utf8").toString("utf8");

/** What a section being read collects: its interface names and keys, to refuse them twice. */
interface Section {
  readonly fabric: RawFabric;
  readonly path: readonly string[];
  readonly ifaces: Set<string>;
  readonly keys: Set<string>;
}

/** The section being read. */
type Current = ({ readonly kind: "fabric" } & Section) | ({ readonly kind: "node"; readonly peers: NodePeers } & Section) | { readonly kind: "foreign"; readonly lines: string[] };

/**
 * A node's peer lines mostly repeat the previous node's in the same order (a mesh lists every
 * other node). The previous node's peer lines are kept as one text, and the block being read is
 * compared with it a run of lines at a time (1, 2, 4 … lines, then halving the last step), not
 * line by line: a 1000-node mesh has a million peer lines.
 */
class RepeatedPeerLines {
  /** The previous node's items, and its peer lines (each with its "\n") when they were one stretch of a block. */
  private items: readonly Item[] = [];
  private text: string | undefined;
  /** Where each line of `text` starts, then where the last one ends. */
  private offsets: number[] = [];
  /** The current node's peer lines so far: a stretch of `block` from `start`, while `stretch`. */
  private block = "";
  private start = 0;
  private current: number[] = [0];
  private stretch = true;

  /** A node section begins; `items` are the peers of the one before. */
  begin(items: readonly Item[]): void {
    this.items = items;
    const whole = this.stretch && this.current.length > 1 && this.current.length === items.length + 1;
    this.text = whole ? this.block.slice(this.start, this.start + (this.current[this.current.length - 1] as number)) : undefined;
    this.offsets = this.current;
    this.current = [0];
    this.stretch = true;
  }

  /** The number of lines, and their length, that `block` repeats at `start` of the previous node's from its line `index`. */
  match(block: string, start: number, index: number): { readonly count: number; readonly length: number } {
    const text = this.text;
    const lines = this.offsets.length - 1;
    if (text === undefined || index >= lines) return { count: 0, length: 0 };
    const from = this.offsets[index] as number;
    const same = (count: number, step: number): boolean => {
      const a = (this.offsets[index + count] as number) - from;
      const b = (this.offsets[index + count + step] as number) - from;
      return block.slice(start + a, start + b) === text.slice(from + a, from + b);
    };
    let count = 0;
    let step = 1;
    while (index + count + step <= lines && same(count, step)) {
      count += step;
      step *= 2;
    }
    for (step >>= 1; step > 0; step >>= 1) if (index + count + step <= lines && same(count, step)) count += step;
    return { count, length: (this.offsets[index + count] as number) - from };
  }


  /** Notes the current node's next peer line: at `start` of `block`, ending at `end` (after its "\n", or -1 at the block's end). */
  note(block: string, start: number, end: number): void {
    if (this.continues(block, start) && end >= 0) this.current.push(end - this.start);
    else this.stretch = false;
  }

  /**
   * Adds to `items` (the current node's) the next `count` of the previous node's, which `block`
   * repeats at `start` (see {@link match}), and notes their lines.
   */
  repeat(items: Item[], block: string, start: number, count: number): void {
    const index = items.length;
    for (let i = index; i < index + count; i++) items.push(this.items[i] as Item);
    if (!this.continues(block, start)) {
      this.stretch = false;
      return;
    }
    const shift = start - this.start - (this.offsets[index] as number);
    for (let i = index + 1; i <= index + count; i++) this.current.push((this.offsets[i] as number) + shift);
  }

  private continues(block: string, start: number): boolean {
    if (this.current.length === 1) {
      this.block = block;
      this.start = start;
    }
    return this.stretch && block === this.block && start === this.start + (this.current[this.current.length - 1] as number);
  }
}

/** Where a line is in its block: from `start`; `next` is where the line after it starts (-1 at the block's end). */
interface Place {
  readonly block: string;
  readonly start: number;
  readonly next: number;
}

/**
 * Splits the file into our fabrics' entries and foreign sections, block by block; syntax
 * problems go to `fail`. `rfcKeys` tells whether a key only the RFC's dialect was used.
 */
class SectionReader {
  readonly raws = new Map<string, RawFabric>();
  readonly foreign: string[][] = [];
  rfcKeys = false;
  /** Peer lines already read, by their whole text: a repeated one is only counted. */
  private readonly peerItems = new Map<string, Item>();
  private readonly repeated = new RepeatedPeerLines();
  private current: Current | undefined;
  private lineNo = 0;
  /** What Proxmox VE's parser refuses though the RFC's dialect reads it (its syntax, its names), by line. */
  readonly proxmoxOnly: { readonly line: number; readonly message: string }[] = [];
  /** In a section's lines: Proxmox VE ends a section at a blank line only, and takes a header only after one. */
  private inSection = false;
  /** A CR LF line end was seen (told once). */
  private crlf = false;

  constructor(private readonly fail: Fail) {}

  /** Reads a block of whole lines. Runs of the previous node's peer lines are found first, without cutting the block into lines. */
  read(block: string): void {
    if (this.lineNo === 0 && block.startsWith(BYTE_ORDER_MARK)) {
      this.fail(1, "the file starts with a UTF-8 byte-order mark (U+FEFF), which Proxmox VE's parser does not skip; save the file without it");
      block = block.slice(BYTE_ORDER_MARK.length);
    }
    for (let start = 0; start >= 0; ) {
      const current = this.current;
      if (current?.kind === "node") {
        const { items, lines } = current.peers;
        const run = this.repeated.match(block, start, items.length);
        if (run.count > 0) {
          this.repeated.repeat(items, block, start, run.count);
          for (let i = 0; i < run.count; i++) lines.push(++this.lineNo);
          start += run.length;
          continue;
        }
      }
      const end = block.indexOf("\n", start);
      const place = { block, start, next: end < 0 ? -1 : end + 1 };
      const text = block.slice(start, end < 0 ? block.length : end);
      start = place.next;
      this.lineNo++;
      const item = current?.kind === "node" ? this.peerItems.get(text) : undefined;
      if (item) this.addPeer(item, place);
      else this.line(detached(text), place);
    }
  }

  private line(line: string, place: Place): void {
    if (line.endsWith("\r")) {
      if (!this.crlf) this.proxmoxOnly.push({ line: this.lineNo, message: CRLF });
      this.crlf = true;
      line = line.slice(0, -1);
    }
    if (/^\s*#/.test(line)) {
      if (!this.inSection || !/^\s/.test(line)) this.proxmoxOnly.push({ line: this.lineNo, message: "a comment here: Proxmox VE's parser takes one only indented among a section's lines (not on the first line, between sections or unindented)" });
      return;
    }
    if (line.trim() === "") {
      this.inSection = false;
      if (this.current?.kind === "foreign") this.current.lines.push(line);
      return;
    }
    const header = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (header && !/^\s/.test(line)) {
      if (this.inSection) this.proxmoxOnly.push({ line: this.lineNo, message: "no blank line before this section: Proxmox VE's parser ends a section only at a blank line" });
      this.inSection = true;
      return this.header(line, header[1] as string, header[2] as string);
    }
    if (this.current && !this.inSection) this.proxmoxOnly.push({ line: this.lineNo, message: "a section's line after a blank line: Proxmox VE's parser ends a section at a blank line" });
    if (!this.current) return this.fail(this.lineNo, `${quote(line.trim())} is outside any section`);
    if (this.current.kind === "foreign") {
      this.current.lines.push(line);
      return;
    }
    const property = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
    if (!property) return this.fail(this.lineNo, `${quote(line)} is not an indented "key value" line`);
    const [key, value] = [property[1] as string, property[2] ?? ""];
    if (value !== "" && !/^\s+\S+ \S/.test(line)) this.proxmoxOnly.push({ line: this.lineNo, message: `${quote(key)} and its value apart by more than one space: Proxmox VE reads the file, but makes no config for its node then` });
    if (this.current.kind === "node" && (key === "interfaces" || key === "peers")) return this.item(this.current, line, key, value, place);
    const { fabric, path, kind: section } = this.current;
    const spec = SECTION_KEYS.find((entry) => entry.section === section && entry.key === key);
    if (spec?.value !== "list") {
      if (this.current.keys.has(key)) return this.fail(this.lineNo, `${quote(key)} is set twice in this section`);
      this.current.keys.add(key);
    }
    this.rfcKeys ||= marksRfcDialect(section, key);
    fabric.entries.push({ section, key, value, line: this.lineNo, path });
  }

  private header(line: string, type: string, id: string): void {
    const fresh = { ifaces: new Set<string>(), keys: new Set<string>() };
    if (this.current?.kind === "node") this.repeated.begin(this.current.peers.items);
    if (type === FABRIC_TYPE) {
      if (id.length > PROXMOX_FABRIC_ID_MAX) this.proxmoxOnly.push({ line: this.lineNo, message: `fabric id ${quote(id)}: Proxmox VE's take at most ${PROXMOX_FABRIC_ID_MAX} characters` });
      const fabric = this.fabricOf(id);
      if (fabric.lines.has("")) this.fail(this.lineNo, `fabric ${quote(id)} is defined twice (first on line ${fabric.lines.get("")})`);
      fabric.lines.set("", this.lineNo);
      this.current = { kind: "fabric", fabric, path: [], ...fresh };
    } else if (type === NODE_TYPE) {
      const underscore = id.indexOf("_");
      if (underscore <= 0) {
        this.fail(this.lineNo, `section id ${quote(id)} must be <fabric>_<node>`);
        this.current = undefined;
        return;
      }
      const fabric = this.fabricOf(id.slice(0, underscore));
      const nodeName = id.slice(underscore + 1);
      if (fabric.lines.has(`nodes/${nodeName}`)) {
        this.fail(this.lineNo, `node ${quote(nodeName)} is defined twice in fabric "${fabric.name}"`);
        // the later section stands alone: what the earlier one said is dropped
        const earlier = (path: readonly (string | number)[]): boolean => path[0] === "nodes" && path[1] === nodeName;
        for (let j = fabric.entries.length - 1; j >= 0; j--) if (earlier((fabric.entries[j] as Entry).path)) fabric.entries.splice(j, 1);
        for (const path of [...fabric.lines.keys()]) if (path.startsWith(`nodes/${nodeName}/`)) fabric.lines.delete(path);
      }
      fabric.lines.set(`nodes/${nodeName}`, this.lineNo);
      const peers: NodePeers = { items: [], lines: new LineRuns() };
      fabric.peers.set(nodeName, peers);
      this.current = { kind: "node", fabric, path: ["nodes", nodeName], peers, ...fresh };
    } else {
      // a misspelt type would make its section another kind's, and a node vanish without a word
      const meant = [FABRIC_TYPE, NODE_TYPE].find((known) => editDistance(type, known) <= 2);
      if (meant) this.fail(this.lineNo, `unknown section type ${quote(type)}`, undefined, `did you mean "${meant}"?`);
      this.current = { kind: "foreign", lines: [line] };
      this.foreign.push(this.current.lines);
    }
  }

  /** An `interfaces` or `peers` line of a node. */
  private item(node: Current & { kind: "node" }, line: string, key: "interfaces" | "peers", value: string, place: Place): void {
    const pairs = propertyPairs(value);
    if (typeof pairs === "string") return this.fail(this.lineNo, pairs);
    if (/\s/.test(value)) this.proxmoxOnly.push({ line: this.lineNo, message: `a space in ${quote(value)}: Proxmox VE's property strings are key=value pairs joined by commas alone` });
    const section = key === "interfaces" ? "interface" : "peer";
    this.rfcKeys ||= pairs.some(([k]) => marksRfcDialect(section, k));
    if (key === "peers") {
      const item: Item = { pairs };
      this.peerItems.set(line, item);
      return this.addPeer(item, place);
    }
    const name = pairs.find(([k]) => k === "name")?.[1];
    if (name === undefined) return this.fail(this.lineNo, `interfaces entry ${quote(value)} needs name=`);
    if (!PROXMOX_IFNAME.test(name)) {
      this.proxmoxOnly.push({ line: this.lineNo, message: `interface name "${name}": Proxmox VE's fabrics take 1-8 letters, digits and inner dashes (Linux allows 15: read the file with --dialect rfc, or rename it)` });
    }
    if (node.ifaces.has(name)) return this.fail(this.lineNo, `interface ${quote(name)} is defined twice on this node`);
    node.ifaces.add(name);
    const path = [...node.path, "interfaces", name];
    node.fabric.lines.set(path.join("/"), this.lineNo);
    node.fabric.entries.push({ section: "interface", item: { pairs }, line: this.lineNo, path });
  }

  private addPeer(item: Item, place: Place): void {
    const { peers } = this.current as Current & { kind: "node" };
    this.repeated.note(place.block, place.start, place.next);
    peers.items.push(item);
    peers.lines.push(this.lineNo);
  }

  private fabricOf(name: string): RawFabric {
    let raw = this.raws.get(name);
    if (!raw) this.raws.set(name, (raw = { name, entries: [], lines: new Map(), peers: new Map() }));
    return raw;
  }
}

/** Sets a field of `target` from a file value; a node's list keys add one element per line. */
function setField(target: Record<string, unknown>, section: SectionKind, spec: SectionKey, text: string): void {
  if (spec.value !== "list") target[spec.field] = typedValue(spec, text);
  else if (section === "node") target[spec.field] = [...((target[spec.field] as unknown[] | undefined) ?? []), text];
  else target[spec.field] = text.split(";").filter(Boolean);
}

/** The model object of an item's pairs, keys mapped by `dialect` (its `name` is the interface's key, not a field). */
function itemModel(item: Item, section: "interface" | "peer", dialect: Dialect): NonNullable<Item["model"]> {
  if (item.model) return item.model;
  const object: Record<string, unknown> = {};
  const unknownKeys: string[] = [];
  for (const [key, text] of item.pairs) {
    if (section === "interface" && key === "name") continue;
    const spec = keyByName(section, key, dialect);
    if (spec) setField(object, section, spec, text);
    else unknownKeys.push(key);
  }
  return (item.model = { object, unknownKeys });
}

/** The fabric's entries as the model's input object, keys mapped by `dialect`; unknown keys go to `fail`. */
function rawModel(fabric: RawFabric, dialect: Dialect, fail: Fail): Record<string, unknown> {
  const root: Record<string, unknown> = { name: fabric.name, nodes: {} };
  const objectAt = (path: readonly (string | number)[]): Record<string, unknown> => {
    let target = root;
    for (const part of path) target = (target[part] ??= {}) as Record<string, unknown>;
    return target;
  };
  const unknownKey = (line: number, path: readonly (string | number)[], key: string): void => {
    const section = sectionOf([...path, key]);
    const meant = closestKey(section, key, dialect);
    // on purpose: Proxmox VE drops an unknown key of a node section without a word, and a typo with it
    const why = section === "node" ? " (Proxmox VE ignores it, so a misspelt key would silently vanish)" : "";
    fail(line, `unknown key${why}`, { fabric: fabric.name, path: [...path, key] }, meant ? `did you mean "${meant}"?` : undefined);
  };
  // nodes and interfaces exist even when empty: the schema names what they lack
  for (const path of fabric.lines.keys()) if (path) objectAt(path.split("/"));
  for (const entry of fabric.entries) {
    const target = objectAt(entry.path);
    if (entry.section === "interface") {
      const { object, unknownKeys } = itemModel(entry.item, "interface", dialect);
      Object.assign(target, object);
      for (const key of unknownKeys) unknownKey(entry.line, entry.path, key);
      continue;
    }
    const spec = keyByName(entry.section, entry.key, dialect);
    if (!spec) {
      unknownKey(entry.line, entry.path, entry.key);
      continue;
    }
    fabric.lines.set([...entry.path, spec.field].join("/"), entry.line);
    setField(target, entry.section, spec, entry.value);
  }
  for (const [node, peers] of fabric.peers) {
    const { items, lines } = peers;
    peers.items = [];
    if (items.length === 0) continue;
    // Equal lines give one object: the schema parses it once (parseFabricIssues). The array of
    // items becomes the array of objects: a mesh's million entries are not copied.
    const objects: unknown[] = items;
    items.forEach((item, index) => {
      const { object, unknownKeys } = itemModel(item, "peer", dialect);
      for (const key of unknownKeys) unknownKey(lines.at(index) as number, ["nodes", node, "peers", index], key);
      objects[index] = object;
    });
    objectAt(["nodes", node]).peers = objects;
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
  return typeof index === "number" ? fabric.peers.get(String(node))?.lines.at(index) : undefined;
}

/** The line of the longest recorded prefix of a model path. */
function lineForPath(fabric: RawFabric, path: readonly PropertyKey[]): number {
  // a peer's problem, whether located on its node or on the node's interface it belongs to
  const peers = path.indexOf("peers");
  if (path[0] === "nodes" && peers > 1 && typeof path[peers + 1] === "number") {
    const line = recordedPeerLine(fabric, path[1], path[peers + 1]);
    if (line !== undefined) return line;
  }
  for (let length = path.length; length > 0; length--) {
    const line = fabric.lines.get(path.slice(0, length).map(String).join("/"));
    if (line !== undefined) return line;
  }
  return fabric.lines.get("") ?? 1;
}

/** A field of `section` as the file's key in `dialect` (a key the file wrote stays as it is). */
export function fileKeyOf(section: SectionKind, field: string, dialect: Dialect): string {
  return keyByField(section, field, dialect)?.key ?? field;
}

/** A TypeScript field as a file's key in `dialect` (the first section that has it), or the field. */
function keyOfField(field: string, dialect: Dialect): string {
  for (const section of ["peer", "interface", "node", "fabric"] as const) {
    const spec = keyByField(section, field, dialect);
    if (spec) return spec.key;
  }
  return field;
}

/**
 * A message as a file's reader writes it: a peer given as a TypeScript object
 * (`{ type: "internal", node: "a", nodeIface: "wg0", iface: "wg1" }`) as a `peers` line, a
 * field set to a value (`fullTunnel: true`) as the file's key and value, and every other field
 * named as the file's key.
 */
export function inFileSyntax(message: string, dialect: Dialect): string {
  return message
    .replace(/\{ ((?:\w+: "[^"]*"(?:, )?)+) \}/g, (_, pairs: string) => `peers ${[...pairs.matchAll(/(\w+): "([^"]*)"/g)].map(([, field, value]) => `${keyOfField(field as string, dialect)}=${value}`).join(",")}`)
    .replace(/\b([a-z]+[A-Z]\w*): (true|false)\b/g, (_, field: string, value: string) => `${keyOfField(field, dialect)} ${value === "true" ? 1 : 0}`)
    .replace(/\b[a-z]+[A-Z]\w*\b/g, (field) => keyOfField(field, dialect));
}

/**
 * Parses a whole fabrics.cfg, given as its text or as blocks of whole lines that joined with "\n"
 * make the text (a large file read piece by piece, see the CLI's fileBlocks);
 * throws {@link SectionConfigError} naming `file:line: fabric:` of each problem.
 */
export function parseSectionConfig(text: string | Iterable<string>, file = "fabrics.cfg", options: ParseOptions = {}): SectionConfig {
  const problems: Problem[] = [];
  // messages quote the offending line: never a pre-shared key in it
  let omitted = 0;
  const fail: Fail = (line, message, at, hint) => {
    if (problems.length >= PARSE_PROBLEM_LIMIT) omitted++;
    else problems.push(problemAt("error", { file, line, ...(at ?? { path: [] }) }, redactSecrets(message), hint));
  };
  const reader = new SectionReader(fail);
  for (const block of typeof text === "string" ? [text] : text) reader.read(block);
  const { raws, foreign, rfcKeys } = reader;
  const dialect = options.dialect ?? (rfcKeys ? "rfc" : "proxmox");
  if (dialect === "proxmox") {
    for (const { line, message } of reader.proxmoxOnly) fail(line, message);
  }
  const fabrics: Fabric[] = [];
  for (const raw of raws.values()) {
    if (!raw.lines.has("")) {
      fail([...raw.lines.values()][0] ?? 1, `fabric "${raw.name}" has nodes but no "${FABRIC_TYPE}: ${raw.name}" section`);
      continue;
    }
    const parsed = parseFabricIssues(rawModel(raw, dialect, fail));
    if (parsed.fabric) {
      fabrics.push(parsed.fabric);
      continue;
    }
    const located = problemsFromZod(parsed.issues, (path) => fileKeyPath(path, dialect));
    parsed.issues.forEach((issue, i) => {
      const problem = located[i] as Problem;
      problems.push({ ...movedProblem(problem, { file, line: lineForPath(raw, issue.path), fabric: raw.name }), message: redactSecrets(problem.message) });
    });
  }
  // in file order (a stable sort keeps a line's problems as found)
  if (problems.length > 0) throw new SectionConfigError(problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)), omitted);
  return {
    fabrics,
    foreign: foreign.map((section) => ({ text: section.join("\n").trimEnd() })),
    dialect,
    lineOf: (fabric, path) => {
      const raw = raws.get(fabric);
      return raw ? lineForPath(raw, path) : 1;
    },
  };
}
