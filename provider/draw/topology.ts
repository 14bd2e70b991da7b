import { formatEndpoint, locate, type Fabric } from "../model";
import { keyId, peerLabel } from "../fabric/keys";
import { interfaceAddresses } from "../fabric/resolve";
import { validateFabric } from "../fabric/validate";

/** How a peering looked at the last refresh: a fresh handshake, an old one, or none at all. */
export type LinkHealth = "ok" | "stale" | "down";

/** An interface of an internal node, as drawn. */
export interface TopologyInterface {
  /** `node/iface`. */
  readonly id: string;
  /** The interface's name. */
  readonly name: string;
  /** Its addresses with prefix. */
  readonly addresses: readonly string[];
  /** Its listen port, if set. */
  readonly listenPort?: number;
}

/** A node of the picture: internal with its interfaces, or external (a peer we don't manage). */
export interface TopologyNode {
  /** The node's name. */
  readonly name: string;
  /** Managed (internal) or not (external). */
  readonly role: "internal" | "external";
  /** Its interfaces (none for an external node). */
  readonly interfaces: readonly TopologyInterface[];
  /** Where it is reached, if known. */
  readonly endpoint?: string;
  /** Validation errors located on this node. */
  readonly problems: readonly string[];
}

/** One peering, both directions merged: ends are interface ids (`node/iface`) or external node names. */
export interface TopologyLink {
  /** One end. */
  readonly a: string;
  /** The other end. */
  readonly b: string;
  /** The internal ends that list the other as a peer. */
  readonly listedBy: readonly string[];
  /** Between two internal interfaces, listed by one of them only: the tunnel cannot come up. */
  readonly oneSided: boolean;
  /** How it looked at the last refresh (a stack's drawing only). */
  readonly health?: LinkHealth;
  /** A short text for the edge (e.g. the handshake's age). */
  readonly note?: string;
}

/** A fabric as a graph. */
export interface Topology {
  /** The fabric's name. */
  readonly name: string;
  /** Its nodes. */
  readonly nodes: readonly TopologyNode[];
  /** Its peerings. */
  readonly links: readonly TopologyLink[];
}

/** A managed interface and the labels of its peers, the common ground of a fabric and a stack. */
export interface DeclaredPeering {
  readonly node: string;
  readonly iface: string;
  readonly addresses: readonly string[];
  readonly listenPort?: number;
  /** `node/iface` of internal peers, the names of external ones. */
  readonly peers: readonly string[];
}

/** Merges each interface's peer list into links; internal peerings listed by one end only are one-sided. */
export function topologyOf(
  name: string,
  interfaces: readonly DeclaredPeering[],
  externals: readonly { readonly name: string; readonly endpoint?: string }[],
  problems: ReadonlyMap<string, readonly string[]> = new Map(),
): Topology {
  const byNode = new Map<string, TopologyInterface[]>();
  for (const iface of interfaces) {
    const list = byNode.get(iface.node) ?? [];
    list.push({ id: keyId(iface.node, iface.iface), name: iface.iface, addresses: iface.addresses, listenPort: iface.listenPort });
    byNode.set(iface.node, list);
  }
  const internalIds = new Set(interfaces.map((i) => keyId(i.node, i.iface)));
  const links = new Map<string, { a: string; b: string; listedBy: Set<string> }>();
  for (const iface of interfaces) {
    const id = keyId(iface.node, iface.iface);
    for (const peer of iface.peers) {
      // an internal pair in name order, so both ends' entries meet; an external node always second
      const [a, b] = !peer.includes("/") || id < peer ? [id, peer] : [peer, id];
      const key = `${a}\n${b}`;
      const link = links.get(key) ?? { a, b, listedBy: new Set<string>() };
      link.listedBy.add(id);
      links.set(key, link);
    }
  }
  const nodes: TopologyNode[] = [
    ...[...byNode].map(([node, ifaces]) => ({ name: node, role: "internal" as const, interfaces: ifaces, problems: problems.get(node) ?? [] })),
    ...externals.map((external) => ({ name: external.name, role: "external" as const, interfaces: [], endpoint: external.endpoint, problems: problems.get(external.name) ?? [] })),
  ];
  return {
    name,
    nodes,
    links: [...links.values()].map((link) => ({
      a: link.a,
      b: link.b,
      listedBy: [...link.listedBy].sort(),
      oneSided: internalIds.has(link.a) && internalIds.has(link.b) && link.listedBy.size < 2,
    })),
  };
}

/** A parsed fabric as a graph, its validation errors on the nodes they concern. */
export function topologyOfFabric(fabric: Fabric): Topology {
  const problems = new Map<string, string[]>();
  for (const problem of validateFabric(fabric)) {
    if (problem.severity !== "error") continue;
    const [top, node, ...rest] = problem.path;
    const key = top === "nodes" ? String(node) : locate(problem.path);
    const within = top === "nodes" ? locate(rest) : "";
    const list = problems.get(key) ?? [];
    list.push(`${within}${within ? ": " : ""}${problem.message}`);
    problems.set(key, list);
  }
  const interfaces: DeclaredPeering[] = [];
  const externals: { name: string; endpoint?: string }[] = [];
  for (const [name, node] of Object.entries(fabric.nodes)) {
    if (node.role === "external") {
      externals.push({ name, endpoint: node.endpoint && formatEndpoint(node.endpoint) });
      continue;
    }
    for (const [ifaceName, iface] of Object.entries(node.interfaces)) {
      interfaces.push({
        node: name,
        iface: ifaceName,
        addresses: interfaceAddresses(iface).map((address) => address.toString()),
        listenPort: iface.listenPort,
        peers: node.peers.filter((peer) => peer.iface === ifaceName).map(peerLabel),
      });
    }
  }
  return topologyOf(fabric.name, interfaces, externals, problems);
}
