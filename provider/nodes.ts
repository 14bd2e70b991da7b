import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./args";
import { InterfaceConfig, InterfaceKey, LEGACY_DYNAMIC_TYPE, NodeAddress, type InterfaceStatus, type PeerEntryInput } from "./dynamic/resources";
import { renderEntry, type EntryInputs } from "./dynamic/inputs";
import type { InterfaceView, NodeAddressView } from "./fabric";
import { interfaceFields, peerEntryOf, presharedKeyFingerprint } from "./dynamic/entry";

/** A pre-shared key input, by {@link pskId}. */
export type PresharedKeys = ReadonlyMap<string, pulumi.Input<string>>;

/** The pair key of a peering, by {@link pskId}: its file, and its fingerprint once the fabric's pair keys are made. */
export type PairKeyInputs = ReadonlyMap<string, { readonly file: string; readonly fingerprint: pulumi.Output<string> }>;

/** How a peering is named for its pre-shared key: `node/iface>peer`. */
export function pskId(node: string, iface: string, peerLabel: string): string {
  return `${node}/${iface}>${peerLabel}`;
}

/**
 * How children of a fabric are named: joined with "/", which neither node nor interface names
 * may contain, so no two children share a name (`a-b`+`c` and `a`+`b-c` used to).
 */
export function childName(...parts: string[]): string {
  return parts.join("/");
}

/** What the fabric hands an {@link InternalNode}: not for programs, which declare a {@link Fabric}. */
export interface InternalNodeResourceArgs {
  /** The fabric's resource name, which every child name starts with. */
  readonly fabric: string;
  /** The node's interfaces, resolved from the fabric. */
  readonly interfaces: readonly InterfaceView[];
  /** Secret connection. */
  readonly connection: pulumi.Input<ConnectionArgs>;
  /** The node's own addresses and the link they go on, when it has any. */
  readonly address?: NodeAddressView;
  /** Per interface: a value whose change rotates the key. */
  readonly keyRotation?: Readonly<Record<string, string>>;
  /** Accept and record a host key other than the recorded one (see {@link InternalNodeSpec.acceptNewHostKey}). */
  readonly acceptNewHostKey?: boolean;
  /** Take over keys and files another fabric owns (see {@link InternalNodeSpec.adopt}). */
  readonly adopt?: boolean;
}

/**
 * A node of the fabric that we manage over SSH. Its children are, per interface, the key
 * (generated on the node) and the config (written and applied), and the link of the node's own
 * addresses when it has any. A {@link Fabric} makes them.
 */
export class InternalNode extends pulumi.ComponentResource {
  /** Public keys of the node's interfaces, by interface name. */
  readonly publicKeys: pulumi.Output<Record<string, string>>;
  /** The node's SSH host key: pinned, or recorded at first contact (undefined without interfaces). */
  readonly hostKey?: pulumi.Output<string>;
  /** The key resource of each interface, by interface name. */
  readonly keys: Readonly<Record<string, InterfaceKey>>;
  /** The config resource of each interface, by interface name (once the fabric has made every key). */
  readonly configs: Record<string, InterfaceConfig> = {};
  /** Rendered configs (no private key), by interface name (once the fabric has made every key). */
  readonly renderedConfigs: Record<string, pulumi.Output<string>> = {};
  /** The resource of the node's own addresses and the link that holds them (`dummy_<fabric>`), when it has any. */
  readonly address?: { readonly link: string; readonly resource: NodeAddress };

  private readonly connection: pulumi.Output<ConnectionArgs>;

