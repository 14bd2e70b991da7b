/**
 * Every key of a WireGuard fabric in Proxmox VE's `fabrics.cfg`, defined once: the parser, the
 * writer, error messages (which name the file's key, not the TypeScript field) and the README's
 * key table (`wg-fabric keys`) all derive from this list.
 */
import { closestOf, DEFAULT_ENDPOINT_REFRESH, DEFAULT_KEY_DIR } from "../model";

/** The two dialects of the file: what Proxmox VE shipped, and the RFC's with our extensions. */
export const DIALECTS = ["proxmox", "rfc"] as const;
/** One of {@link DIALECTS}. */
export type Dialect = (typeof DIALECTS)[number];

/** Which section (or property string) a key belongs to. */
export type SectionKind = "fabric" | "node" | "interface" | "peer";

/** How a value is written in the file (`address`: an address without prefix length). */
export type ValueKind = "string" | "number" | "boolean" | "list" | "address";

/** One key of the file. */
export interface SectionKey {
  /** The section it belongs to. */
  readonly section: SectionKind;
  /** The key as the file writes it. */
  readonly key: string;
  /** The TypeScript (model) field it fills. */
  readonly field: string;
  /** How its value is written. */
  readonly value: ValueKind;
  /** The dialects it is read and written in with this meaning. */
  readonly dialects: readonly Dialect[];
  /** False for keys Proxmox VE does not know (ours or the RFC's only): left out of its dialect. */
  readonly proxmox: boolean;
  /** What it means, for the help and the README. */
  readonly meaning: string;
  /** An empty list is written (`key=`): it means something else than no key. */
  readonly keepEmpty?: boolean;
}

const both: readonly Dialect[] = ["proxmox", "rfc"];
const ours = (section: SectionKind, key: string, field: string, value: ValueKind, meaning: string): SectionKey => ({ section, key, field, value, dialects: both, proxmox: false, meaning });
const shipped = (section: SectionKind, key: string, field: string, value: ValueKind, meaning: string): SectionKey => ({ section, key, field, value, dialects: both, proxmox: true, meaning });

/** The keys, in the order the writer puts them. */
export const SECTION_KEYS: readonly SectionKey[] = [
  shipped("fabric", "persistent_keepalive", "persistentKeepalive", "number", "keepalive (seconds) of every peer of the fabric; 0 or absent = off"),
  ours("fabric", "key_dir", "keyDir", "string", `where keys live on the nodes (default ${DEFAULT_KEY_DIR})`),
  ours("fabric", "apply_mode", "applyMode", "string", "how configs go live: wg-quick, ifupdown2, proxmox or none"),
  ours("fabric", "pair_keys", "pairKeys", "boolean", "a pre-shared key for every peering of two internal interfaces, made on the nodes"),
  ours("fabric", "pair_key_rotation", "pairKeyRotation", "string", "change it to make every pair key anew"),
  ours("fabric", "endpoint_refresh", "endpointRefresh", "number", `seconds between looks at peer endpoint names on the nodes (default ${DEFAULT_ENDPOINT_REFRESH}; 0 = off)`),
  shipped("fabric", "ip_prefix", "ipPrefix", "string", "the range of the nodes' own IPv4 addresses: every node needs an ip inside it"),
  shipped("fabric", "ip6_prefix", "ip6Prefix", "string", "the range of the nodes' own IPv6 addresses: every node needs an ip6 inside it"),
  shipped("node", "endpoint", "endpoint", "string", "where peers reach the node: host or host:port (internal), host:port (external)"),
  shipped("node", "allowed_ips", "allowedIps", "list", "networks behind the node, routed to it by its peers (one key per network)"),
  ours("node", "persistent_keepalive", "persistentKeepalive", "number", "keepalive its peers send it (over the fabric's)"),
  shipped("node", "public_key", "publicKey", "string", "an external node's public key"),
  shipped("node", "interfaces", "interfaces", "list", "an internal node's WireGuard interface (property string, one key each)"),
  shipped("node", "peers", "peers", "list", "a peer of one of its interfaces (property string, one key each)"),
  ours("node", "key_dir", "keyDir", "string", "the node's key folder (over the fabric's)"),
  ours("node", "apply_mode", "applyMode", "string", "the node's apply mode (over the fabric's)"),
  ours("node", "full_tunnel", "fullTunnel", "boolean", "allow a default route in its peers' AllowedIPs"),
  ours("node", "endpoint_refresh", "endpointRefresh", "number", "seconds between looks at its peers' endpoint names (over the fabric's; 0 = off)"),
  shipped("node", "role", "role", "string", "internal (managed over SSH) or external (a peer we don't manage)"),
  shipped("node", "ip", "ip", "address", "the node's own IPv4 address (Proxmox VE's router address), in ip_prefix; an internal node's peers route it to the node"),
  shipped("node", "ip6", "ip6", "address", "the node's own IPv6 address, in ip6_prefix"),
  shipped("interface", "name", "name", "string", "interface name (1-8 characters for Proxmox VE, 15 for Linux)"),
  shipped("interface", "listen_port", "listenPort", "number", "UDP port it listens on; internal peers dial it"),
  shipped("interface", "public_key", "publicKey", "string", "its public key, generated on the node (an output, never an input)"),
  shipped("interface", "ip", "ip", "string", "its IPv4 address with prefix (the RFC also allows IPv6 here)"),
  shipped("interface", "ip6", "ip6", "string", "its IPv6 address with prefix (dual stack beside ip)"),
  shipped("interface", "ip6_ll", "ip6Ll", "boolean", "Proxmox VE's IPv6 link-local flag: kept, not acted on"),
  ours("interface", "mtu", "mtu", "number", "its MTU"),
  shipped("peer", "type", "type", "string", "internal (another node's interface) or external (an external node)"),
  shipped("peer", "node", "node", "string", "the node it points at"),
  shipped("peer", "node_iface", "nodeIface", "string", "that node's interface (internal peers)"),
  shipped("peer", "iface", "iface", "string", "the local interface the peer belongs to"),
  shipped("peer", "endpoint", "endpoint", "string", "overrides the node's endpoint"),
  { section: "peer", key: "allowed_ips", field: "extraAllowedIps", value: "list", dialects: ["proxmox"], proxmox: true, meaning: "added to the node's allowed IPs; `;` between networks" },
  { section: "peer", key: "allowed_ips", field: "allowedIps", value: "list", dialects: ["rfc"], proxmox: false, meaning: "replaces the node's allowed IPs", keepEmpty: true },
  { section: "peer", key: "extra_allowed_ips", field: "extraAllowedIps", value: "list", dialects: ["rfc"], proxmox: false, meaning: "added to the node's allowed IPs" },
  shipped("peer", "skip_route_generation", "skipRouteGeneration", "boolean", "make no routes for the peer's AllowedIPs"),
  ours("peer", "persistent_keepalive", "persistentKeepalive", "number", "keepalive for this peer"),
  ours("peer", "preshared_key", "presharedKey", "string", "pre-shared key (a secret: never written by sectionConfig)"),
  ours("peer", "pair_key", "pairKey", "boolean", "a pre-shared key for this peering made on the nodes (over the fabric's pair_keys)"),
  ours("peer", "pair_key_rotation", "pairKeyRotation", "string", "change it to make this peering's pair key anew")
];

