import { Cidr } from "../../model";
import type { DeclaredInterface } from "./declared";

/**
 * A full tunnel (a peer's AllowedIPs hold 0.0.0.0/0 or ::/0) routes the way `wg-quick up` sets
 * it up at boot (wg-quick(8), add_default): WireGuard marks its own packets with a firewall mark
 * equal to a routing table of its own (the first free one from 51820), that table routes the
 * default route into the interface, and two rules per family send every unmarked packet there
 * (`not fwmark T table T`) after the main table, its default route left out (`table main
 * suppress_prefixlength 0`): more specific routes, the node's own LAN and SSH path among them,
 * stay outside the tunnel. wg-quick then sets `net.ipv4.conf.all.src_valid_mark=1` (IPv4 only,
 * never unset) and loads an nftables table `wg-quick-<iface>` per family: it copies the mark of
 * WireGuard's UDP packets into their connection and back onto the replies, and drops packets
 * for the interface's addresses that come in elsewhere. The planner installs exactly that on a
 * running interface, and takes it away when the default route goes, so the live state is what
 * the boot unit would make. A node without `nft` gets wg-quick's iptables fallback at boot only.
 */

/** The first routing table wg-quick tries for a full tunnel (and the firewall mark it gives the interface). */
export const FULL_TUNNEL_FIRST_TABLE = 51820;

/** An IP family. */
export type Family = 4 | 6;

/** One of the two rules of a full tunnel, in one family. */
export type PolicyRule = { readonly family: Family; readonly kind: "fwmark"; readonly table: number } | { readonly family: Family; readonly kind: "suppress" };

/** wg-quick's nftables table of a full tunnel in one family, as the node holds it or as it should be. */
export interface FullTunnelFirewall {
  readonly family: Family;
  /** The mark its postmangle rule copies into the connection; undefined when that rule is missing. */
  readonly mark?: number;
  /** The interface's addresses its preraw chain guards, in the order of its rules. */
  readonly guarded: readonly string[];
  /** Whether its three chains and its premangle rule are there as wg-quick makes them. */
  readonly complete: boolean;
}

/** What a node reports for the policy routing of one interface. */
export interface LivePolicy {
  /** The interface's firewall mark; undefined when off. */
  readonly fwmark?: number;
  /** The two kinds of rule, wherever they are (the suppress rule is shared by every full tunnel). */
  readonly rules: readonly PolicyRule[];
  /** Routes into the interface in tables other than main and local, canonical. */
  readonly tableRoutes: readonly { readonly table: number; readonly cidr: string }[];
  /** Routing tables from {@link FULL_TUNNEL_FIRST_TABLE} up that hold any route. */
  readonly busyTables: readonly number[];
  /** Routes of the main table that match the address our SSH session comes from (`ip route show match`). */
  readonly sshMainRoutes?: readonly string[];
  /** Its `wg-quick-<iface>` tables; undefined where the node has no `nft`. */
  readonly firewalls?: readonly FullTunnelFirewall[];
  /** `net.ipv4.conf.all.src_valid_mark`; undefined when not read. */
  readonly srcValidMark?: boolean;
}

/** A policy routing step. */
export type PolicyOp =
  | { readonly op: "fwmark"; readonly mark: number }
  | { readonly op: "rule-add" | "rule-del"; readonly rule: PolicyRule }
  | { readonly op: "table-route-replace" | "table-route-del"; readonly table: number; readonly cidr: string }
  /** `replace`: a table of that name is there and is deleted in the same nftables transaction. */
  | { readonly op: "firewall-set"; readonly firewall: Required<FullTunnelFirewall>; readonly replace: boolean }
  | { readonly op: "firewall-del"; readonly family: Family }
  | { readonly op: "src-valid-mark" };

const DEFAULT_ROUTE: Record<Family, string> = { 4: "0.0.0.0/0", 6: "::/0" };

/** The families whose default route the interface's peers hold, when it makes its routes from AllowedIPs (not `Table = off`). */
export function fullTunnelFamilies(declared: DeclaredInterface): Family[] {
  if (declared.routes) return [];
  const allowed = new Set(declared.peers.flatMap((peer) => peer.allowedIps));
  return ([4, 6] as const).filter((family) => allowed.has(DEFAULT_ROUTE[family]));
}

/** The table a full tunnel uses: the interface's mark when it has one, else the first free one, as wg-quick picks it. */
function tableOf(live: LivePolicy): number {
  if (live.fwmark !== undefined) return live.fwmark;
  let table = FULL_TUNNEL_FIRST_TABLE;
  while (live.busyTables.includes(table)) table++;
  return table;
}

/** The interface's addresses of one family, without their prefix, as wg-quick reads them from `ip -o addr show`. */
function addressesOf(declared: DeclaredInterface, family: Family): string[] {
  return declared.addresses.map((address) => Cidr.of(address)).filter((cidr) => cidr.family === family).map((cidr) => cidr.address.toString());
}

/** Same chains, mark and guarded addresses (in any order: the kernel lists addresses as they were added). */
function sameFirewall(a: FullTunnelFirewall, b: FullTunnelFirewall): boolean {
  const guarded = (firewall: FullTunnelFirewall): string => [...firewall.guarded].sort().join(" ");
  return a.complete === b.complete && a.mark === b.mark && guarded(a) === guarded(b);
}