  /** @internal */
  constructor(
    private readonly node: string,
    private readonly args: InternalNodeResourceArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    // before 0.2 children were named with "-"; the aliases keep their keys
    super("wireguard-fabric:index:InternalNode", childName(args.fabric, node), {}, pulumi.mergeOptions(opts, { aliases: [{ name: `${args.fabric}-${node}` }] }));
    this.connection = pulumi.secret(pulumi.output(args.connection));
    const keys: Record<string, InterfaceKey> = {};
    for (const view of args.interfaces) {
      keys[view.iface] = new InterfaceKey(
        childName(args.fabric, node, view.iface),
        {
          node: view.node,
          iface: view.iface,
          keyDir: view.keyDir,
          owner: view.owner,
          connection: this.connection,
          rotation: args.keyRotation?.[view.iface],
          acceptNewHostKey: args.acceptNewHostKey,
          adopt: args.adopt,
          applyMode: view.applyMode,
        },
        { parent: this, aliases: [{ name: `${args.fabric}-${node}-${view.iface}-key`, type: LEGACY_DYNAMIC_TYPE }] },
      );
    }
    this.keys = keys;
    this.publicKeys = pulumi.all(Object.fromEntries(Object.entries(keys).map(([iface, key]) => [iface, key.publicKey])));
    this.hostKey = Object.values(keys)[0]?.hostKey;
    if (args.address) {
      const { node: _node, id: _id, ...address } = args.address;
      const resource = new NodeAddress(
        childName(args.fabric, node, address.link),
        { ...address, node, connection: this.connection, hostKey: this.hostKey, acceptNewHostKey: args.acceptNewHostKey, adopt: args.adopt },
        { parent: this },
      );
      this.address = { link: address.link, resource };
    }
  }

  /**
   * Creates the config resources once every key of the fabric exists as a resource: each
   * config depends on its own key and on the keys of its internal peers only. Called by `Fabric`.
   * @internal
   */
  configure(keyOf: (id: string) => pulumi.Output<string>, presharedKeys: PresharedKeys, pairKeys: PairKeyInputs = new Map()): void {
    for (const view of this.args.interfaces) {
      const peers: Record<string, PeerEntryInput> = {};
      for (const peer of view.peers) {
        const psk = presharedKeys.get(pskId(view.node, view.iface, peer.label));
        const publicKey = peer.key.kind === "internal" ? keyOf(peer.key.id) : pulumi.output(peer.key.key);
        const secret = psk === undefined ? undefined : pulumi.secret(psk);
        // the fingerprint is a digest of the key, not the key: it may show in previews
        const fingerprint = secret && pulumi.unsecret(secret.apply(presharedKeyFingerprint));
        const pairKey = pairKeys.get(pskId(view.node, view.iface, peer.label));
        peers[peer.label] = { ...peerEntryOf(peer, publicKey, secret && fingerprint && { key: secret, fingerprint }), ...(pairKey ? { pairKey: pulumi.output(pairKey) } : {}) };
      }
      const entry = interfaceFields(view);
      // what the provider renders, from the very same inputs (secret when a peer has a pre-shared key)
      this.renderedConfigs[view.iface] = pulumi.output({ ...entry, peers }).apply((known) => renderEntry(known as EntryInputs).config);
      this.configs[view.iface] = new InterfaceConfig(
        childName(this.args.fabric, this.node, view.iface),
        {
          ...entry,
          peers,
          connection: this.connection,
          publicKey: keyOf(view.id),
          hostKey: this.keys[view.iface]?.hostKey,
          acceptNewHostKey: this.args.acceptNewHostKey,
          adopt: this.args.adopt,
        },
        { parent: this, aliases: [{ name: `${this.args.fabric}-${this.node}-${view.iface}`, type: LEGACY_DYNAMIC_TYPE }] },
      );
    }
    this.registerOutputs({ publicKeys: this.publicKeys });
  }
}

/** Drift outputs of a node's interfaces and of the link of its own addresses, by name, for the fabric's `drift`. */
export function driftOf(node: InternalNode): Record<string, pulumi.Output<string[]>> {
  const drift = Object.fromEntries(Object.entries(node.configs).map(([iface, config]) => [iface, config.drift]));
  return node.address ? { ...drift, [node.address.link]: node.address.resource.drift } : drift;
}

/** Status outputs of a node's interfaces, for the fabric's `status`. */
export function statusOf(node: InternalNode): Record<string, pulumi.Output<InterfaceStatus>> {
  return Object.fromEntries(Object.entries(node.configs).map(([iface, config]) => [iface, config.status]));
}
