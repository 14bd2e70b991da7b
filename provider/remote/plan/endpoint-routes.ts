import { Cidr, parseEndpoint } from "../../model";
import { declaredRoutes, type DeclaredInterface } from "./declared";

/** A route of the node's main table through another device than the interface: its prefix (canonical), device, and the line `ip route` printed. */
export interface NodeRoute {
  readonly cidr: string;
  readonly dev?: string;
  readonly text: string;
}

/** The address WireGuard sends a declared endpoint's packets to: the literal, or the first the node resolves the name to (wg takes the first), with the name. */
function endpointAddress(endpoint: string, resolved: Readonly<Record<string, readonly string[]>>): { address?: string; name?: string } {
  const parsed = parseEndpoint(endpoint);
  if (typeof parsed === "string") return {};
  return parsed.kind === "hostname" ? { address: resolved[parsed.host]?.[0], name: parsed.host } : { address: parsed.host };
}

/** The longest of `prefixes` that holds `address`, or undefined. */
function longestMatch<T extends { readonly cidr: Cidr }>(prefixes: readonly T[], address: Cidr): T | undefined {
  let best: T | undefined;
  for (const prefix of prefixes) if (prefix.cidr.overlaps(address) && (!best || prefix.cidr.prefix > best.cidr.prefix)) best = prefix;
  return best;
}

/**
 * Endpoints the planned routes would take into the interface (WireGuard's own packets to them
 * would enter the tunnel, which then dies), one message each. The node decides by longest
 * prefix: its own main-table routes through other devices (`nodeRoutes`) against the routes the
 * interface will have (its subnets and the AllowedIPs it routes); an equal prefix counts as ours,
 * since `ip route replace` would take it over. A full tunnel's default route lives in a table of
 * its own, behind wg-quick's policy rules that keep WireGuard's packets out: it never captures.
 */
export function capturedEndpoints(
  declared: DeclaredInterface,
  nodeRoutes: readonly NodeRoute[],
  resolved: Readonly<Record<string, readonly string[]>>,
): string[] {
  const planned = [...declaredRoutes(declared), ...declared.addresses.map((address) => Cidr.of(address).network().toString())]
    .map((text) => ({ cidr: Cidr.of(text) }))
    .filter((route) => route.cidr.prefix > 0);
  if (planned.length === 0) return [];
  const own = nodeRoutes.map((route) => ({ ...route, cidr: Cidr.of(route.cidr) }));
  const problems: string[] = [];
  for (const peer of declared.peers) {
    const { address: text, name } = peer.endpoint === undefined ? {} : endpointAddress(peer.endpoint, resolved);
    const address = text === undefined ? undefined : Cidr.parse(`${text}/${text.includes(":") ? 128 : 32}`);
    if (address === undefined || typeof address === "string") continue;
    const ours = longestMatch(planned, address);
    if (!ours) continue;
    const theirs = longestMatch(own, address);
    if (theirs && theirs.cidr.prefix > ours.cidr.prefix) continue;
    const prefix = ours.cidr.toString();
    const owner = declared.peers.find((p) => p.allowedIps.some((ip) => Cidr.of(ip).network().toString() === prefix));
    const by = owner ? `${prefix} (an AllowedIP of peer ${owner.publicKey})` : `${prefix} (the interface's own subnet)`;
    problems.push(
      `endpoint ${text}${name ? ` (${name})` : ""} of peer ${peer.publicKey} would be routed into the interface by ${by}, ` +
        `${theirs ? `not by the node's ${theirs.text}` : "the node having no route of its own to it"}: WireGuard's own packets to it would enter the tunnel; ` +
        "give the node a more specific route to it outside the tunnel, or narrow the prefix",
    );
  }
  return problems;
}
