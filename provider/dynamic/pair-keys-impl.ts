import type * as pulumi from "@pulumi/pulumi";
import { pairKeyFile, pairKeyFingerprint } from "../fabric";
import { changedKeys, checkFailures, pairKeysInputsSchema, UNKNOWN, type PairKeysInputs, type PairKeysOutputs } from "./inputs";
import { presharedKeyDigest, type PairKeyFound, type RemoteNode } from "../remote";
import { onNode, trustOf } from "./session";

/**
 * A fabric's pair keys (see fabric/pair-keys.ts). The nodes are the truth: every run reads the
 * fingerprints both ends hold, and a pair whose ends differ, lack the key or rotate gets a new
 * one, made on its first end and written to its second. Keys pass through this process only,
 * in memory, from one node's stdout to the other's stdin; state holds fingerprints.
 */

type Interfaces = PairKeysInputs["interfaces"];
/** What each end of a pair holds: its fingerprint and when it was made, or undefined where its file is missing. */
type Surveyed = ReadonlyMap<string, readonly [PairKeyFound | undefined, PairKeyFound | undefined]>;

/** The two ends of a pair, by `node/iface`, and each end's file. */
function endsOf(pair: string): [{ id: string; file: string }, { id: string; file: string }] {
  const [a, b] = pair.split("~") as [string, string];
  const file = (own: string, other: string): string => {
    const [, iface] = own.split("/") as [string, string];
    const [node, peerIface] = other.split("/") as [string, string];
    return pairKeyFile(iface, node, peerIface);
  };
  return [
    { id: a, file: file(a, b) },
    { id: b, file: file(b, a) },
  ];
}

/** Runs `work` on the node of interface `id`, over its pooled session. */
function onInterface<T>(inputs: PairKeysInputs, id: string, work: (node: RemoteNode, target: Interfaces[string]) => Promise<T>): Promise<T> {
  const target = inputs.interfaces[id];
  if (!target) throw new Error(`pair keys: no interface ${id}`);
  const node = inputs.nodes[target.node];
  if (!node) throw new Error(`pair keys: no node ${target.node}`);
  return onNode(target.node, node.connection, (remote) => work(remote, target), trustOf(node));
}

/** Per interface, its files of `pairs` with each file's pair: what one script run takes. */
function byInterface(pairs: readonly string[], which: "both" | 0 | 1): Map<string, [string, string][]> {
  const grouped = new Map<string, [string, string][]>();
  for (const pair of pairs) {
    const ends = endsOf(pair);
    for (const end of which === "both" ? ends : [ends[which]]) {
      const list = grouped.get(end.id) ?? [];
      list.push([end.file, pair]);
      grouped.set(end.id, list);
    }
  }
  return grouped;
}

/** What the ends of `pairs` hold, by pair. */
async function survey(inputs: PairKeysInputs, pairs: readonly string[]): Promise<Surveyed> {
  const found = new Map<string, PairKeyFound>();
  await Promise.all(
    [...byInterface(pairs, "both")].map(async ([id, files]) => {
      const prints = await onInterface(inputs, id, (node, target) => node.pairKeys(target, "digest", files));
      for (const [file, pair] of files) {
        const print = prints.get(file);
        if (print) found.set(`${id} ${file}`, { value: pairKeyFingerprint(pair, print.value), made: print.made });
      }
    }),
  );
  return new Map(pairs.map((pair) => [pair, endsOf(pair).map((end) => found.get(`${end.id} ${end.file}`)) as [PairKeyFound | undefined, PairKeyFound | undefined]]));
}

/** One line of drift per pair whose ends do not hold the same key. */
function driftOf(surveyed: Surveyed): string[] {
  return [...surveyed].flatMap(([pair, [a, b]]) => {
    const [first, second] = endsOf(pair);
    if (a === undefined && b === undefined) return [`pair ${pair}: its key is on neither node`];
    if (a === undefined || b === undefined) return [`pair ${pair}: its key is missing on ${(a === undefined ? first : second).id}`];
    return a.value === b.value ? [] : [`pair ${pair}: the two ends hold different keys`];
  });
}

/** What state records of the pairs: each one's fingerprint and when its key was made. */
type Recorded = Pick<PairKeysOutputs, "fingerprints" | "made">;

/**
 * Makes every pair of `news` hold one key on both ends: new ones where an end lacks it, the ends
 * differ or the pair rotates; the files of pairs `olds` had and `news` has not are removed.
 */
