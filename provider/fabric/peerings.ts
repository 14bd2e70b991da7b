import type { Interface, InternalNode, Peer } from "../model";
import { keyId, peerLabel } from "./keys";
import type { Report } from "./report";

/** Peer keys are `remote × INDEX_SPAN + index`: distinct while a node has fewer peers than this. */
const INDEX_SPAN = 2 ** 21;

/** The remote interface number of a peer key. */
const remoteOf = (key: number): number => Math.floor(key / INDEX_SPAN);

/** The index in its node's peers of a peer key. */
const indexOf = (key: number): number => key % INDEX_SPAN;

/** An internal interface by its number. */
export interface NumberedInterface {
  readonly node: string;
  readonly nodeSpec: InternalNode;
  readonly name: string;
  readonly iface: Interface;
}

/**
 * Every internal interface numbered, and each node's peers as numbers: a 1000-node mesh has a
 * million peerings, which are checked as sorted numbers rather than strings.
 */
export class PeeringTable {
  /** Interface numbers by node, then interface. */
  private readonly numbers = new Map<string, Map<string, number>>();
  /** Interfaces by number. */
  readonly interfaces: NumberedInterface[] = [];
  /** Per node: each peer's own interface number, or -1 when the node has no such interface. */
  readonly locals = new Map<string, Int32Array>();
  /** Per node: each peer's remote interface number, or -1 (external, or not resolving). */
  readonly remotes = new Map<string, Int32Array>();
  /** Per interface number: its internal peers as `remote × INDEX_SPAN + index in the node's peers`, sorted. */
  readonly peersOf: Float64Array[];

  constructor(readonly internal: readonly (readonly [string, InternalNode])[]) {
    for (const [node, nodeSpec] of internal) {
      const numbers = new Map<string, number>();
      for (const [name, iface] of Object.entries(nodeSpec.interfaces)) numbers.set(name, this.interfaces.push({ node, nodeSpec, name, iface }) - 1);
      this.numbers.set(node, numbers);
    }
    const counts = new Int32Array(this.interfaces.length);
    for (const [name, node] of internal) {
      const numbers = this.numbers.get(name) as Map<string, number>;
      const locals = new Int32Array(node.peers.length);
      const remotes = new Int32Array(node.peers.length);
      // indexed loops here and below: a mesh has a million peers, and small ones run cold
      for (let index = 0; index < node.peers.length; index++) {
        const peer = node.peers[index] as Peer;
        const remote = (peer.type === "internal" ? this.number(peer.node, peer.nodeIface) : undefined) ?? -1;
        const local = numbers.get(peer.iface) ?? -1;
        locals[index] = local;
        remotes[index] = remote;
        if (local !== -1 && remote !== -1) counts[local]++;
      }
      this.locals.set(name, locals);
      this.remotes.set(name, remotes);
    }
    this.peersOf = Array.from(counts, (count) => new Float64Array(count));
    const filled = new Int32Array(this.interfaces.length);
    for (const [name, node] of internal) {
      const locals = this.locals.get(name) as Int32Array;
      const remotes = this.remotes.get(name) as Int32Array;
      for (let index = 0; index < node.peers.length; index++) {
        const local = locals[index] as number;
        const remote = remotes[index] as number;
        if (local !== -1 && remote !== -1) (this.peersOf[local] as Float64Array)[filled[local]++] = remote * INDEX_SPAN + index;
      }
    }
    for (const keys of this.peersOf) keys.sort();
  }

  /** The number of a node's interface, if both exist and the node is internal. */
  number(node: string, iface: string): number | undefined {
    return this.numbers.get(node)?.get(iface);
  }

  /**
   * Per node, a flag per peer whose remote interface does not list the peer's own interface
   * back. Walks every interface's sorted list once, with a cursor per interface into the others'.
   */
  oneSided(): Map<string, Uint8Array> {
    const flags = new Map(this.internal.map(([name, node]) => [name, new Uint8Array(node.peers.length)]));
    const cursors = new Int32Array(this.peersOf.length);
    for (let local = 0; local < this.peersOf.length; local++) {
      const keys = this.peersOf[local] as Float64Array;
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k] as number;
        const remote = remoteOf(key);
        // the remote's list, sorted, is read up to this interface: interfaces are taken in order
        const back = this.peersOf[remote] as Float64Array;
        let at = cursors[remote] as number;
        while (at < back.length && remoteOf(back[at] as number) < local) at++;
        cursors[remote] = at;
        if (at < back.length && remoteOf(back[at] as number) === local) continue;
        const owner = this.interfaces[local] as NumberedInterface;
        (flags.get(owner.node) as Uint8Array)[indexOf(key)] = 1;
      }
    }
    return flags;
  }
}

/** A peer listed twice on one interface: wg keeps one of them. Located by node and peer index. */
export function checkDuplicatePeers(table: PeeringTable, report: Report): void {
  for (const [name, node] of table.internal) {
    const duplicates: [number, number][] = [];
    // internal peers that resolve: neighbours in their interface's sorted list
    for (const iface of Object.keys(node.interfaces)) {
      const keys = table.peersOf[table.number(name, iface) as number] as Float64Array;
      let runStart = 0;
      for (let i = 1; i < keys.length; i++) {
        if (remoteOf(keys[i] as number) !== remoteOf(keys[runStart] as number)) runStart = i;
        else duplicates.push([indexOf(keys[i] as number), indexOf(keys[runStart] as number)]);
      }
    }
    // the others (external, or not resolving) by name
    const locals = table.locals.get(name) as Int32Array;
    const remotes = table.remotes.get(name) as Int32Array;
    const first = new Map<string, number>();
    node.peers.forEach((peer, index) => {
      if (locals[index] !== -1 && remotes[index] !== -1) return;
      const key = `${peer.iface}|${peerLabel(peer)}`;
      const earlier = first.get(key);
      if (earlier === undefined) first.set(key, index);
      else duplicates.push([index, earlier]);
    });
    for (const [index, earlier] of duplicates.sort((a, b) => a[0] - b[0])) {
      const peer = node.peers[index] as Peer;
      report(["nodes", name, "peers", index], `${peerLabel(peer)} is already a peer of ${peer.iface} (peers[${earlier}]); list each peer once per interface (Proxmox VE renders two [Peer] sections with one key, which wg refuses)`);
    }
  }
}

/** An internal peering listed on one side only cannot bring the tunnel up: warn. */
export function checkPeeringsAreMutual(table: PeeringTable, report: Report): void {
  const oneSided = table.oneSided();
  for (const [name, node] of table.internal) {
    const flags = oneSided.get(name) as Uint8Array;
    for (let index = 0; index < node.peers.length; index++) {
      const peer = node.peers[index] as Peer;
      if (flags[index] === 0 || peer.type !== "internal" || peer.node === name) continue;
      report(
        ["nodes", name, "peers", index],
        `${keyId(peer.node, peer.nodeIface)} has no peer back to ${keyId(name, peer.iface)}: the tunnel cannot come up`,
        "warning",
        `add to ${peer.node}: { type: "internal", node: "${name}", nodeIface: "${peer.iface}", iface: "${peer.nodeIface}" }`,
      );
    }
  }
}
