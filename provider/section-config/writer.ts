/**
 * fabrics.cfg written in canonical form, in Proxmox VE's dialect (what it reads, as the file
 * means it) or the RFC's with every key of ours.
 */
import {
  Cidr,
  fabricSchema,
  FabricError,
  formatEndpoint,
  movedProblem,
  problemAt,
  type Endpoint,
  type Fabric,
  type FabricNode,
  type Interface,
  type PathStep,
  type Peer,
  type Problem,
} from "../model";
import { keyId } from "../fabric/keys";
import { SECTION_KEYS, type Dialect, type SectionKey, type SectionKind } from "./section-keys";
import { FABRIC_TYPE, NODE_TYPE, PEER_ALLOWED_IPS_UNREADABLE, PROXMOX_IFNAME, RFC_ONLY } from "./proxmox-rules";
import type { SectionConfig } from "./reader";

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



/** True when a field has nothing to write: unset, or an empty list where that means no key. */
function absent(value: unknown, spec: SectionKey): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0 && !spec.keepEmpty);
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
  fields(section: SectionKind, where: readonly PathStep[], object: Readonly<Record<string, unknown>>): [string, string][] {
    const written: [string, string][] = [];
    const handled = new Set<string>();
    for (const spec of SECTION_KEYS) {
      if (spec.section !== section || !spec.dialects.includes(this.dialect)) continue;
      handled.add(spec.field);
      const value = object[spec.field];
      if (absent(value, spec)) continue;
      if (this.dialect === "proxmox" && !spec.proxmox) {
        this.warn(where, spec.key);
        continue;
      }
      const texts = section === "node" && Array.isArray(value) ? value.map(String) : [this.text(spec, value)];
      for (const text of texts) written.push([spec.key, text]);
    }
    for (const spec of SECTION_KEYS) {
      if (spec.section !== section || handled.has(spec.field) || absent(object[spec.field], spec)) continue;
      handled.add(spec.field);
      this.warn(where, spec.key);
    }
    return written;
  }

  /** A field Proxmox VE's dialect cannot hold as it is: left out (the default message), or written as Proxmox VE would not read it. */
  warn(where: readonly PathStep[], key: string, message = "left out: Proxmox VE has no such key, or gives it another meaning (write the RFC dialect to keep it)"): void {
    this.options.onWarning?.(problemAt("warning", { fabric: this.fabric, path: [...where, key] }, message));
  }

  error(where: readonly PathStep[], message: string): void {
    this.errors.push(problemAt("error", { fabric: this.fabric, path: where }, message));
  }

  private text(spec: SectionKey, value: unknown): string {
    if (spec.value === "boolean") return value ? "1" : "0";
    if (spec.value === "address") return (value as Cidr).addressText();
    if (Array.isArray(value)) return value.map(String).join(";");
    if (typeof value === "object" && value !== null && !(value instanceof Cidr) && "host" in value) return formatEndpoint(value as Endpoint);
    return String(value);
  }
}

function interfaceLine(writer: SectionWriter, node: string, name: string, iface: Interface, publicKey: string | undefined): string {
  let fields: Record<string, unknown> = { ...iface, publicKey: publicKey ?? iface.publicKey };
  if (writer.dialect === "proxmox") {
    if (!PROXMOX_IFNAME.test(name)) writer.error(["nodes", node, "interfaces", name], "Proxmox VE allows interface names of 1-8 letters, digits and inner dashes; rename it or write the RFC dialect");
    if (iface.listenPort === undefined) writer.error(["nodes", node, "interfaces", name, "listen_port"], "is required by Proxmox VE");
    // Proxmox VE's `ip` is IPv4 only: an IPv6 `ip` (the RFC allows it) moves to `ip6`
    if (iface.ip?.family === 6 && !iface.ip6) fields = { ...fields, ip: undefined, ip6: iface.ip };
  }
  return [`name=${name}`, ...writer.fields("interface", ["nodes", node, "interfaces", name], fields).map(([key, value]) => `${key}=${value}`)].join(",");
}

function peerLine(writer: SectionWriter, fabric: Fabric, node: string, index: number, peer: Peer, options: WriteOptions): string {
  let fields: Peer = options.omitPresharedKeys ? { ...peer, presharedKey: undefined } : peer;
  if (writer.dialect === "proxmox") {
    const where = ["nodes", node, "peers", index];
    if (peer.extraAllowedIps?.length) {
      writer.warn(
        where,
        "allowed_ips",
        `${PEER_ALLOWED_IPS_UNREADABLE}, and these networks differ from those of ${peer.node}'s other peers, so they cannot move to ${peer.node}'s allowed_ips; give every peer of ${peer.node} the same ones, or write the RFC dialect`,
      );
    }
    const target = fabric.nodes[peer.node];
    if (peer.type === "internal" && peer.endpoint?.port !== undefined && target?.role === "internal") {
      fields = { ...fields, endpoint: hostOnlyEndpoint(writer, where, peer.endpoint, [target.interfaces[peer.nodeIface]?.listenPort]) };
    }
  }
  return writer
    .fields("peer", ["nodes", node, "peers", index], fields)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
}

