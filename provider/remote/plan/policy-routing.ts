import { Cidr } from "../../model";
import type { DeclaredInterface } from "./declared";

/**
 * A full tunnel (a peer's AllowedIPs hold 0.0.0.0/0 or ::/0) routes the way `wg-quick up` sets
 * it up at boot (wg-quick(8), add_default): WireGuard marks its own packets with a firewall mark
 * equal to a routing table of its own (the first free one from 51820), that table routes the
 * default route into the interface, and two rules per family send every unmarked packet there
 * (`not fwmark T table T`) after the main table, its default route left out (`table main
 * suppress_prefixlength 0`): more specific routes, the node's own LAN and SSH path among them,
 * stay outside the tunnel. The planner installs exactly that on a running interface, and takes
 * it away when the default route goes, so the live state is what the boot unit would make.
 */

/** The first routing table wg-quick tries for a full tunnel (and the firewall mark it gives the interface). */
export const FULL_TUNNEL_FIRST_TABLE = 51820;

/** An IP family. */
export type Family = 4 | 6;

/** One of the two rules of a full tunnel, in one family. */
export type PolicyRule = { readonly family: Family; readonly kind: "fwmark"; readonly table: number } | { readonly family: Family; readonly kind: "suppress" };

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
}

/** A policy routing step. */
export type PolicyOp =
  | { readonly op: "fwmark"; readonly mark: number }
  | { readonly op: "rule-add" | "rule-del"; readonly rule: PolicyRule }
  | { readonly op: "table-route-replace" | "table-route-del"; readonly table: number; readonly cidr: string };

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
    } else {
      // as wg-quick's down: its rules out, every copy (the shared suppress rule too), then its route
      for (const rule of rules) for (const have of live.rules) if (sameRule(have, rule)) ops.push({ op: "rule-del", rule });
      if (routed) ops.push({ op: "table-route-del", table, cidr: route });
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
