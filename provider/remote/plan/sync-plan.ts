import { createHash } from "node:crypto";
import { Cidr, keepaliveOn, parseEndpoint, type ApplyMode, type WgKey } from "../../model";
import type { DeclaredPeer, EndpointRefresh } from "../../fabric";
import { declaredRoutes, type DeclaredInterface } from "./declared";
import { capturedEndpoints, type NodeRoute } from "./endpoint-routes";
import { fullTunnelCutOff, planPolicyRouting, type LivePolicy, type PolicyOp, type PolicyRule } from "./policy-routing";

/** One peer of a running interface, as `wg show dump` reports it (the pre-shared key as a digest), in the shape of a declared peer. */
export interface LivePeer extends Omit<DeclaredPeer, "publicKey" | "presharedKey" | "endpoint"> {
  readonly publicKey: string;
  /** sha256 (hex) of the peer's pre-shared key; undefined when it has none. */
  readonly presharedKeyDigest?: string;
  /** `ip:port` the interface sends to now (learned or set). */
  readonly endpoint?: string;
  /** Seconds since the epoch; 0 when no handshake yet. */
  readonly latestHandshake: number;
  readonly rxBytes: number;
  readonly txBytes: number;
}

/** What a node reports of one interface: the link, WireGuard, addresses and routes, and a few facts. */
export interface LiveInterface {
  /** Undefined when no such link exists. */
  readonly link?: { readonly up: boolean; readonly mtu: number };
  readonly publicKey?: string;
  readonly listenPort?: number;
  readonly peers: readonly LivePeer[];
  /** Global-scope addresses with prefix, host bits kept. */
  readonly addresses: readonly string[];
  /** Prefixes routed to the interface in the main table that we manage (not the kernel's own). */
  readonly routes: readonly string[];
  /** `wg-quick@<iface>` where the node has systemd; undefined where it has none. */
  readonly unit?: "enabled" | "disabled";
  /** Addresses each hostname of a declared endpoint resolves to on the node (empty: unresolvable). */
  readonly resolved: Readonly<Record<string, readonly string[]>>;
  /** The MTU wg-quick would choose when none is declared (route MTU towards the endpoints − 80). */
  readonly autoMtu: number;
  /** The peers and endpoints the config file on the node declares now (its keys stay on the node), if there is one. */
  readonly previous?: DeclaredInterface;
  /** The address our SSH session comes from, as the node sees it: no route may take it into the tunnel. */
  readonly sshClient?: string;
  /** Its full-tunnel policy routing (mark, rules, table routes); absent: none at all. */
  readonly policy?: LivePolicy;
  /** The main table's routes through other devices, when the declaration has endpoints: which keeps an endpoint out of the tunnel. */
  readonly mainRoutes?: readonly NodeRoute[];
  /** The pair keys the declaration names that are in the key folder: {@link presharedKeyDigest} of each, by file. */
  readonly pairKeys?: Readonly<Record<string, string>>;
  /** The follower of endpoint names running for the interface, if one is. */
  readonly endpointRefresh?: EndpointRefresh;
}

const NO_POLICY: LivePolicy = { rules: [], tableRoutes: [], busyTables: [] };

/** How to set a pre-shared key: a value (travels on stdin), a pair key's file in the key folder, or `null` to remove it. */
export type PresharedKeyChange = WgKey | { readonly file: string } | null;

