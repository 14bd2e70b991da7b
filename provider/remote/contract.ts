/**
 * The one contract between TypeScript and the shell scripts that run on a node
 * (`scripts/*.sh`): which scripts there are, their positional arguments, the records they
 * read on stdin and the records they print. Scripts are constant text of ours; every value
 * reaches them as a quoted argument or on stdin, never spliced into code.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { configPath, DEFAULT_WG_MTU, endpointRefreshScriptPath, foreignConfigPath, ifupdown2StanzaPath, PAIR_KEY_MARKER } from "../fabric";
import { type DeclaredInterface, firewallScript, type LiveInterface, type LivePeer, type LivePolicy, type NodeRoute, parseDeclared, type PolicyRule, type ProxmoxClaims, type ProxmoxLine, PVE_FABRICS_CFG, type SyncOp } from "./plan";
import { parseFirewall } from "./firewall-json";
import { Cidr, keepaliveOn, parseEndpoint, type ApplyMode } from "../model";

/** How every file we write begins; files that don't are not ours to touch. */
export const MANAGED_PREFIX = "# Managed by pulumi-wireguard-fabric";

/**
 * The first line of a file written for `owner` (`fabric/node/iface`): a renamed node or fabric
 * takes the file over, and the old owner's delete then leaves it alone.
 */
export function managedMarker(owner: string): string {
  return `${MANAGED_PREFIX} for ${owner}: changes here are overwritten.`;
}

/** ensure-key.sh's exit status on a node with Proxmox VE's own fabrics: their lines printed, nothing done until stdin says "checked". */
export const PVE_CHECK_EXIT = 10;

/** The scripts in `scripts/`, by file name without `.sh`. */
export type NodeScript = "ensure-key" | "remove-key" | "inspect" | "apply" | "remove" | "node-address" | "pair-keys";

// Each script starts by sourcing common.sh (so shellcheck follows it); on the wire it is inlined.
const SOURCE_COMMON = '. "${0%/*}/common.sh"';
const SCRIPT_DIR = path.join(__dirname, "scripts");
const loaded = new Map<NodeScript, string>();

/** The text of a node script as it runs: common.sh inlined, our marker prefix filled in. */
export function nodeScript(name: NodeScript): string {
  let text = loaded.get(name);
  if (text === undefined) {
    const common = readFileSync(path.join(SCRIPT_DIR, "common.sh"), "utf8").replace("@MANAGED_PREFIX@", MANAGED_PREFIX).replace("@PVE_FABRICS_CFG@", PVE_FABRICS_CFG).replace("@PVE_CHECK_EXIT@", String(PVE_CHECK_EXIT)).replace("@PAIR_KEY_MARKER@", PAIR_KEY_MARKER);
    const own = readFileSync(path.join(SCRIPT_DIR, `${name}.sh`), "utf8");
    if (!own.includes(SOURCE_COMMON)) throw new Error(`scripts/${name}.sh does not source common.sh`);
    text = own.replace(SOURCE_COMMON, () => common);
    loaded.set(name, text);
  }
  return text;
}

let refresher: string | undefined;

/** The follower of endpoint names as a node keeps it (endpoint-refresh.sh as it is: it runs on its own). */
export function endpointRefreshScript(): string {
  refresher ??= readFileSync(path.join(SCRIPT_DIR, "endpoint-refresh.sh"), "utf8");
  return refresher;
}

/** The digest inspect.sh reports for the follower's file on the node (`refresher-digest`) when `declared` starts one; undefined: there must be none. */
export function refresherDigest(declared: DeclaredInterface): string | undefined {
  return declared.endpointRefresh ? createHash("sha256").update(endpointRefreshScript()).digest("hex") : undefined;
}

/** The pair key files `declared` names, sorted: apply.sh removes the interface's others. */
export function declaredPairKeyFiles(declared: DeclaredInterface): string[] {
  return declared.peers.flatMap((peer) => (peer.pairKey ? [peer.pairKey.file] : [])).sort();
}

/** The interface's pair key files on the node that `wanted` (see {@link declaredPairKeyFiles}) does not name. */
export function stalePairKeyFiles(found: Inspection, wanted: readonly string[]): string[] {
  return found.pairKeyFiles.filter((file) => !wanted.includes(file));
}

