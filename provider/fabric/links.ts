import { problemAt, type Problem } from "../model";

/** One end of a link: `node/iface` of an internal node, or the name of an external node. */
export type LinkEnd = string;

/** A node as links see it, before parsing: its role and, when internal, its interfaces and peers. */
interface LinkableNode {
  readonly role?: unknown;
  readonly interfaces?: Readonly<Record<string, unknown>>;
  readonly peers?: readonly unknown[];
}

/** The peer entry each internal end of a link gets, pointing at the other end. */
interface LinkPeer {
  readonly type: "internal" | "external";
  readonly node: string;
  readonly nodeIface?: string;
  readonly iface: string;
}

/**
 * Expands `links` (pairs of ends) into peer entries on both sides: an internal end gets a peer
 * to the other end; an external end gets nothing (it is not ours to configure). The peers are
 * appended after the nodes' own. Ends that name no node or interface are problems, located
 * as `links[i]`.
 */
export function expandLinks<N extends LinkableNode>(
  nodes: Readonly<Record<string, N>>,
  links: readonly (readonly [LinkEnd, LinkEnd])[],
): { nodes: Record<string, N>; problems: Problem[] } {
  const problems: Problem[] = [];
  const added = new Map<string, LinkPeer[]>();
  links.forEach((link, index) => {
    const ends = link.map((end) => endOf(nodes, end));
    const bad = ends.flatMap((end) => (typeof end === "string" ? [end] : []));
    for (const message of bad) problems.push(problemAt("error", { path: ["links", index] }, message));
    if (bad.length > 0) return;
    const [a, b] = ends as [End, End];
    if (!a.iface && !b.iface) problems.push(problemAt("error", { path: ["links", index] }, "links two external nodes; at least one end must be node/iface of an internal node"));
    if (a.node === b.node) problems.push(problemAt("error", { path: ["links", index] }, `links node ${a.node} to itself`));
    for (const [self, other] of [[a, b], [b, a]] as const) {
      if (!self.iface) continue;
      const peer: LinkPeer = other.iface
        ? { type: "internal", node: other.node, nodeIface: other.iface, iface: self.iface }
        : { type: "external", node: other.node, iface: self.iface };
      added.set(self.node, [...(added.get(self.node) ?? []), peer]);
    }
  });
  const expanded: Record<string, N> = { ...nodes };
  for (const [name, peers] of added) {
    const node = nodes[name] as N;
    expanded[name] = { ...node, peers: [...(node.peers ?? []), ...peers] };
  }
  return { nodes: expanded, problems };
}

interface End {
  readonly node: string;
  /** Set for an internal end. */
  readonly iface?: string;
}

function endOf(nodes: Readonly<Record<string, LinkableNode>>, text: LinkEnd): End | string {
  const [node = "", iface, ...rest] = text.split("/");
  const target = nodes[node];
  if (rest.length > 0 || node === "") return `"${text}" is not node/iface or an external node's name`;
  if (!target) return `"${text}": node ${node} is not defined in the fabric`;
  if (target.role === "external") {
    return iface === undefined ? { node } : `"${text}": ${node} is an external node; name it without an interface`;
  }
  if (iface === undefined) return `"${text}": ${node} is an internal node; name its interface (${node}/wg0)`;
  if (!target.interfaces || !(iface in target.interfaces)) return `"${text}": node ${node} has no interface ${iface}`;
  return { node, iface };
}