/** One step that moves the running interface towards the declaration; the node executes them in order. */
export type SyncOp =
  | { readonly op: "link-add" }
  | { readonly op: "ifup" }
  | { readonly op: "link-up" }
  | { readonly op: "private-key" }
  /** `previous` is put back if the change fails (wireguard-go lets go of the old port first). */
  | { readonly op: "listen-port"; readonly port: number; readonly previous?: number }
  | { readonly op: "mtu"; readonly mtu: number }
  | { readonly op: "addr-del" | "addr-add" | "route-replace" | "route-del"; readonly cidr: string }
  /**
   * A peer's fields that change, in a declared peer's shape: AllowedIPs as the complete set (empty
   * removes every one), a keepalive of 0 turns it off ({@link keepaliveOn}).
   */
  | ({ readonly op: "peer"; readonly publicKey: string; readonly presharedKey?: PresharedKeyChange } & Partial<Omit<DeclaredPeer, "publicKey" | "presharedKey">>)
  | { readonly op: "peer-remove"; readonly publicKey: string }
  | { readonly op: "unit-enable" }
  /** (Re)starts the follower of endpoint names with the files' arguments, or stops it (undefined): run once the files are in place. */
  | { readonly op: "endpoint-refresh"; readonly refresh?: EndpointRefresh }
  | PolicyOp;

/** What {@link planSync} decided, and what it could not do. */
export interface SyncPlan {
  readonly ops: readonly SyncOp[];
  /** Declared values left out, with the reason (e.g. an endpoint the node cannot resolve). */
  readonly notes: readonly string[];
  /** Why the plan must not run at all (it would cut the node off): nothing is applied while any. */
  readonly refusals: readonly string[];
}