/**
 * An internal node's endpoint (or an internal peer's override of it) for a Proxmox VE file: the
 * host alone, which every release reads. proxmox-ve-config 0.10.1 reads it as a host
 * (`HostnameOrIpAddr`) and dials the listen port of the peer interface, so a `host:port` there
 * becomes `Endpoint = host:port:port`, which wg refuses; later releases read `host:port` and
 * migrate the host alone to it. A port is left out when the interfaces it is for (`ports`)
 * listen on it, which keeps the meaning; any other port is written, with a warning.
 */
function hostOnlyEndpoint(writer: SectionWriter, where: readonly PathStep[], endpoint: Endpoint | undefined, ports: readonly (number | undefined)[]): Endpoint | undefined {
  if (endpoint?.port === undefined) return endpoint;
  if (ports.every((port) => port === endpoint.port)) return { ...endpoint, port: undefined };
  writer.warn(
    where,
    "endpoint",
    `${formatEndpoint(endpoint)}: Proxmox VE 0.10.1 (proxmox-ve-config) reads an internal node's endpoint as a host and dials the peer interface's listen port (here ${[...new Set(ports)].join(", ")}), so it would write "${formatEndpoint(endpoint)}:${ports[0]}"; a port other than the listen port is read only by later releases`,
  );
  return endpoint;
}


/**
 * By internal node, the listen ports of its interfaces that peers dial at its endpoint (internal
 * peers without an endpoint of their own point at them): one pass over every peer of the fabric.
 */
function dialedPorts(fabric: Fabric): Map<string, (number | undefined)[]> {
  const ports = new Map<string, Set<number | undefined>>();
  for (const other of Object.values(fabric.nodes)) {
    if (other.role !== "internal") continue;
    for (const peer of other.peers) {
      const target = fabric.nodes[peer.node];
      if (peer.type !== "internal" || peer.endpoint || target?.role !== "internal") continue;
      let set = ports.get(peer.node);
      if (!set) ports.set(peer.node, (set = new Set()));
      set.add(target.interfaces[peer.nodeIface]?.listenPort);
    }
  }
  return new Map([...ports].map(([name, set]) => [name, [...set]]));
}

/**
 * Proxmox VE's dialect holds a peer's extra networks on the node the peer points at: a peer's
 * `allowed_ips` does not parse in proxmox-ve-config 0.10.1. When every peer that points at a
 * node adds the same networks, they move to that node's `allowed_ips`, which gives every one of
 * those peers the same AllowedIPs as before; other peers keep theirs (and are warned about).
 */
function hoistExtraAllowedIps(fabric: Fabric): Fabric {
  const pointing = new Map<string, Peer[]>();
  for (const node of Object.values(fabric.nodes)) {
    if (node.role !== "internal") continue;
    for (const peer of node.peers) {
      const list = pointing.get(peer.node);
      if (list) list.push(peer);
      else pointing.set(peer.node, [peer]);
    }
  }
  const moved = new Map<string, readonly Cidr[]>();
  for (const [target, peers] of pointing) {
    const key = (peer: Peer) => (peer.extraAllowedIps ?? []).map(String).sort().join(" ");
    const first = peers[0];
    if (first?.extraAllowedIps?.length && fabric.nodes[target] && peers.every((peer) => key(peer) === key(first))) moved.set(target, first.extraAllowedIps);
  }
  if (moved.size === 0) return fabric;
  const nodes = Object.fromEntries(
    Object.entries(fabric.nodes).map(([name, node]): [string, FabricNode] => {
      const extra = moved.get(name) ?? [];
      const known = new Set(node.allowedIps.map(String));
      const allowedIps = [...node.allowedIps, ...extra.filter((cidr) => !known.has(cidr.toString()))];
      if (node.role === "external") return [name, { ...node, allowedIps }];
      return [name, { ...node, allowedIps, peers: node.peers.map((peer) => (moved.has(peer.node) ? { ...peer, extraAllowedIps: undefined } : peer)) }];
    }),
  );
  return { ...fabric, nodes };
}