/** One interface on a node, and who it belongs to. */
export interface InterfaceTarget {
  readonly keyDir: string;
  readonly iface: string;
  /** `fabric/node/iface` of the resource managing it (see {@link managedMarker}). */
  readonly owner: string;
  /** Take over a key or files another fabric owns. */
  readonly adopt?: boolean;
  /** Where the config file is, when not where {@link configPath} puts it (state of a release before 0.3). */
  readonly conf?: string;
  /**
   * Where the interface's files were until now, when they move (a new key folder, or the layout of
   * a release before 0.3): the key files are moved from `keyDir`, and the config at `conf` is
   * replaced by the one in its new place.
   */
  readonly from?: { readonly keyDir: string; readonly conf?: string };
}

/** The positional arguments every script takes, by the name common.sh gives them, in order. */
export const SCRIPT_ARGUMENTS = ["iface", "key_dir", "mode", "owner", "conf", "stanza_path", "marker", "adopt", "from_key_dir", "from_conf", "foreign_conf", "refresher", "from_refresher"] as const;

/** The values of {@link SCRIPT_ARGUMENTS} for one interface. */
export function scriptArgs(target: InterfaceTarget, mode: ApplyMode): string[] {
  const conf = target.conf ?? configPath(mode, target.keyDir, target.iface);
  const values: Record<(typeof SCRIPT_ARGUMENTS)[number], string> = {
    iface: target.iface,
    key_dir: target.keyDir,
    mode,
    owner: target.owner,
    conf,
    stanza_path: ifupdown2StanzaPath(target.iface),
    marker: managedMarker(target.owner),
    adopt: target.adopt ? "yes" : "no",
    from_key_dir: target.from?.keyDir ?? target.keyDir,
    from_conf: target.from?.conf ?? conf,
    foreign_conf: foreignConfigPath(mode, target.iface),
    refresher: endpointRefreshScriptPath(target.keyDir, target.iface),
    from_refresher: endpointRefreshScriptPath(target.from?.keyDir ?? target.keyDir, target.iface),
  };
  return SCRIPT_ARGUMENTS.map((name) => values[name]);
}

/** stdin as the scripts read it: `NAME LENGTH\n` then LENGTH bytes, for each record. */
export function encodeRecords(records: readonly (readonly [string, string])[]): string {
  return records.map(([name, body]) => `${name} ${Buffer.byteLength(body, "utf8")}\n${body}`).join("");
}

/** The fields of one peer in a `wg` line: `peer=KEY` first, then what to set or `remove`. */
function peerClauses(op: Extract<SyncOp, { op: "peer" | "peer-remove" }>, presharedKeys: string[]): string[] {
  if (op.op === "peer-remove") return [`peer=${op.publicKey}`, "remove"];
  const fields = [`peer=${op.publicKey}`];
  if (op.presharedKey === null) fields.push("psk=-");
  else if (typeof op.presharedKey === "object") fields.push(`pskfile=${op.presharedKey.file}`);
  else if (op.presharedKey !== undefined) fields.push(`psk=${presharedKeys.push(op.presharedKey) - 1}`);
  if (op.endpoint !== undefined) fields.push(`endpoint=${op.endpoint}`);
  if (op.persistentKeepalive !== undefined) fields.push(`keepalive=${keepaliveOn(op.persistentKeepalive) ?? "off"}`);
  if (op.allowedIps !== undefined) fields.push(`allowed=${op.allowedIps.join(",")}`);
  return fields;
}

/**
 * A plan as apply.sh reads it: one command a line, fields tab-separated. Consecutive peer steps
 * become one `wg` line (one `wg set` for all of them; a peer removed and added back starts a
 * new line), consecutive address and route steps one `ip` line (one `ip -batch`), so a new
 * interface with a hundred peers costs a handful of processes, not hundreds. Pre-shared keys
 * are not in the plan: they go in records `psk.N` (returned in order), which the line names.
 * A firewall step is one `nft` line: its transaction, statements separated by `;`.
 */