/** sha256 (hex) of a pre-shared key, as the node reports it: the key itself never travels back. */
export function presharedKeyDigest(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

function canonicalSet(list: readonly string[], route: boolean): string {
  return list
    .map((text) => {
      const cidr = Cidr.of(text);
      return (route ? cidr.network() : cidr).toString();
    })
    .sort()
    .join(",");
}

/** `host:port` split into the host (brackets removed) and port, or undefined. */
function splitEndpoint(text: string): { host: string; port?: number; hostname: boolean } | undefined {
  const parsed = parseEndpoint(text);
  return typeof parsed === "string" ? undefined : { host: parsed.host, port: parsed.port, hostname: parsed.kind === "hostname" };
}

/** True when the live `ip:port` is where the declared endpoint points (a hostname via its resolved addresses). */
function endpointMatches(declared: string, live: string | undefined, resolved: LiveInterface["resolved"]): boolean {
  if (live === undefined) return false;
  const want = splitEndpoint(declared);
  const have = splitEndpoint(live);
  if (!want || !have || want.port !== have.port) return false;
  if (!want.hostname) return want.host === have.host;
  return (resolved[want.host] ?? []).some((address) => splitEndpoint(address.includes(":") ? `[${address}]` : address)?.host === have.host);
}

type EndpointDecision = { readonly set?: string; readonly clear?: true; readonly note?: string };

/**
 * Whether a peer's endpoint must change. An endpoint WireGuard learned or roamed to is left
 * alone while the declaration says what it said before; a hostname is set only when the node
 * can resolve it (else the peer keeps working without it and the plan says so).
 */
function endpointDecision(peer: DeclaredPeer, live: LivePeer | undefined, running: LiveInterface, label: string): EndpointDecision {
  const before = running.previous?.peers.find((p) => p.publicKey === peer.publicKey)?.endpoint;
  if (peer.endpoint === undefined) return live?.endpoint !== undefined && before !== undefined ? { clear: true } : {};
  if (endpointMatches(peer.endpoint, live?.endpoint, running.resolved)) return {};
  if (live?.endpoint !== undefined && before === peer.endpoint) return {};
  const target = splitEndpoint(peer.endpoint);
  if (target?.hostname && (running.resolved[target.host] ?? []).length === 0) {
    return { note: `peer ${label}: endpoint ${peer.endpoint} does not resolve on the node; left unset until it does` };
  }
  return { set: peer.endpoint };
}

/** The `peer` step that creates `peer` from nothing, every declared field set. */
function addPeer(peer: DeclaredPeer, endpoint: string | undefined): SyncOp {
  return {
    op: "peer",
    publicKey: peer.publicKey,
    ...(peer.presharedKey ? { presharedKey: peer.presharedKey } : peer.pairKey ? { presharedKey: { file: peer.pairKey.file } } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(keepaliveOn(peer.persistentKeepalive) !== undefined ? { persistentKeepalive: peer.persistentKeepalive } : {}),
    allowedIps: peer.allowedIps,
  };
}

function planPeers(declared: DeclaredInterface, running: LiveInterface, notes: string[]): SyncOp[] {
  const live = new Map(running.peers.map((peer) => [peer.publicKey, peer]));
  const ops: SyncOp[] = [];
  for (const peer of declared.peers) {
    const have = live.get(peer.publicKey);
    live.delete(peer.publicKey);
    const endpoint = endpointDecision(peer, have, running, peer.publicKey);
    if (endpoint.note) notes.push(endpoint.note);
    if (!have) {
      ops.push(addPeer(peer, endpoint.set ?? (endpoint.note ? undefined : peer.endpoint)));
      continue;
    }
    if (endpoint.clear) {
      // WireGuard has no way to unset an endpoint: the peer is removed and added back without it.
      ops.push({ op: "peer-remove", publicKey: peer.publicKey }, addPeer(peer, undefined));
      continue;
    }
    const change: { -readonly [K in keyof Extract<SyncOp, { op: "peer" }>]?: Extract<SyncOp, { op: "peer" }>[K] } = {};
    const wantPsk = peer.presharedKey ? presharedKeyDigest(peer.presharedKey) : peer.pairKey && running.pairKeys?.[peer.pairKey.file];
    if (wantPsk !== have.presharedKeyDigest) change.presharedKey = peer.presharedKey ?? (peer.pairKey ? { file: peer.pairKey.file } : null);
    if (endpoint.set) change.endpoint = endpoint.set;
    if (keepaliveOn(peer.persistentKeepalive) !== keepaliveOn(have.persistentKeepalive)) change.persistentKeepalive = peer.persistentKeepalive ?? 0;
    if (canonicalSet(peer.allowedIps, true) !== canonicalSet(have.allowedIps, true)) change.allowedIps = peer.allowedIps;
    if (Object.keys(change).length > 0) ops.push({ op: "peer", publicKey: peer.publicKey, ...change });
  }
  // removals last: a peer whose AllowedIPs moved to another is never without a route meanwhile
  for (const key of live.keys()) ops.push({ op: "peer-remove", publicKey: key });
  return ops;
}

/** Addresses out, then in: deleting an IPv4 subnet's primary address also deletes its secondaries. */
function planAddresses(declared: DeclaredInterface, running: LiveInterface): SyncOp[] {
  const want = new Set(declared.addresses.map((a) => Cidr.of(a).toString()));
  const have = new Set(running.addresses.map((a) => Cidr.of(a).toString()));
  return [
    ...[...have].filter((a) => !want.has(a)).map((cidr): SyncOp => ({ op: "addr-del", cidr })),
    ...[...want].filter((a) => !have.has(a)).map((cidr): SyncOp => ({ op: "addr-add", cidr })),
  ];
}

/**
 * Whether `addresses` takes every IPv4 address of the interface away for a moment: Linux then
 * deletes the device's IPv4 routes in every table (`fib_disable_ip`), so they count as gone.
 */
function flushesIpv4(running: LiveInterface, addresses: readonly SyncOp[]): boolean {
  const deleted = new Set(addresses.flatMap((op) => (op.op === "addr-del" ? [op.cidr] : [])));
  const live4 = running.addresses.filter((a) => Cidr.of(a).family === 4);
  return live4.length > 0 && live4.every((a) => deleted.has(Cidr.of(a).toString()));
}

/** Routes by exact prefix: the new ones first, so narrowing a route never leaves a gap, then the stale. */
function planRoutes(declared: DeclaredInterface, running: LiveInterface, flushed4: boolean): SyncOp[] {
  const want = new Set(declaredRoutes(declared));
  const have = new Set(running.routes.map((r) => Cidr.of(r)).filter((r) => !(flushed4 && r.family === 4)).map((r) => r.network().toString()));
  return [
    ...[...want].filter((r) => !have.has(r)).map((cidr): SyncOp => ({ op: "route-replace", cidr })),
    ...[...have].filter((r) => !want.has(r)).map((cidr): SyncOp => ({ op: "route-del", cidr })),
  ];
}

/** Options of {@link planSync}. */
export interface SyncOptions {
  readonly mode: ApplyMode;
  /** The interface's own public key (from its key file): a different live key is replaced. */
  readonly publicKey?: string;
}

/**
 * The exact steps that make the running interface equal to `declared`, and nothing else: an
 * empty plan means in sync (refresh reports drift from the same function). Peers are changed
 * field by field (a peer that did not change is not touched, so its tunnel never drops a
 * packet), additions and changes before removals, addresses before routes, and routes by exact
 * prefix per family. In `none` mode nothing is live, so nothing is planned; in `ifupdown2` mode
 * a missing link is brought up by `ifup` from the files; in `wg-quick` and `proxmox` modes it
 * is created and filled by the same steps (Proxmox VE's ifupdown2 brings it up at boot), and in
 * `wg-quick` mode `wg-quick@<iface>` is then enabled for boot where systemd is.
 */
export function planSync(declared: DeclaredInterface, running: LiveInterface, options: SyncOptions): SyncPlan {
  if (options.mode === "none") return { ops: [], notes: [], refusals: [] };
  const refusals = [
    ...cutOff(declared, running.sshClient),
    ...fullTunnelCutOff(declared, running.policy ?? NO_POLICY, running.sshClient),
    ...capturedEndpoints(declared, running.mainRoutes ?? [], running.resolved),
    ...missingPairKeys(declared, running),
  ];
  if (options.mode === "ifupdown2" && !running.link) return { ops: [{ op: "ifup" }], notes: [], refusals };
  const notes: string[] = [];
  const ops: SyncOp[] = [];
  if (!running.link) ops.push({ op: "link-add" });
  if (options.publicKey !== undefined && running.publicKey !== options.publicKey) ops.push({ op: "private-key" });
  if (declared.listenPort !== undefined && running.listenPort !== declared.listenPort) {
    ops.push({ op: "listen-port", port: declared.listenPort, ...(running.listenPort !== undefined ? { previous: running.listenPort } : {}) });
  }
  const mtu = declared.mtu ?? running.autoMtu;
  if (running.link?.mtu !== mtu) ops.push({ op: "mtu", mtu });
  const addresses = planAddresses(declared, running);
  ops.push(...addresses);
  if (!running.link?.up) ops.push({ op: "link-up" });
  ops.push(...planPeers(declared, running, notes));
  const flushed4 = flushesIpv4(running, addresses);
  ops.push(...planRoutes(declared, running, flushed4));
  const policy = running.policy ?? NO_POLICY;
  ops.push(...planPolicyRouting(declared, flushed4 ? { ...policy, tableRoutes: policy.tableRoutes.filter((r) => Cidr.of(r.cidr).family === 6) } : policy));
  if (options.mode === "wg-quick" && running.unit === "disabled") ops.push({ op: "unit-enable" });
  if (!sameRefresh(declared.endpointRefresh, running.endpointRefresh)) ops.push({ op: "endpoint-refresh", ...(declared.endpointRefresh ? { refresh: declared.endpointRefresh } : {}) });
  return { ops, notes, refusals };
}

function sameRefresh(a: EndpointRefresh | undefined, b: EndpointRefresh | undefined): boolean {
  return a?.interval === b?.interval && a?.config === b?.config;
}

/** Pair keys the declaration names that the key folder lacks: the fabric makes them before any config. */
function missingPairKeys(declared: DeclaredInterface, running: LiveInterface): string[] {
  return declared.peers.flatMap((peer) =>
    peer.pairKey && running.pairKeys?.[peer.pairKey.file] === undefined ? [`pair key ${peer.pairKey.file} of peer ${peer.publicKey} is not in the key folder (the fabric's pair keys are made before its configs: \`pulumi up --refresh\` makes it anew)`] : [],
  );
}

/** Declared routes and subnets that would take the node's own SSH path into the tunnel. */
function cutOff(declared: DeclaredInterface, sshClient: string | undefined): string[] {
  const client = sshClient === undefined ? undefined : Cidr.parse(`${sshClient}/${sshClient.includes(":") ? 128 : 32}`);
  if (!client || typeof client === "string") return [];
  const through = [...declaredRoutes(declared), ...declared.addresses.map((a) => Cidr.of(a).network().toString())];
  return through
    .filter((prefix) => Cidr.of(prefix).overlaps(client))
    .map((prefix) => `${prefix} would route ${sshClient}, where this SSH session comes from, into the tunnel and cut the node off`);
}

/** A policy rule as `ip rule` writes it. */
function ruleText(rule: PolicyRule): string {
  return rule.kind === "suppress" ? "table main suppress_prefixlength 0" : `not fwmark ${rule.table} table ${rule.table}`;
}

/** One line of drift for a step: what differs on the node (no secret in it). */
export function describeOp(op: SyncOp): string {
  switch (op.op) {
    case "link-add":
    case "ifup":
      return "the interface does not exist";
    case "link-up":
      return "the interface is down";
    case "private-key":
      return "the interface runs with another private key than its key file";
    case "listen-port":
      return `the listen port is not ${op.port}`;
    case "mtu":
      return `the MTU is not ${op.mtu}`;
    case "addr-add":
      return `address ${op.cidr} is missing`;
    case "addr-del":
      return `address ${op.cidr} is not declared`;
    case "route-replace":
      return `route ${op.cidr} is missing`;
    case "route-del":
      return `route ${op.cidr} is not declared`;
    case "peer-remove":
      return `peer ${op.publicKey} is not declared (or must be added anew)`;
    case "unit-enable":
      return "wg-quick@ is not enabled for boot";
    case "endpoint-refresh":
      return op.refresh ? `the follower of endpoint names does not run every ${op.refresh.interval} s on ${op.refresh.config}` : "a follower of endpoint names runs, and none is declared";
    case "fwmark":
      return op.mark === 0 ? "the interface still marks its packets for a full tunnel" : `the interface does not mark its packets ${op.mark} for its full tunnel`;
    case "rule-add":
      return `the full tunnel's rule ${ruleText(op.rule)} (IPv${op.rule.family}) is missing`;
    case "rule-del":
      return `rule ${ruleText(op.rule)} (IPv${op.rule.family}) of a full tunnel is not declared`;
    case "table-route-replace":
      return `route ${op.cidr} in table ${op.table} is missing`;
    case "table-route-del":
      return `route ${op.cidr} in table ${op.table} is not declared`;
    case "firewall-set":
      return `wg-quick's nftables table of the full tunnel (IPv${op.firewall.family}) ${op.replace ? "is not as wg-quick loads it" : "is missing"}`;
    case "firewall-del":
      return `wg-quick's nftables table of a full tunnel (IPv${op.family}) is not declared`;
    case "src-valid-mark":
      return "net.ipv4.conf.all.src_valid_mark is off (a full tunnel needs it)";
    case "peer": {
      const fields = [
        op.presharedKey !== undefined ? (op.presharedKey === null ? "a pre-shared key to remove" : typeof op.presharedKey === "object" ? `the pair key ${op.presharedKey.file}` : "another pre-shared key") : "",
        op.endpoint !== undefined ? `endpoint ${op.endpoint}` : "",
        op.persistentKeepalive !== undefined ? `keepalive ${keepaliveOn(op.persistentKeepalive) ?? "off"}` : "",
        op.allowedIps !== undefined ? `AllowedIPs ${op.allowedIps.join(", ") || "(none)"}` : "",
      ].filter(Boolean);
      return `peer ${op.publicKey} needs ${fields.join(", ")}`;
    }
  }
}