function nodeSection(writer: SectionWriter, fabric: Fabric, name: string, node: FabricNode, options: WriteOptions, ports: ReadonlyMap<string, readonly (number | undefined)[]>): string {
  let fields: Record<string, unknown> = { ...node, fullTunnel: node.role === "internal" && node.fullTunnel ? true : undefined };
  if (node.role === "external" && writer.dialect === "proxmox" && node.endpoint?.port === undefined) {
    writer.error(["nodes", name, "endpoint"], "Proxmox VE needs host:port for an external node");
  }
  if (node.role === "internal") {
    fields = {
      ...fields,
      endpoint: writer.dialect === "proxmox" ? hostOnlyEndpoint(writer, ["nodes", name], node.endpoint, ports.get(name) ?? []) : node.endpoint,
      interfaces: Object.entries(node.interfaces).map(([ifaceName, iface]) => interfaceLine(writer, name, ifaceName, iface, options.publicKeys?.get(keyId(name, ifaceName)))),
      peers: node.peers.map((peer, index) => peerLine(writer, fabric, name, index, peer, options)),
    };
  }
  return [`${NODE_TYPE}: ${fabric.name}_${name}`, ...writer.fields("node", ["nodes", name], fields).map(([key, value]) => `\t${key} ${value}`)].join("\n");
}

/** One fabric as canonical fabrics.cfg text: its fabric section, then its nodes. Throws when the dialect cannot hold it. */
export function writeFabricSections(declared: Fabric, options: WriteOptions = {}): string {
  const writer = new SectionWriter(declared.name, options);
  const fabric = writer.dialect === "proxmox" ? hoistExtraAllowedIps(declared) : declared;
  let fields: Record<string, unknown> = fabric;
  if (writer.dialect === "proxmox") {
    // defaults need no key
    const defaults = fabricSchema.parse({ name: fabric.name, nodes: {} });
    fields = {
      ...fabric,
      keyDir: fabric.keyDir === defaults.keyDir ? undefined : fabric.keyDir,
      applyMode: fabric.applyMode === defaults.applyMode ? undefined : fabric.applyMode,
    };
  }
  // the RFC dialect always states key_dir and apply_mode, which mark it when the file is read back
  const head = [`${FABRIC_TYPE}: ${fabric.name}`, ...writer.fields("fabric", [], fields).map(([key, value]) => `\t${key} ${value}`)].join("\n");
  const ports = writer.dialect === "proxmox" ? dialedPorts(fabric) : new Map<string, (number | undefined)[]>();
  const nodes = Object.entries(fabric.nodes).map(([name, node]) => nodeSection(writer, fabric, name, node, options, ports));
  if (writer.errors.length > 0) throw new FabricError(writer.errors);
  return [head, ...nodes].join("\n\n");
}

/** A whole fabrics.cfg in canonical form: foreign sections first, as they were, then ours. */
export function writeSectionConfig(config: Pick<SectionConfig, "fabrics" | "foreign">, options: WriteOptions = {}): string {
  const parts = [...config.foreign.map((section) => section.text), ...config.fabrics.map((f) => writeFabricSections(f, options))];
  return `${parts.join("\n\n")}\n`;
}


/**
 * What Proxmox VE itself would not read in `fabric` as it is meant, located without the fabric's
 * name: what `fmt` would refuse to write (see {@link writeFabricSections}), an error where
 * Proxmox VE cannot hold the fabric at all; and each peer's `allowed_ips`, which
 * proxmox-ve-config 0.10.1 cannot parse and `fmt` moves to the node the peer points at.
 */
export function proxmoxReadingProblems(fabric: Fabric): Problem[] {
  const problems: Problem[] = [];
  const located = (problem: Problem): Problem => movedProblem(problem, { fabric: undefined });
  try {
    writeFabricSections(fabric, { onWarning: (problem) => problems.push(located(problem)) });
  } catch (error) {
    if (!(error instanceof FabricError)) throw error;
    // what Proxmox VE cannot hold at all makes it refuse the file (its external node's endpoint is required): an error
    problems.push(...error.problems.map((problem) => located({ ...problem, message: `${problem.message}; ${RFC_ONLY}` })));
  }
  const unmoved = new Set(problems.map((problem) => problem.where));
  for (const [name, node] of Object.entries(fabric.nodes)) {
    if (node.role !== "internal") continue;
    node.peers.forEach((peer, index) => {
      const problem = problemAt("warning", { path: ["nodes", name, "peers", index, "allowed_ips"] }, `${PEER_ALLOWED_IPS_UNREADABLE}; \`wg-fabric fmt\` moves these networks to ${peer.node}'s allowed_ips, where they mean the same`);
      if (peer.extraAllowedIps?.length && !unmoved.has(problem.where)) problems.push(problem);
    });
  }
  return problems;
}