export function encodePlan(ops: readonly SyncOp[], iface: string): { plan: string; presharedKeys: string[] } {
  const presharedKeys: string[] = [];
  const lines: string[][] = [];
  let open: { kind: "wg" | "ip"; fields: string[]; keys: Set<string> } | undefined;
  const group = (kind: "wg" | "ip", fields: string[], key?: string): void => {
    if (!open || open.kind !== kind || (key !== undefined && open.keys.has(key))) {
      open = { kind, fields: [kind], keys: new Set() };
      lines.push(open.fields);
    }
    open.fields.push(...fields);
    if (key !== undefined) open.keys.add(key);
  };
  // a step on a line of its own
  const alone = (...fields: string[]): void => {
    open = undefined;
    lines.push(fields);
  };
  for (const op of ops) {
    switch (op.op) {
      case "peer":
      case "peer-remove":
        group("wg", peerClauses(op, presharedKeys), op.publicKey);
        break;
      case "addr-add":
      case "addr-del":
      case "route-replace":
      case "route-del":
        group("ip", [`${op.op}=${op.cidr}`]);
        break;
      case "listen-port":
        alone(op.op, String(op.port), ...(op.previous === undefined ? [] : [String(op.previous)]));
        break;
      case "mtu":
        alone(op.op, String(op.mtu));
        break;
      case "table-route-replace":
      case "table-route-del":
        group("ip", [`${op.op}=${op.table}=${op.cidr}`]);
        break;
      case "fwmark":
        alone(op.op, String(op.mark));
        break;
      case "rule-add":
      case "rule-del":
        alone("rule", op.op === "rule-add" ? "add" : "del", String(op.rule.family), ...(op.rule.kind === "suppress" ? ["suppress"] : ["fwmark", String(op.rule.table)]));
        break;
      case "firewall-set":
      case "firewall-del":
        alone("nft", firewallScript(iface, op));
        break;
      case "endpoint-refresh":
        alone(op.op, ...(op.refresh ? ["start", String(op.refresh.interval), op.refresh.config] : ["stop"]));
        break;
      default:
        alone(op.op);
    }
  }
  return { plan: lines.map((fields) => `${fields.join("\t")}\n`).join(""), presharedKeys };
}

/** What inspect.sh needs on stdin: the endpoint hosts of `declared`, names to resolve apart, and the pair keys it names. */
export function encodeInspectRequest(declared: DeclaredInterface): string {
  const lines = new Set<string>();
  for (const peer of declared.peers) {
    if (peer.pairKey) lines.add(`pairkey ${peer.pairKey.file}`);
    const endpoint = peer.endpoint === undefined ? undefined : parseEndpoint(peer.endpoint);
    if (endpoint === undefined || typeof endpoint === "string") continue;
    lines.add(`${endpoint.kind === "hostname" ? "resolve" : "address"} ${endpoint.host}`);
  }
  return [...lines].map((line) => `${line}\n`).join("");
}

/** The digest inspect.sh reports for a config file that holds exactly `rendered` for `owner`. */
export function configDigest(rendered: string, owner: string): string {
  return createHash("sha256").update(`${managedMarker(owner)}\n${rendered}`).digest("hex");
}

/** The digest inspect.sh reports for an ifupdown2 stanza file holding `stanza` for `owner`. */
export function stanzaDigest(stanza: string, owner: string): string {
  return configDigest(stanza, owner);
}

/** What is on a node for one interface: its files, and the running interface. */
export interface Inspection {
  readonly keyPresent: boolean;
  /** Derived from the key file on the node. */
  readonly publicKey?: string;
  /** sha256 of the config file without its PrivateKey line; undefined when there is no file. */
  readonly configDigest?: string;
  /** False when a config file exists that we did not write. */
  readonly configIsOurs?: boolean;
  /** sha256 of the ifupdown2 stanza file (ifupdown2 mode), if there is one. */
  readonly stanzaDigest?: string;
  /** sha256 of the follower of endpoint names beside the key, if there is one ({@link endpointRefreshDigest}). */
  readonly refresherDigest?: string;
  /** The interface's pair key files in its key folder, by name ({@link pairKeyFile}). */
  readonly pairKeyFiles: readonly string[];
  readonly live: LiveInterface;
  /** Proxmox VE's own fabrics on the node, when it is a Proxmox VE node with a fabrics.cfg. */
  readonly proxmox?: ProxmoxClaims;
}

function json<T>(text: string | undefined, fallback: T): T {
  try {
    return text ? (JSON.parse(text) as T) : fallback;
  } catch {
    return fallback;
  }
}

type IpAddr = { addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[] };
type IpRoute = { dst?: string; protocol?: string; type?: string; table?: string };
type IpRule = { not?: null; fwmark?: string; table?: string; suppress_prefixlen?: number };
type IpLink = { ifname?: string; flags?: string[]; mtu?: number };

// Routes we add are `boot` (ip's default) or `static`; the kernel's and routing daemons' stay theirs.
const MANAGED_ROUTE_PROTOCOLS = new Set(["boot", "static"]);

/** The main table's routes into the interface that we manage (ip -j names no table for the main one). */
function managedRoutes(entries: IpRoute[], family: 4 | 6): string[] {
  return entries
    .filter((route) => route.dst && route.dst !== "default" && (route.table ?? "main") === "main" && MANAGED_ROUTE_PROTOCOLS.has(route.protocol ?? "boot") && (route.type ?? "unicast") === "unicast")
    .map((route) => {
      const dst = route.dst as string;
      return dst.includes("/") ? dst : `${dst}/${family === 4 ? 32 : 128}`;
    });
}