async function converge(olds: PairKeysOutputs | undefined, news: PairKeysInputs): Promise<Recorded> {
  const pairs = Object.keys(news.pairs).sort();
  const surveyed = await survey(news, pairs);
  const rotates = (pair: string): boolean => olds?.pairs[pair] !== undefined && (olds.pairs[pair]?.rotation ?? "") !== (news.pairs[pair]?.rotation ?? "");
  const fresh = pairs.filter((pair) => {
    const [a, b] = surveyed.get(pair) ?? [];
    return rotates(pair) || a === undefined || a.value !== b?.value;
  });
  const recorded: Recorded = { fingerprints: {}, made: {} };
  const record = (pair: string, fingerprint: string, made: number): void => {
    recorded.fingerprints[pair] = fingerprint;
    recorded.made[pair] = made;
  };
  for (const pair of pairs) {
    const first = surveyed.get(pair)?.[0];
    if (first && !fresh.includes(pair)) record(pair, first.value, first.made);
  }
  // made on each pair's first end, all of an interface's in one run; then written to the second ends
  const keys = new Map<string, PairKeyFound>();
  await Promise.all(
    [...byInterface(fresh, 0)].map(async ([id, files]) => {
      const made = await onInterface(news, id, (node, target) => node.pairKeys(target, "make", files));
      for (const [file, pair] of files) keys.set(pair, made.get(file) as PairKeyFound);
    }),
  );
  await Promise.all(
    [...byInterface(fresh, 1)].map(([id, files]) =>
      onInterface(news, id, (node, target) =>
        node.pairKeys(
          target,
          "put",
          files,
          files.map(([, pair]) => keys.get(pair)?.value as string),
        ),
      ),
    ),
  );
  for (const [pair, key] of keys) record(pair, pairKeyFingerprint(pair, presharedKeyDigest(key.value)), key.made);
  keys.clear();
  if (olds) await drop(olds, Object.keys(olds.pairs).filter((pair) => news.pairs[pair] === undefined));
  return recorded;
}

/** Removes the files of `pairs` from both their ends. */
async function drop(inputs: PairKeysInputs, pairs: readonly string[]): Promise<void> {
  await Promise.all([...byInterface(pairs, "both")].map(([id, files]) => onInterface(inputs, id, (node, target) => node.pairKeys(target, "drop", files))));
}

/** Validates inputs at preview, before anything remote. */
export async function check(_olds: PairKeysInputs, news: PairKeysInputs): Promise<pulumi.dynamic.CheckResult<PairKeysInputs>> {
  return { inputs: news, failures: checkFailures(pairKeysInputsSchema, news) };
}

/** A pair in or out, a rotation, a moved interface, a new connection, or drift refresh found: an update, never a replacement. */
export async function diff(_id: string, olds: PairKeysOutputs, news: PairKeysInputs): Promise<pulumi.dynamic.DiffResult> {
  const changes = changedKeys(olds, news, ["pairs", "interfaces", "nodes"]).length > 0 || JSON.stringify(news).includes(UNKNOWN) || (olds.drift ?? []).length > 0;
  return { changes, replaces: [] };
}

/** Makes the pair keys on the nodes. */
export async function create(inputs: PairKeysInputs): Promise<pulumi.dynamic.CreateResult<PairKeysOutputs>> {
  return { id: "pair-keys", outs: { ...inputs, ...(await converge(undefined, inputs)), drift: [] } };
}

/** Brings the nodes' pair keys to the declaration: new pairs, rotations, repairs, removals. */
export async function update(_id: string, olds: PairKeysOutputs, news: PairKeysInputs): Promise<pulumi.dynamic.UpdateResult<PairKeysOutputs>> {
  return { outs: { ...news, ...(await converge(olds, news)), drift: [] } };
}

/** Drift: each pair whose ends do not hold one key; and when each pair's key was made, as its first end says. */
export async function read(id: string, props: PairKeysOutputs): Promise<pulumi.dynamic.ReadResult<PairKeysOutputs>> {
  const surveyed = await survey(props, Object.keys(props.pairs));
  const made = Object.fromEntries([...surveyed].flatMap(([pair, [first]]) => (first ? [[pair, first.made]] : [])));
  return { id, props: { ...props, made, drift: driftOf(surveyed) } };
}

/** Removes every pair key from its nodes. */
export async function remove(_id: string, props: PairKeysOutputs): Promise<void> {
  await drop(props, Object.keys(props.pairs));
}
