/**
 * wg-quick's nftables table of a full tunnel read back from `nft -j list table` (libnftables'
 * JSON, nft(8) "JSON"): its mark, the addresses it guards and whether it is whole as wg-quick's
 * add_default loads it.
 */
import type { Family, FullTunnelFirewall } from "./plan";

type NftKey = { meta?: { key?: string }; ct?: { key?: string }; payload?: { field?: string } };
type NftExpr = { match?: { op?: string; left?: NftKey; right?: unknown }; mangle?: { key?: NftKey; value?: NftKey }; drop?: null };
type NftObject = { chain?: { name?: string; type?: string; hook?: string; prio?: number }; rule?: { chain?: string; expr?: NftExpr[] } };

/** The chains wg-quick makes, with their hook and priority. */
const CHAINS: Record<string, string> = { preraw: "prerouting -300", premangle: "prerouting -150", postmangle: "postrouting -150" };

const matches = (expr: NftExpr, key: "meta" | "payload", name: string): boolean =>
  expr.match !== undefined && (key === "meta" ? expr.match.left?.meta?.key === name : expr.match.left?.payload?.field === name);
const mangles = (expr: NftExpr, into: "meta" | "ct", from: "meta" | "ct"): boolean =>
  expr.mangle?.key?.[into]?.key === "mark" && expr.mangle.value?.[from]?.key === "mark";
const udp = (exprs: NftExpr[]): boolean => exprs.some((expr) => matches(expr, "meta", "l4proto") && expr.match?.right === "udp");

/** The table of `family` as `text` (one `nft -j` document) holds it; undefined when it cannot be read. */
export function parseFirewall(text: string, family: Family): FullTunnelFirewall | undefined {
  let objects: NftObject[];
  try {
    objects = (JSON.parse(text) as { nftables?: NftObject[] }).nftables ?? [];
  } catch {
    return undefined;
  }
  const chains = objects.flatMap((object) => (object.chain ? [object.chain] : []));
  const rules = objects.flatMap((object) => (object.rule ? [object.rule] : []));
  const chainsWhole =
    chains.length === Object.keys(CHAINS).length && chains.every((chain) => chain.type === "filter" && CHAINS[chain.name ?? ""] === `${chain.hook} ${chain.prio}`);
  const guarded: string[] = [];
  let mark: number | undefined;
  let restores = false;
  let foreign = false;
  for (const rule of rules) {
    const exprs = rule.expr ?? [];
    const daddr = exprs.find((expr) => matches(expr, "payload", "daddr"))?.match?.right;
    if (rule.chain === "preraw" && typeof daddr === "string" && exprs.some((expr) => "drop" in expr)) guarded.push(daddr);
    else if (rule.chain === "postmangle" && udp(exprs) && exprs.some((expr) => mangles(expr, "ct", "meta")) && mark === undefined) {
      const right = exprs.find((expr) => matches(expr, "meta", "mark"))?.match?.right;
      mark = typeof right === "number" ? right : undefined;
    } else if (rule.chain === "premangle" && udp(exprs) && exprs.some((expr) => mangles(expr, "meta", "ct")) && !restores) restores = true;
    else foreign = true;
  }
  return { family, ...(mark === undefined ? {} : { mark }), guarded, complete: chainsWhole && restores && !foreign };
}
