/**
 * Drives the dynamic providers as the engine does for `pulumi up --refresh`, without the engine:
 * read (refresh) every config, node address and the pair keys, create new keys, then the pair
 * keys, then create or update configs and node addresses (update only when diff says so; a
 * config whose pair keys failed waits, as the engine's dependents do), then delete what left the
 * program, configs before pair keys and keys. Model-based tests use it
 * to run many edits quickly through the same code the engine calls.
 */
import * as assert from "node:assert/strict";
import * as addressImpl from "../../provider/dynamic/address-impl";
import * as configImpl from "../../provider/dynamic/config-impl";
import type { AddressInputs, AddressOutputs, ConfigInputs, ConfigOutputs, KeyInputs, KeyOutputs, PairKeysInputs, PairKeysOutputs } from "../../provider/dynamic/inputs";
import * as keyImpl from "../../provider/dynamic/key-impl";
import * as pairKeysImpl from "../../provider/dynamic/pair-keys-impl";
import { keyId, nodeAddressViews, pairId, pairKeyViews, resolveInterfaces } from "../../provider/fabric";
import { interfaceFields, peerEntryOf, presharedKeyFingerprint } from "../../provider/dynamic/entry";
import type { Connection, Fabric, WgKey } from "../../provider/model";

/** What one converge did. */
export interface DriverRun {
  readonly created: string[];
  readonly updated: string[];
  readonly deleted: string[];
  /** Drift refresh found, by `node/iface`. */
  readonly drift: Record<string, string[]>;
  /** What failed, by `node/iface` (a failed resource keeps its old state, as in the engine). */
  readonly errors: string[];
}

/** The parts of a dynamic provider's implementation that bring a resource to its inputs. */
interface Implementation<I, O> {
  check(olds: I, news: I): Promise<{ failures?: unknown[] }>;
  diff(id: string, olds: O, news: I): Promise<{ changes?: boolean; replaces?: string[] }>;
  create(inputs: I): Promise<{ outs?: unknown }>;
  update(id: string, olds: O, news: I): Promise<{ outs?: unknown }>;
}

/** As the engine does for one resource: check, then create it, or update it when diff says so (a replacement is a test failure). */
async function createOrUpdate<I, O>(impl: Implementation<I, O>, states: Map<string, O>, id: string, inputs: I, run: DriverRun): Promise<void> {
  assert.deepEqual((await impl.check(inputs, inputs)).failures, []);
  const olds = states.get(id);
  if (!olds) {
    states.set(id, (await impl.create(inputs)).outs as O);
    run.created.push(id);
    return;
  }
  const diff = await impl.diff(id, olds, inputs);
  assert.deepEqual(diff.replaces, [], `${id} would be replaced`);
  if (!diff.changes) return;
  states.set(id, (await impl.update(id, olds, inputs)).outs as O);
  run.updated.push(id);
}

export class ProviderDriver {
  private readonly keys = new Map<string, KeyOutputs>();
  private readonly configs = new Map<string, ConfigOutputs>();
  private readonly addresses = new Map<string, AddressOutputs>();
  /** The fabric's one PairKeys resource, by its id `pair-keys`. */
  private readonly pairKeys = new Map<string, PairKeysOutputs>();
  private readonly withConnections = (outs: PairKeysOutputs): PairKeysOutputs => ({
    ...outs,
    nodes: Object.fromEntries(Object.keys(outs.nodes).map((node) => [node, { connection: this.connections[node] as Connection }])),
  });

  constructor(private readonly connections: Record<string, Connection>) {}

  /** A new connection for a node (a re-pinned host key, say), for the next converge. */
  setConnection(node: string, connection: Connection): void {
    this.connections[node] = connection;
  }