/** The full-tunnel rules among a family's `ip -j rule` entries. */
function policyRules(entries: IpRule[], family: 4 | 6): PolicyRule[] {
  return entries.flatMap((rule): PolicyRule[] => {
    if (rule.table === "main" && rule.suppress_prefixlen === 0) return [{ family, kind: "suppress" }];
    const table = Number(rule.table);
    return "not" in rule && rule.fwmark !== undefined && Number(rule.fwmark) === table ? [{ family, kind: "fwmark", table }] : [];
  });
}

/** Routes into the interface outside the main and local tables. */
function tableRoutes(entries: IpRoute[], family: 4 | 6): LivePolicy["tableRoutes"] {
  return entries
    .filter((route) => route.dst && /^\d+$/.test(route.table ?? ""))
    .map((route) => ({ table: Number(route.table), cidr: route.dst === "default" ? (family === 4 ? "0.0.0.0/0" : "::/0") : (route.dst as string) }));
}

function peerOf(fields: string[]): LivePeer {
  const [publicKey = "", psk, endpoint, allowed, handshake, rx, tx, keepalive] = fields;
  // wg prints "off" or the seconds
  const seconds = keepaliveOn(keepalive === "off" ? 0 : Number(keepalive ?? 0));
  return {
    publicKey,
    ...(psk && psk !== "(none)" ? { presharedKeyDigest: psk } : {}),
    ...(endpoint && endpoint !== "(none)" ? { endpoint } : {}),
    allowedIps: allowed && allowed !== "(none)" ? allowed.split(",") : [],
    ...(seconds !== undefined ? { persistentKeepalive: seconds } : {}),
    latestHandshake: Number(handshake ?? 0),
    rxBytes: Number(rx ?? 0),
    txBytes: Number(tx ?? 0),
  };
}

/** Route types `ip -o route` writes before the prefix; those that carry nothing (`blackhole`, …) keep a packet out of any tunnel too. */
const ROUTE_TYPES = new Set(["unicast", "local", "broadcast", "multicast", "throw", "unreachable", "prohibit", "blackhole", "nat", "anycast"]);

/** One line of `ip -o -FAMILY route show table main` as a route of the node's own (`default` is /0), or undefined when it is not one. */
export function nodeRouteOf(family: 4 | 6, line: string): NodeRoute | undefined {
  const words = line.trim().split(/\s+/);
  const typed = ROUTE_TYPES.has(words[0] ?? "");
  const dst = words[typed ? 1 : 0] ?? "";
  const prefix = dst === "default" ? (family === 4 ? "0.0.0.0/0" : "::/0") : dst.includes("/") ? dst : `${dst}/${dst.includes(":") ? 128 : 32}`;
  const cidr = Cidr.parse(prefix);
  if (typeof cidr === "string") return undefined;
  const dev = words[words.indexOf("dev") + 1];
  return { cidr: cidr.network().toString(), text: line.trim(), ...(words.includes("dev") && dev ? { dev } : {}) };
}

/**
 * Parses inspect.sh's records. The MTU wg-quick would pick is worked out here as wg-quick does:
 * the largest path MTU towards the endpoints, else the default route's device's, else 1500;
 * minus 80 for WireGuard's overhead.
 */
