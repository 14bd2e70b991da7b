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
import { interfaceFields, nodeAddressViews, peerEntryOf, presharedKeyFingerprint, resolveInterfaces } from "../../provider/fabric";
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
        assert.deepEqual((await configImpl.check(inputs, inputs)).failures, []);
        const olds = this.configs.get(view.id);
        if (!olds) {
          this.configs.set(view.id, (await configImpl.create(inputs)).outs as ConfigOutputs);
          run.created.push(view.id);
          return;
        }
        const diff = await configImpl.diff(view.id, olds, inputs);
        assert.deepEqual(diff.replaces, [], `${view.id} would be replaced`);
        if (!diff.changes) return;
        this.configs.set(view.id, (await configImpl.update(view.id, olds, inputs)).outs as ConfigOutputs);
        run.updated.push(view.id);
      })),
    );
    const addresses = nodeAddressViews(fabric);
    await Promise.all(
      addresses.map((view) =>
        attempt(view.id, async () => {
          const { id: _id, ...address } = view;
          const inputs: AddressInputs = { ...address, connection: this.connections[view.node] as Connection };
          assert.deepEqual((await addressImpl.check(inputs, inputs)).failures, []);
          const olds = this.addresses.get(view.id);
          if (!olds) {
            this.addresses.set(view.id, (await addressImpl.create(inputs)).outs as AddressOutputs);
            run.created.push(view.id);
            return;
          }
          const diff = await addressImpl.diff(view.id, olds, inputs);
          assert.deepEqual(diff.replaces, [], `${view.id} would be replaced`);
          if (!diff.changes) return;
          this.addresses.set(view.id, (await addressImpl.update(view.id, olds, inputs)).outs as AddressOutputs);
          run.updated.push(view.id);
        }),
      ),
    );
    const wantedAddresses = new Set(addresses.map((view) => view.id));
    for (const [id, outs] of [...this.addresses].filter(([id]) => !wantedAddresses.has(id))) {
      await attempt(id, async () => {
        await addressImpl.remove(id, { ...outs, connection: this.connections[outs.node] as Connection });
        this.addresses.delete(id);
        run.deleted.push(id);
      });
    }
    const wanted = new Set(views.map((view) => view.id));
    for (const [id, outs] of [...this.configs].filter(([id]) => !wanted.has(id))) {
      await attempt(id, async () => {
        await configImpl.remove(id, { ...outs, connection: this.connections[outs.node] as Connection });
        this.configs.delete(id);
        run.deleted.push(id);
      });
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
