import { createHash } from "node:crypto";
import { DEFAULT_KEY_DIR, type Fabric, type InternalNode, type Peer } from "../model";
import { keyId } from "./keys";
import { pairKeyFile } from "./paths";
import type { Report } from "./report";

/**
 * Pair keys: a pre-shared key per peering of two internal interfaces, made on one of its nodes
 * (`wg genpsk`), carried in memory on stdin to the other, kept by both in their key folders. A
 * fabric opts in with `pairKeys`, a peer entry with `pairKey` (over the fabric's); a user's own
 * `presharedKey` wins for its peering. A peering has one when both of its entries ask for one:
 * the entries of a peering must agree, and one that asks explicitly needs its counterpart.
 */

/** One end of a pair key: the interface that holds it, and its file there. */
export interface PairKeyEnd {
  readonly node: string;
  readonly iface: string;
  readonly keyDir: string;
  /** `fabric/node/iface`, as the interface's own files name their owner. */
  readonly owner: string;
  /** {@link pairKeyFile} in `keyDir`. */
  readonly file: string;
}

/** A pair key of one peering. */
export interface PairKeyView {
  /** `node/iface~node/iface`, the two ends in name order: the pair's name in state and drift. */
  readonly id: string;
  /** The two ends; the first makes the key. */
  readonly ends: readonly [PairKeyEnd, PairKeyEnd];
  /** A value whose change makes a new key for the pair. */
  readonly rotation?: string;
}

/** The name of the pair of two interfaces, whichever end asks. */
export function pairId(a: string, b: string): string {
  return a < b ? `${a}~${b}` : `${b}~${a}`;
}

/**
 * What state compares a pair key by: the first 16 hex digits of sha256("PAIR\nDIGEST"), where
 * DIGEST is the key's sha256 in hex, as the node reports it (pair-keys.sh): it tells keys apart
 * and reveals nothing of them, and the pair's name makes each pair's differ.
 */
export function pairKeyFingerprint(pair: string, keyDigest: string): string {
  return createHash("sha256").update(`${pair}\n${keyDigest}`).digest("hex").slice(0, 16);
}

/**
 * The start of the drift line of a pair that refresh or up could not check (a node not
 * reached): the pair's state says nothing about whether its ends agree.
 */
export function pairNotCheckedPrefix(pair: string): string {
  return `pair ${pair}: not checked: `;
}

interface Entry {
  readonly node: string;
  readonly index: number;
  readonly peer: Peer & { type: "internal" };
  /** The pair key it asks for: its own `pairKey`, else the fabric's. */
  readonly wanted: boolean;
  readonly rotation?: string;
}

/**
 * The fabric's pair keys, and what is wrong with how they are asked for: both entries of a
 * peering must agree on having one and on its rotation; one asked for explicitly needs the
 * peering's other entry and no `presharedKey`; an external peer cannot have one.
 */
export function pairKeyViews(fabric: Fabric, report: Report = () => undefined): PairKeyView[] {
  const entries = new Map<string, Entry>();
  for (const [node, spec] of Object.entries(fabric.nodes)) {
    if (spec.role !== "internal") continue;
    spec.peers.forEach((peer, index) => {
      const path = ["nodes", node, "peers", index, "pairKey"] as const;
      if (peer.type === "external") {
        if (peer.pairKey) report(path, `peer ${peer.node} is external: a pair key is made by two nodes we manage; give the peering a presharedKey (a Pulumi secret) instead`);
        return;
      }
      const wanted = peer.presharedKey === undefined && (peer.pairKey ?? fabric.pairKeys ?? false);
      if (peer.pairKey && peer.presharedKey !== undefined) report(path, "is set beside presharedKey: the peering has a pre-shared key of its own already");
      entries.set(`${keyId(node, peer.iface)}>${keyId(peer.node, peer.nodeIface)}`, { node, index, peer, wanted, rotation: peer.pairKeyRotation ?? fabric.pairKeyRotation });
    });
  }
  const pairs = new Map<string, PairKeyView>();
  for (const [name, entry] of entries) {
    const [local, remote] = name.split(">") as [string, string];
    const other = entries.get(`${remote}>${local}`);
    const path = ["nodes", entry.node, "peers", entry.index];
    if (!other) {
      if (entry.peer.pairKey) report([...path, "pairKey"], `${remote} has no peer entry for ${local}: a pair key needs the peering declared on both nodes`);
      continue;
    }
    if (entry.wanted !== other.wanted) {
      // named once, at the entry that asks
      if (entry.wanted) report([...path, "pairKey"], `${remote}'s entry for ${local} has no pair key (${other.peer.presharedKey !== undefined ? "it has a presharedKey" : "pairKey: false"}); both ends must agree`);
      continue;
    }
    // the rest once per peering, from its end first in name order
    if (!entry.wanted || local > remote) continue;
    if (entry.rotation !== other.rotation) {
      report([...path, "pairKeyRotation"], `is ${JSON.stringify(entry.rotation ?? null)} here and ${JSON.stringify(other.rotation ?? null)} in ${remote}'s entry for ${local}; both ends must agree`);
      continue;
    }
    const id = pairId(local, remote);
    const end = (at: Entry): PairKeyEnd => {
      const spec = fabric.nodes[at.node] as InternalNode;
      return {
        node: at.node,
        iface: at.peer.iface,
        keyDir: spec.keyDir ?? fabric.keyDir ?? DEFAULT_KEY_DIR,
        owner: `${fabric.name}/${keyId(at.node, at.peer.iface)}`,
        file: pairKeyFile(at.peer.iface, at.peer.node, at.peer.nodeIface),
      };
    };
    const ends = id.startsWith(`${local}~`) ? ([end(entry), end(other)] as const) : ([end(other), end(entry)] as const);
    pairs.set(id, { id, ends, ...(entry.rotation !== undefined ? { rotation: entry.rotation } : {}) });
  }
  return [...pairs.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}