  /** One `pulumi up --refresh`; throws only when `strict` and something failed. */
  async converge(fabric: Fabric, strict = true): Promise<DriverRun> {
    const run: DriverRun = { created: [], updated: [], deleted: [], drift: {}, errors: [] };
    const attempt = async (id: string, work: () => Promise<void>): Promise<void> => {
      try {
        await work();
      } catch (error) {
        run.errors.push(`${id}: ${(error as Error).message}`);
      }
    };
    await Promise.all([
      ...[...this.configs].map(([id, outs]) =>
        attempt(id, async () => {
          const read = await configImpl.read(id, { ...outs, connection: this.connections[outs.node] as Connection });
          const props = read.props as ConfigOutputs;
          if (props.drift.length > 0) run.drift[id] = props.drift;
          this.configs.set(id, props);
        }),
      ),
      ...[...this.addresses].map(([id, outs]) =>
        attempt(id, async () => {
          const props = (await addressImpl.read(id, { ...outs, connection: this.connections[outs.node] as Connection })).props as AddressOutputs;
          if (props.drift.length > 0) run.drift[id] = props.drift;
          this.addresses.set(id, props);
        }),
      ),
      ...[...this.pairKeys].map(([id, outs]) =>
        attempt(id, async () => {
          const props = (await pairKeysImpl.read(id, this.withConnections(outs))).props as PairKeysOutputs;
          if (props.drift.length > 0) run.drift[id] = props.drift;
          this.pairKeys.set(id, props);
        }),
      ),
    ]);
    const views = resolveInterfaces(fabric);
    await Promise.all(
      views
        .filter((view) => !this.keys.has(view.id))
        .map((view) =>
          attempt(view.id, async () => {
            const inputs: KeyInputs = { node: view.node, iface: view.iface, keyDir: view.keyDir, owner: view.owner, connection: this.connections[view.node] as Connection, applyMode: view.applyMode };
            assert.deepEqual((await keyImpl.check(inputs, inputs)).failures, []);
            this.keys.set(view.id, (await keyImpl.create(inputs)).outs as KeyOutputs);
          }),
        ),
    );
    const publicKeys = new Map([...this.keys].map(([id, key]) => [id, key.publicKey as WgKey]));
    // the pair keys, once every key of their interfaces exists (as fabric-resource.ts declares them)
    const pairs = pairKeyViews(fabric);
    const pairEnds = pairs.flatMap((pair) => pair.ends);
    let pairKeysFailed = pairEnds.some((end) => !publicKeys.has(keyId(end.node, end.iface)));
    if (pairs.length > 0 && !pairKeysFailed) {
      const inputs: PairKeysInputs = {
        pairs: Object.fromEntries(pairs.map((pair) => [pair.id, pair.rotation === undefined ? {} : { rotation: pair.rotation }])),
        interfaces: Object.fromEntries(pairEnds.map(({ node, iface, keyDir, owner }) => [keyId(node, iface), { node, iface, keyDir, owner, publicKey: publicKeys.get(keyId(node, iface)) as string }])),
        nodes: Object.fromEntries(pairEnds.map(({ node }) => [node, { connection: this.connections[node] as Connection }])),
      };
      const errors = run.errors.length;
      await attempt("pair-keys", () => createOrUpdate(pairKeysImpl, this.pairKeys, "pair-keys", inputs, run));
      pairKeysFailed = run.errors.length > errors;
    }
    /** A peer's pair key entry (file and fingerprint); undefined when its peering has none. */
    const pairKeyOf = (view: (typeof views)[number], peer: (typeof views)[number]["peers"][number]) => {
      const pair = peer.key.kind === "internal" ? pairs.find((p) => p.id === pairId(view.id, (peer.key as { id: string }).id)) : undefined;
      const end = pair?.ends.find((e) => keyId(e.node, e.iface) === view.id);
      const fingerprint = pair && this.pairKeys.get("pair-keys")?.fingerprints[pair.id];
      return end && fingerprint ? { pairKey: { file: end.file, fingerprint } } : pair ? {} : undefined;
    };
    await Promise.all(
      views
        .filter((view) => this.keys.has(view.id) && [...view.peers].every((peer) => peer.key.kind === "external" || publicKeys.has(peer.key.id)))
        .filter((view) => !(pairKeysFailed && view.peers.some((peer) => pairKeyOf(view, peer) !== undefined)))
        .map((view) => attempt(view.id, async () => {
        const peers = Object.fromEntries(
          view.peers.map((peer) => [
            peer.label,
            { ...peerEntryOf(peer, peer.key.kind === "internal" ? (publicKeys.get(peer.key.id) as WgKey) : peer.key.key, peer.presharedKey && { key: peer.presharedKey, fingerprint: presharedKeyFingerprint(peer.presharedKey) }), ...pairKeyOf(view, peer) },
          ]),
        );
        const inputs: ConfigInputs = {
          ...interfaceFields(view),
          peers,
          connection: this.connections[view.node] as Connection,
          publicKey: publicKeys.get(view.id) as WgKey,
        };
        await createOrUpdate(configImpl, this.configs, view.id, inputs, run);
      })),
    );
    const addresses = nodeAddressViews(fabric);
    await Promise.all(
      addresses.map((view) =>
        attempt(view.id, async () => {
          const { id: _id, ...address } = view;
          const inputs: AddressInputs = { ...address, connection: this.connections[view.node] as Connection };
          await createOrUpdate(addressImpl, this.addresses, view.id, inputs, run);
        }),
      ),
    );
    // what left the program is deleted, each with the node's current connection
    const removeAllBut = async <O extends { node: string }>(impl: { remove(id: string, props: O): Promise<void> }, states: Map<string, O>, wanted: Set<string>): Promise<void> => {
      for (const [id, outs] of [...states].filter(([id]) => !wanted.has(id))) {
        await attempt(id, async () => {
          await impl.remove(id, { ...outs, connection: this.connections[outs.node] as Connection });
          states.delete(id);
          run.deleted.push(id);
        });
      }
    };
    await removeAllBut(addressImpl, this.addresses, new Set(addresses.map((view) => view.id)));
    const wanted = new Set(views.map((view) => view.id));
    await removeAllBut(configImpl, this.configs, wanted);
    if (pairs.length === 0) {
      for (const [id, outs] of this.pairKeys) {
        await attempt(id, async () => {
          await pairKeysImpl.remove(id, this.withConnections(outs));
          this.pairKeys.delete(id);
          run.deleted.push(id);
        });
      }
    }
    for (const [id, key] of [...this.keys].filter(([id]) => !wanted.has(id) && !this.configs.has(id))) {
      await attempt(id, async () => {
        await keyImpl.remove(id, { ...key, connection: this.connections[key.node] as Connection });
        this.keys.delete(id);
      });
    }
    if (strict && run.errors.length > 0) throw new Error(`converge failed:\n${run.errors.join("\n")}`);
    return run;
  }

  /** What the pair keys resource's state says it could not check or found different (its `drift`). */
  pairKeysDrift(): readonly string[] | undefined {
    return this.pairKeys.get("pair-keys")?.drift;
  }

  /** Deletes everything, as `pulumi destroy` does. */
  async destroy(): Promise<void> {
    for (const [id, outs] of this.addresses) await addressImpl.remove(id, outs);
    for (const [id, outs] of this.configs) await configImpl.remove(id, outs);
    for (const [id, outs] of this.pairKeys) await pairKeysImpl.remove(id, this.withConnections(outs));
    for (const [id, key] of this.keys) await keyImpl.remove(id, key);
    this.pairKeys.clear();
    this.configs.clear();
    this.addresses.clear();
    this.keys.clear();
  }
}