type Index = Record<Dialect, Record<SectionKind, Map<string, SectionKey>>>;

/** Looks keys up in maps built once (dialect → section → name): a large file asks millions of times. */
function indexBy(name: (entry: SectionKey) => string): Index {
  const sections = (): Record<SectionKind, Map<string, SectionKey>> => ({ fabric: new Map(), node: new Map(), interface: new Map(), peer: new Map() });
  const index: Index = { proxmox: sections(), rfc: sections() };
  for (const entry of SECTION_KEYS) for (const dialect of entry.dialects) index[dialect][entry.section].set(name(entry), entry);
  return index;
}
const BY_NAME = indexBy((entry) => entry.key);
const BY_FIELD = indexBy((entry) => entry.field);

/** The key of `section` named `key` in `dialect`, if the file may hold it. */
export function keyByName(section: SectionKind, key: string, dialect: Dialect): SectionKey | undefined {
  return BY_NAME[dialect][section].get(key);
}

/** The key of `section` a misspelt `key` most likely meant, if any. */
export function closestKey(section: SectionKind, key: string, dialect: Dialect): string | undefined {
  return closestOf(key, BY_NAME[dialect][section].keys());
}

/** True when `name` is a key or a field of `section` (of any section when undefined), in either dialect. */
export function isKeyOrField(section: SectionKind | undefined, name: string): boolean {
  return SECTION_KEYS.some((entry) => (section === undefined || entry.section === section) && (entry.key === name || entry.field === name));
}

/** The key of `section` that fills `field` in `dialect`, if any. */
export function keyByField(section: SectionKind, field: string, dialect: Dialect): SectionKey | undefined {
  return BY_FIELD[dialect][section].get(field);
}

/**
 * True for a key Proxmox VE does not know in any meaning: a file that uses one is in the RFC's
 * dialect (our writer of it always writes `key_dir` and `apply_mode`); any other file is in
 * Proxmox VE's. The only key whose meaning differs is a peer's `allowed_ips`.
 */
export function marksRfcDialect(section: SectionKind, key: string): boolean {
  return NOT_PROXMOX[section].has(key);
}

/** By section, the keys Proxmox VE does not know in any meaning. */
const NOT_PROXMOX: Record<SectionKind, Set<string>> = { fabric: new Set(), node: new Set(), interface: new Set(), peer: new Set() };
for (const entry of SECTION_KEYS) {
  if (SECTION_KEYS.every((other) => other.section !== entry.section || other.key !== entry.key || !other.proxmox)) NOT_PROXMOX[entry.section].add(entry.key);
}

/** The README's table: file key, TypeScript field, meaning, and whether it is ours only. */
export function keyTable(): string {
  const rows = SECTION_KEYS.map((entry) => {
    const where = entry.section === "fabric" ? "`wireguard_fabric`" : entry.section === "node" ? "`wireguard_node`" : `\`${entry.section === "interface" ? "interfaces" : "peers"}\` entry`;
    const dialect = entry.dialects.length === 1 ? ` (${entry.dialects[0] === "proxmox" ? "Proxmox VE dialect" : "RFC dialect"})` : "";
    const field = entry.section === "interface" && entry.key === "name" ? "the key of `interfaces`" : `\`${entry.field}\``;
    return `| ${where} | \`${entry.key}\` | ${field} | ${entry.meaning}${dialect} | ${entry.proxmox ? "" : "ours"} |`;
  });
  return ["| section | key | TypeScript field | meaning | only here |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}
