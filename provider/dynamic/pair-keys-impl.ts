import type * as pulumi from "@pulumi/pulumi";
import { pairKeyFile, pairKeyFingerprint, pairNotCheckedPrefix } from "../fabric";
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
/** An end whose node could not be asked, and why. */
interface Unasked {
  readonly unasked: string;
}
/** What one end of a pair holds: its fingerprint and when it was made; undefined where its file is missing. */
export type EndFound = PairKeyFound | undefined | Unasked;
/** What each end of a pair holds, by pair. */
type Surveyed = ReadonlyMap<string, readonly [EndFound, EndFound]>;

const unasked = (end: EndFound): end is Unasked => end !== undefined && "unasked" in end;

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

/**
 * What the ends of `pairs` hold, by pair. An interface whose node cannot be asked (down, cut
 * off, refusing) marks its ends `unasked` with why: the other nodes' pairs do not wait for it.
 */
async function survey(inputs: PairKeysInputs, pairs: readonly string[]): Promise<Surveyed> {
  const found = new Map<string, EndFound>();
  await Promise.all(
    [...byInterface(pairs, "both")].map(async ([id, files]) => {
      try {
        const prints = await onInterface(inputs, id, (node, target) => node.pairKeys(target, "digest", files));
        for (const [file, pair] of files) {
          const print = prints.get(file);
          if (print) found.set(`${id} ${file}`, { value: pairKeyFingerprint(pair, print.value), made: print.made });
        }
      } catch (error) {
        for (const [file] of files) found.set(`${id} ${file}`, { unasked: (error as Error).message });
      }
    }),
  );
  return new Map(pairs.map((pair) => [pair, endsOf(pair).map((end) => found.get(`${end.id} ${end.file}`)) as [EndFound, EndFound]]));
}

/** One line of drift per pair whose ends do not hold the same key, or that could not be asked. */
function driftOf(surveyed: Surveyed): string[] {
  return [...surveyed].flatMap(([pair, ends]) => {
    const [first, second] = endsOf(pair);
    const [a, b] = ends;
    if (unasked(a) || unasked(b)) return [notChecked(pair, ends)];
    if (a === undefined && b === undefined) return [`pair ${pair}: its key is on neither node`];
    if (a === undefined || b === undefined) return [`pair ${pair}: its key is missing on ${(a === undefined ? first : second).id}`];
    return a.value === b.value ? [] : [`pair ${pair}: the two ends hold different keys`];
  });
}

/** The drift line of a pair an end of which could not be asked: the next run asks again. */
function notChecked(pair: string, ends: readonly [EndFound, EndFound]): string {
  return `${pairNotCheckedPrefix(pair)}${notAsked(pair, ends)}`;
}

/** Which ends of a pair could not be asked, and why. */
function notAsked(pair: string, ends: readonly [EndFound, EndFound]): string {
  return endsOf(pair)
    .flatMap((end, i) => {
      const found = ends[i];
      return unasked(found) ? [`${end.id} could not be asked (${found.unasked})`] : [];
    })
    .join("; ");
}

/** What an update does with one pair. */
export type PairWork =
  /** Its ends hold this key: nothing to do (`checked: false` where an end could not be asked, and state's fingerprint stands for it). */
  | { readonly kind: "keep"; readonly found: PairKeyFound; readonly checked: boolean }
  /** A new key, made on its first end and written to its second. */
  | { readonly kind: "make" }
  /** A new key is due, but an end could not be asked: why. */
  | { readonly kind: "blocked"; readonly reason: string };

/**
 * What an update does with a pair, from what its ends hold, what state recorded of it and
 * whether it rotates: a new key where an end lacks it, the ends differ or it rotates. A node
 * that cannot be asked holds back only work on its own pairs; a pair of it whose other end
 * holds the key state recorded, and that does not rotate, is kept as it is.
 */
