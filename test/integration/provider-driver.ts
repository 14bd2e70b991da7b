/**
 * Drives the dynamic providers as the engine does for `pulumi up --refresh`, without the engine:
 * read (refresh) every config and node address, create new keys, then create or update configs
 * and node addresses (update only when diff says so), then delete what left the program, configs
 * before keys. Model-based tests use it
 * to run many edits quickly through the same code the engine calls.
 */
import * as assert from "node:assert/strict";
import * as addressImpl from "../../provider/dynamic/address-impl";
import * as configImpl from "../../provider/dynamic/config-impl";
import type { AddressInputs, AddressOutputs, ConfigInputs, ConfigOutputs, KeyInputs, KeyOutputs } from "../../provider/dynamic/inputs";
import * as keyImpl from "../../provider/dynamic/key-impl";
import { nodeAddressViews, resolveInterfaces } from "../../provider/fabric";
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
    await Promise.all(
      views.filter((view) => this.keys.has(view.id) && [...view.peers].every((peer) => peer.key.kind === "external" || publicKeys.has(peer.key.id))).map((view) => attempt(view.id, async () => {
        const peers = Object.fromEntries(
          view.peers.map((peer) => [peer.label, peerEntryOf(peer, peer.key.kind === "internal" ? (publicKeys.get(peer.key.id) as WgKey) : peer.key.key, peer.presharedKey && { key: peer.presharedKey, fingerprint: presharedKeyFingerprint(peer.presharedKey) })]),
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
    for (const [id, key] of [...this.keys].filter(([id]) => !wanted.has(id) && !this.configs.has(id))) {
      await attempt(id, async () => {
        await keyImpl.remove(id, { ...key, connection: this.connections[key.node] as Connection });
        this.keys.delete(id);
      });
    }
    if (strict && run.errors.length > 0) throw new Error(`converge failed:\n${run.errors.join("\n")}`);
    return run;
  }

  /** Deletes everything, as `pulumi destroy` does. */
  async destroy(): Promise<void> {
    for (const [id, outs] of this.addresses) await addressImpl.remove(id, outs);
    for (const [id, outs] of this.configs) await configImpl.remove(id, outs);
    for (const [id, key] of this.keys) await keyImpl.remove(id, key);
    this.configs.clear();
    this.addresses.clear();
    this.keys.clear();
  }
}
