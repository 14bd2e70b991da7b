import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./args";
import { InterfaceConfig, InterfaceKey, type InterfaceStatus } from "./dynamic/resources";
import { renderNodeFiles, routesOf, type InterfaceView, type PeerView } from "./fabric";
import { isWgKey, type WgKey } from "./model";

/** A pre-shared key input, by {@link pskId}. */
export type PresharedKeys = ReadonlyMap<string, pulumi.Input<string>>;

/** How a peering is named for its pre-shared key: `node/iface>peer`. */
export function pskId(node: string, iface: string, peerLabel: string): string {
  return `${node}/${iface}>${peerLabel}`;
}

/** Arguments of {@link InternalNode}. */
export interface InternalNodeResourceArgs {
  /** The node's interfaces, resolved from the fabric. */
  readonly interfaces: readonly InterfaceView[];
  /** Secret connection. */
  readonly connection: pulumi.Input<ConnectionArgs>;
  /** Per interface: a value whose change rotates the key. */
  readonly keyRotation?: Readonly<Record<string, string>>;
  /** Add a {@link Peer} component per peer (default true). */
  readonly peerComponents?: boolean;
  /** Accept and record a host key other than the recorded one (see {@link InternalNodeArgs.acceptNewHostKey}). */
  readonly acceptNewHostKey?: boolean;
  /** Take over keys and files another fabric owns (see {@link InternalNodeArgs.adopt}). */
  readonly adopt?: boolean;
}

/**
 * A node of the fabric that we manage over SSH. Its children are, per interface, the key
 * (generated on the node) and the config (written and applied), and one {@link Peer} per peer.
 */
export class InternalNode extends pulumi.ComponentResource {
  /** Public keys of the node's interfaces, by interface name. */
  readonly publicKeys: pulumi.Output<Record<string, string>>;
  /** The node's SSH host key: pinned, or recorded at first contact (undefined without interfaces). */
  readonly hostKey?: pulumi.Output<string>;
  /** The key resource of each interface, by interface name. */
  readonly keys: Readonly<Record<string, InterfaceKey>>;
  /** The config resource of each interface, by interface name (after {@link InternalNode.configure}). */
  readonly configs: Record<string, InterfaceConfig> = {};
  /** Rendered configs (no private key), by interface name (after {@link InternalNode.configure}). */
  readonly renderedConfigs: Record<string, pulumi.Output<string>> = {};

  private readonly connection: pulumi.Output<ConnectionArgs>;

  constructor(
    private readonly name: string,
    private readonly args: InternalNodeResourceArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("wireguard-fabric:index:InternalNode", name, {}, opts);
    this.connection = pulumi.secret(pulumi.output(args.connection));
    const keys: Record<string, InterfaceKey> = {};
    for (const view of args.interfaces) {
      keys[view.iface] = new InterfaceKey(
        `${name}-${view.iface}-key`,
        {
          node: view.node,
          iface: view.iface,
          keyDir: view.keyDir,
          owner: view.owner,
          connection: this.connection,
          rotation: args.keyRotation?.[view.iface],
          acceptNewHostKey: args.acceptNewHostKey,
          adopt: args.adopt,
        },
        { parent: this },
      );
    }
    this.keys = keys;
    this.publicKeys = pulumi.all(Object.fromEntries(Object.entries(keys).map(([iface, key]) => [iface, key.publicKey])));
    this.hostKey = Object.values(keys)[0]?.hostKey;
  }

  /**
   * Creates the config resources once every key of the fabric exists as a resource: each
   * config depends on its own key and on the keys of its internal peers only.
   */
  configure(keyOf: (id: string) => pulumi.Output<string>, presharedKeys: PresharedKeys): void {
    for (const view of this.args.interfaces) {
      const needed = [...new Set(view.peers.flatMap((peer) => (peer.key.kind === "internal" ? [peer.key.id] : [])))];
      const psks = view.peers.flatMap((peer) => {
        const psk = presharedKeys.get(pskId(view.node, view.iface, peer.label));
        return psk === undefined ? [] : [{ peer, psk }];
      });
      const files = pulumi
        .all([pulumi.all(needed.map(keyOf)), pulumi.all(psks.map(({ psk }) => psk))])
        .apply(([peerKeys, pskValues]) => {
          const publicKeys = new Map(needed.map((id, i) => [id, peerKeys[i] as WgKey]));
          const withPsk = new Map<PeerView, WgKey>();
          psks.forEach(({ peer }, i) => {
            const value = pskValues[i] ?? "";
            if (!isWgKey(value)) throw new Error(`${view.node}: ${view.iface}: peer ${peer.label}: presharedKey is not a WireGuard key (32 bytes of base64, as \`wg genpsk\` prints)`);
            withPsk.set(peer, value);
          });
          const peers = view.peers.map((peer) => (withPsk.has(peer) ? { ...peer, presharedKey: withPsk.get(peer), overridden: true } : peer));
          return renderNodeFiles({ ...view, peers }, { publicKeys });
        });
      const config = psks.length > 0 ? pulumi.secret(files.config) : files.config;
      this.renderedConfigs[view.iface] = config;
      this.configs[view.iface] = new InterfaceConfig(
        `${this.name}-${view.iface}`,
        {
          node: view.node,
          iface: view.iface,
          keyDir: view.keyDir,
          owner: view.owner,
          applyMode: view.applyMode,
          connection: this.connection,
          publicKey: keyOf(view.id),
          config,
          stanza: files.stanza,
          hostKey: this.keys[view.iface]?.hostKey,
          acceptNewHostKey: this.args.acceptNewHostKey,
          adopt: this.args.adopt,
        },
        { parent: this, secretConfig: psks.length > 0 },
      );
      if (this.args.peerComponents === false) continue;
      for (const peer of view.peers) {
        new Peer(`${this.name}-${view.iface}-${peer.label.replace("/", "-")}`, { iface: view.iface, peer }, { parent: this });
      }
    }
    this.registerOutputs({ publicKeys: this.publicKeys });
  }
}

/** A peer entry of an internal node's interface: shows in the preview tree what each config will hold. */
export class Peer extends pulumi.ComponentResource {
  /** `node/iface` of an internal peer, or the external node's name. */
  readonly peer: string;
  /** The endpoint dialled, `host:port`. */
  readonly endpoint?: string;
  /** Everything routed to this peer. */
  readonly allowedIps: string[];

  constructor(name: string, args: { iface: string; peer: PeerView }, opts?: pulumi.ComponentResourceOptions) {
    super("wireguard-fabric:index:Peer", name, {}, opts);
    this.peer = args.peer.label;
    this.endpoint = args.peer.endpoint;
    this.allowedIps = routesOf(args.peer).map(String);
    this.registerOutputs({ peer: this.peer, endpoint: this.endpoint, allowedIps: this.allowedIps });
  }
}

/** A peer we don't manage, declared once and referenced by internal nodes. */
export class ExternalNode extends pulumi.ComponentResource {
  /** Its public key, as given. */
  readonly publicKey: string;

  constructor(name: string, args: { publicKey: string }, opts?: pulumi.ComponentResourceOptions) {
    super("wireguard-fabric:index:ExternalNode", name, {}, opts);
    this.publicKey = args.publicKey;
    this.registerOutputs({ publicKey: this.publicKey });
  }
}

/** Status outputs of a node's interfaces, for the fabric's `status`. */
export function statusOf(node: InternalNode): Record<string, pulumi.Output<InterfaceStatus>> {
  return Object.fromEntries(Object.entries(node.configs).map(([iface, config]) => [iface, config.status]));
}