export function parseInspection(text: string): Inspection {
  const single = new Map<string, string[]>();
  const peers: LivePeer[] = [];
  const conf: string[] = [];
  const resolved: Record<string, string[]> = {};
  const pairKeys: Record<string, string> = {};
  const paths: string[] = [];
  const mainRoutes: NodeRoute[] = [];
  const pveLines: ProxmoxLine[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const [tag = "", ...fields] = line.split("\t");
    if (tag === "peer") peers.push(peerOf(fields));
    else if (tag === "conf") conf.push(fields.join("\t"));
    else if (tag === "pve-line") {
      // grep -n: "NUMBER:TEXT"
      const numbered = /^(\d+):(.*)$/s.exec(fields.join("\t"));
      if (numbered) pveLines.push({ line: Number(numbered[1]), text: numbered[2] as string });
    }
    else if (tag === "resolved") resolved[fields[0] ?? ""] = (fields[1] ?? "").split(" ").filter(Boolean);
    else if (tag === "pairkey") pairKeys[fields[0] ?? ""] = fields[1] ?? "";
    else if (tag === "path") paths.push(fields.join("\t"));
    else if (tag === "main-route") {
      const route = nodeRouteOf(fields[0] === "6" ? 6 : 4, fields.slice(1).join("\t"));
      if (route) mainRoutes.push(route);
    }
    else single.set(tag, fields);
  }
  const value = (tag: string): string | undefined => single.get(tag)?.[0];
  const link = json<IpLink[]>(value("link"), [])[0];
  const addresses = json<IpAddr[]>(value("addr"), [])
    .flatMap((entry) => entry.addr_info ?? [])
    .filter((info) => info.scope === "global" && info.local && info.prefixlen !== undefined)
    .map((info) => `${info.local}/${info.prefixlen}`);
  // every table's routes into the interface: the main table's are ours to plan, the others a full tunnel's
  const route4 = json<IpRoute[]>(value("route4"), []);
  const route6 = json<IpRoute[]>(value("route6"), []);
  const routes = [...managedRoutes(route4, 4), ...managedRoutes(route6, 6)];
  const linkMtus = new Map(json<IpLink[]>(value("links"), []).map((l) => [l.ifname, l.mtu]));
  // as wg-quick reads a route: its own mtu, else its device's
  const routeMtu = (route: string): number => Number(/ mtu (\d+)/.exec(route)?.[1] ?? linkMtus.get(/ dev (\S+)/.exec(route)?.[1] ?? "") ?? 0);
  const pathMtus = paths.map(routeMtu).filter((mtu) => mtu > 0);
  const defaultMtu = routeMtu(value("default") ?? "");
  const baseMtu = pathMtus.length > 0 ? Math.max(...pathMtus) : defaultMtu > 0 ? defaultMtu : 1500;
  let previous: DeclaredInterface | undefined;
  try {
    previous = conf.length > 0 ? parseDeclared(conf.join("\n")) : undefined;
  } catch {
    previous = undefined; // a file we cannot read back says nothing about earlier declarations
  }
  const unit = value("unit");
  const listen = value("listen");
  const pveNode = value("pve-node");
  const fwmark = value("fwmark");
  const policy: LivePolicy = {
    ...(fwmark && fwmark !== "off" && Number(fwmark) > 0 ? { fwmark: Number(fwmark) } : {}),
    rules: [...policyRules(json<IpRule[]>(value("rule4"), []), 4), ...policyRules(json<IpRule[]>(value("rule6"), []), 6)],
    tableRoutes: [...tableRoutes(route4, 4), ...tableRoutes(route6, 6)],
    busyTables: (value("tables") ?? "").split(" ").filter(Boolean).map(Number),
    ...(single.has("nft")
      ? { firewalls: ([[4, "nft-ip"], [6, "nft-ip6"]] as const).flatMap(([family, tag]) => (single.has(tag) ? [parseFirewall(value(tag) ?? "", family) ?? { family, guarded: [], complete: false }] : [])) }
      : {}),
    ...(value("src-valid-mark") ? { srcValidMark: value("src-valid-mark") === "1" } : {}),
    ...(single.has("ssh-routes") ? { sshMainRoutes: json<IpRoute[]>(value("ssh-routes"), []).flatMap((route) => (route.dst ? [route.dst] : [])) } : {}),
  };
  return {
    keyPresent: value("key") === "present",
    publicKey: value("pub"),
    configDigest: value("digest"),
    configIsOurs: single.has("ours") ? value("ours") === "yes" : undefined,
    stanzaDigest: value("stanza-digest"),
    refresherDigest: value("refresher-digest"),
    pairKeyFiles: (value("pairkey-files") ?? "").split(" ").filter(Boolean).sort(),
    ...(pveNode ? { proxmox: { node: pveNode, lines: pveLines } } : {}),
    live: {
      link: link ? { up: (link.flags ?? []).includes("UP"), mtu: link.mtu ?? DEFAULT_WG_MTU } : undefined,
      publicKey: value("public") || undefined,
      listenPort: listen && listen !== "0" ? Number(listen) : undefined,
      peers,
      addresses,
      routes,
      // masked, static and the like are the operator's choice: only enabled/disabled are ours to act on
      unit: unit === "enabled" || unit === "disabled" ? unit : undefined,
      resolved,
      ...(Object.keys(pairKeys).length > 0 ? { pairKeys } : {}),
      ...(mainRoutes.length > 0 ? { mainRoutes } : {}),
      autoMtu: baseMtu - 80,
      previous,
      sshClient: value("ssh-client") || undefined,
      policy,
      ...(single.has("refresh") ? { endpointRefresh: { interval: Number(value("refresh")), config: single.get("refresh")?.[1] ?? "" } } : {}),
    },
  };
}