export function pairWork(ends: readonly [EndFound, EndFound], recorded: PairKeyFound | undefined, rotates: boolean): PairWork {
  const [a, b] = ends;
  if (!unasked(a) && !unasked(b)) return !rotates && a !== undefined && a.value === b?.value ? { kind: "keep", found: a, checked: true } : { kind: "make" };
  const asked = ends.filter((end): end is PairKeyFound | undefined => !unasked(end));
  if (!rotates && recorded && asked.every((end) => end?.value === recorded.value)) return { kind: "keep", found: recorded, checked: false };
  return { kind: "blocked", reason: rotates ? "it rotates" : !recorded ? "it has no key yet" : "an end lacks its key or holds another" };
}

/** What state records of the pairs: each one's fingerprint and when its key was made, and the pairs left unchecked. */
type Recorded = Pick<PairKeysOutputs, "fingerprints" | "made" | "drift">;

/**
 * Makes every pair of `news` hold one key on both ends (see {@link pairWork}); a pair whose new
 * key waits for a node that cannot be asked fails the update before anything changes, naming
 * it. The files of pairs `news` no longer has go with their interfaces' configs (apply.sh).
 */
async function converge(olds: PairKeysOutputs | undefined, news: PairKeysInputs): Promise<Recorded> {
  const surveyed = await survey(news, Object.keys(news.pairs).sort());
  const rotates = (pair: string): boolean => olds?.pairs[pair] !== undefined && (olds.pairs[pair]?.rotation ?? "") !== (news.pairs[pair]?.rotation ?? "");
  const recordedOf = (pair: string): PairKeyFound | undefined => {
    const value = olds?.fingerprints[pair];
    return value === undefined ? undefined : { value, made: olds?.made[pair] ?? 0 };
  };
  const plans = [...surveyed].map(([pair, ends]) => ({ pair, ends, work: pairWork(ends, recordedOf(pair), rotates(pair)) }));
  const blocked = plans.flatMap(({ pair, ends, work }) => (work.kind === "blocked" ? [`${pair} needs a new key (${work.reason}), but ${notAsked(pair, ends)}`] : []));
  if (blocked.length > 0) throw new Error(`pair keys: ${blocked.join("; ")}; nothing was changed`);
  const recorded: Recorded = { fingerprints: {}, made: {}, drift: [] };
  const record = (pair: string, fingerprint: string, made: number): void => {
    recorded.fingerprints[pair] = fingerprint;
    recorded.made[pair] = made;
  };
  for (const { pair, ends, work } of plans) {
    if (work.kind !== "keep") continue;
    record(pair, work.found.value, work.found.made);
    if (!work.checked) recorded.drift.push(notChecked(pair, ends));
  }
  const fresh = plans.filter(({ work }) => work.kind === "make").map(({ pair }) => pair);
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
  return { id: "pair-keys", outs: { ...inputs, ...(await converge(undefined, inputs)) } };
}

/** Brings the nodes' pair keys to the declaration: new pairs, rotations, repairs. */
export async function update(_id: string, olds: PairKeysOutputs, news: PairKeysInputs): Promise<pulumi.dynamic.UpdateResult<PairKeysOutputs>> {
  return { outs: { ...news, ...(await converge(olds, news)) } };
}

/** Drift: each pair whose ends do not hold one key, or could not be asked; and when each pair's key was made, as its first end says (else as state says). */
export async function read(id: string, props: PairKeysOutputs): Promise<pulumi.dynamic.ReadResult<PairKeysOutputs>> {
  const surveyed = await survey(props, Object.keys(props.pairs));
  const made = Object.fromEntries(
    [...surveyed].flatMap(([pair, [first]]) => {
      const when = first === undefined ? undefined : unasked(first) ? props.made[pair] : first.made;
      return when === undefined ? [] : [[pair, when]];
    }),
  );
  return { id, props: { ...props, made, drift: driftOf(surveyed) } };
}

/** Removes every pair key from its nodes. */
export async function remove(_id: string, props: PairKeysOutputs): Promise<void> {
  await drop(props, Object.keys(props.pairs));
}