/** wg-quick's firewall steps of one family (nothing where the node has no `nft`). */
function planFirewall(declared: DeclaredInterface, live: LivePolicy, family: Family, table: number, wanted: boolean): PolicyOp[] {
  if (live.firewalls === undefined) return [];
  const have = live.firewalls.find((firewall) => firewall.family === family);
  if (!wanted) return have ? [{ op: "firewall-del", family }] : [];
  const firewall = { family, mark: table, guarded: addressesOf(declared, family), complete: true };
  return have && sameFirewall(have, firewall) ? [] : [{ op: "firewall-set", firewall, replace: have !== undefined }];
}

const sameRule = (a: PolicyRule, b: PolicyRule): boolean => a.family === b.family && a.kind === b.kind && (a.kind === "suppress" || (b.kind === "fwmark" && a.table === b.table));

/**
 * The steps that make the interface's policy routing what wg-quick would set up for
 * `declared`: mark, rules and table route in, or out when the default route goes.
 */
export function planPolicyRouting(declared: DeclaredInterface, live: LivePolicy): PolicyOp[] {
  const families = fullTunnelFamilies(declared);
  if (families.length === 0 && live.fwmark === undefined) return [];
  const table = tableOf(live);
  const ops: PolicyOp[] = [];
  if (families.length > 0 && live.fwmark === undefined) ops.push({ op: "fwmark", mark: table });
  for (const family of [4, 6] as const) {
    const wanted = families.includes(family);
    const rules: PolicyRule[] = [{ family, kind: "fwmark", table }, { family, kind: "suppress" }];
    const route = DEFAULT_ROUTE[family];
    const routed = live.tableRoutes.some((r) => r.table === table && r.cidr === route);
    if (wanted) {
      if (!routed) ops.push({ op: "table-route-replace", table, cidr: route });
      for (const rule of rules) if (!live.rules.some((have) => sameRule(have, rule))) ops.push({ op: "rule-add", rule });
      if (family === 4 && live.srcValidMark === false) ops.push({ op: "src-valid-mark" });
      ops.push(...planFirewall(declared, live, family, table, true));
    } else {
      // as wg-quick's down: its rules out, every copy (the shared suppress rule too), then its route
      for (const rule of rules) for (const have of live.rules) if (sameRule(have, rule)) ops.push({ op: "rule-del", rule });
      if (routed) ops.push({ op: "table-route-del", table, cidr: route });
      ops.push(...planFirewall(declared, live, family, table, false));
    }
  }
  if (families.length === 0) ops.push({ op: "fwmark", mark: 0 });
  return ops;
}

/**
 * A full tunnel takes the node's SSH session in when the main table reaches the session's
 * address by its default route only (the suppress rule leaves that out): refused, as any route
 * that would cut the node off.
 */
export function fullTunnelCutOff(declared: DeclaredInterface, live: LivePolicy, sshClient: string | undefined): string[] {
  if (sshClient === undefined) return [];
  const family: Family = sshClient.includes(":") ? 6 : 4;
  if (!fullTunnelFamilies(declared).includes(family)) return [];
  const specific = (live.sshMainRoutes ?? []).some((route) => route !== "default" && Cidr.of(route.includes("/") ? route : `${route}/${family === 4 ? 32 : 128}`).prefix > 0);
  return specific
    ? []
    : [`${DEFAULT_ROUTE[family]} would take ${sshClient}, where this SSH session comes from, into the tunnel (the main table reaches it by its default route only) and cut the node off`];
}

/** The name wg-quick gives the nftables table of `iface`'s full tunnel. */
export const firewallTable = (iface: string): string => `wg-quick-${iface}`;

const NFT_FAMILY: Record<Family, string> = { 4: "ip", 6: "ip6" };

/**
 * A firewall step as one `nft -f` transaction: the table, chains and rules wg-quick's
 * add_default loads (`replace` deletes the old table first, in the same transaction).
 */
export function firewallScript(iface: string, op: Extract<PolicyOp, { op: "firewall-set" | "firewall-del" }>): string {
  const family = op.op === "firewall-set" ? op.firewall.family : op.family;
  const table = `${NFT_FAMILY[family]} ${firewallTable(iface)}`;
  if (op.op === "firewall-del") return `delete table ${table}`;
  const pf = NFT_FAMILY[family];
  return [
    ...(op.replace ? [`delete table ${table}`] : []),
    `add table ${table}`,
    `add chain ${table} preraw { type filter hook prerouting priority -300; }`,
    `add chain ${table} premangle { type filter hook prerouting priority -150; }`,
    `add chain ${table} postmangle { type filter hook postrouting priority -150; }`,
    ...op.firewall.guarded.map((address) => `add rule ${table} preraw iifname != "${iface}" ${pf} daddr ${address} fib saddr type != local drop`),
    `add rule ${table} postmangle meta l4proto udp mark ${op.firewall.mark} ct mark set mark`,
    `add rule ${table} premangle meta l4proto udp meta mark set ct mark`,
  ].join("; ");
}
