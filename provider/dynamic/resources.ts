import * as pulumi from "@pulumi/pulumi";
import type { types } from "@pulumi/command";
import type { PeerEntry } from "./entry";
import type { ApplyMode } from "../model";

type Implementation = Required<Pick<pulumi.dynamic.ResourceProvider, "check" | "diff" | "create" | "update" | "read">> & {
  remove(id: string, props: unknown): Promise<void>;
};

/**
 * A provider whose handlers are serialized into state: each is one line that loads the
 * implementation by the package's own name (`module`, the only captured value), so no code,
 * credential or key is captured in the closure.
 */
function providerLoading(module: string): pulumi.dynamic.ResourceProvider {
  return {
    check: (olds, news) => (require(module) as Implementation).check(olds, news),
    diff: (id, olds, news) => (require(module) as Implementation).diff(id, olds, news),
    create: (inputs) => (require(module) as Implementation).create(inputs),
    update: (id, olds, news) => (require(module) as Implementation).update(id, olds, news),
    read: (id, props) => (require(module) as Implementation).read(id, props),
    delete: (id, props) => (require(module) as Implementation).remove(id, props),
  };
}

const keyProvider = providerLoading("pulumi-wireguard-fabric/dynamic/key-impl");
const configProvider = providerLoading("pulumi-wireguard-fabric/dynamic/config-impl");
const addressProvider = providerLoading("pulumi-wireguard-fabric/dynamic/address-impl");
const pairKeysProvider = providerLoading("pulumi-wireguard-fabric/dynamic/pair-keys-impl");

/** Our resources' types are `pulumi-nodejs:dynamic/wireguard-fabric:<Type>`. */
const MODULE = "wireguard-fabric";

/** The type every dynamic resource of releases before 0.2 had: aliases bring those over. */
export const LEGACY_DYNAMIC_TYPE = "pulumi-nodejs:dynamic:Resource";

/** The caller's options, with the connection kept secret in outputs too. */
function secretConnection(opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions {
  return pulumi.mergeOptions(opts, { additionalSecretOutputs: ["connection"] });
}

/** A connection as the dynamic resources receive it: `@pulumi/command`'s shape plus `hostKey`. */
export type ConnectionInput = pulumi.Input<types.input.remote.ConnectionArgs>;

/** What every resource on a node takes: the node, how to reach it, where and for whom its files are. */
export interface OnNodeArgs {
  readonly node: pulumi.Input<string>;
  /** The node's key folder (where the files of the `ifupdown2` and `proxmox` modes live too). */
  readonly keyDir: pulumi.Input<string>;
  /** `fabric/node/iface` (or `fabric/node/link`): a renamed node or fabric on the same host takes the key or files over. */
  readonly owner: pulumi.Input<string>;
  /** Secret: how to reach the node. */
  readonly connection: ConnectionInput;
  /** Accept (and record) a host key other than the recorded one (the node's key changed on purpose). */
  readonly acceptNewHostKey?: pulumi.Input<boolean>;
  /** Take over what another fabric owns on the node, or what someone else wrote there (a config, with its key). */
  readonly adopt?: pulumi.Input<boolean>;
}

/** Arguments of {@link InterfaceKey}. */
export interface InterfaceKeyArgs extends OnNodeArgs {
  readonly iface: pulumi.Input<string>;
  /** Change to rotate the key (the old key is deleted first). */
  readonly rotation?: pulumi.Input<string>;
  /**
   * How the interface's config goes live, so the key knows where that config lives: a config
   * someone else wrote there is refused, or with `adopt` its key is kept. Changing it changes
   * nothing on the node.
   */
  readonly applyMode?: pulumi.Input<ApplyMode>;
}

/** The key pair of one interface, generated on the node; only the public key is an output. */
export class InterfaceKey extends pulumi.dynamic.Resource {
  /** The interface's public key. */
  declare readonly publicKey: pulumi.Output<string>;
  /** The node's SSH host key: pinned, or recorded at first contact and required on every later run. */
  declare readonly hostKey: pulumi.Output<string>;

  constructor(name: string, args: InterfaceKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super(keyProvider, name, { ...args, publicKey: undefined, hostKey: undefined }, secretConnection(opts), MODULE, "InterfaceKey");
  }
}

/** One peer of an {@link InterfaceConfig}, every field an Input: see {@link PeerEntry}. */
export type PeerEntryInput = { readonly [K in keyof PeerEntry]: pulumi.Input<PeerEntry[K]> };

/** Arguments of {@link InterfaceConfig}. */
export interface InterfaceConfigArgs extends OnNodeArgs {
  readonly iface: pulumi.Input<string>;
  readonly applyMode: pulumi.Input<ApplyMode>;
  /** UDP port the interface listens on. */
  readonly listenPort?: pulumi.Input<number>;
  /** The interface address with prefix (`198.51.100.1/24`). */
  readonly address?: pulumi.Input<string>;
  readonly mtu?: pulumi.Input<number>;
  /** Seconds between looks at its peers' endpoint names on the node; absent: none is followed. */
  readonly endpointRefresh?: pulumi.Input<number>;
  /**
   * The peers by name (`node/iface`, or an external node's name). A plain object, not an
   * Output, so each pre-shared key stays the only secret field and a preview shows every other
   * change by peer and field.
   */
  readonly peers: Readonly<Record<string, PeerEntryInput>>;
  /** The interface's own public key (a new key makes the node rewrite its file). */
  readonly publicKey: pulumi.Input<string>;
  /** The node's host key as its {@link InterfaceKey} recorded it: the node must present it. */
  readonly hostKey?: pulumi.Input<string>;
}

/** Tunnel status of an interface after refresh. */
export interface InterfaceStatus {
  readonly state: string;
  readonly peers: readonly { publicKey: string; endpoint?: string; latestHandshake: number; rxBytes: number; txBytes: number }[];
  /** The addresses each endpoint name of the config resolves to on the node, in the resolver's order. */
  readonly resolved?: Readonly<Record<string, readonly string[]>>;
}

/**
 * One interface's config, rendered on the provider's side from the interface and its peers,
 * written on the node (which adds its private key) and applied.
 */
export class InterfaceConfig extends pulumi.dynamic.Resource {
  /** sha256 of the file on the node without its PrivateKey line. */
  declare readonly digest: pulumi.Output<string>;
  /** Differences refresh found on the node; empty when in sync. */
  declare readonly drift: pulumi.Output<string[]>;
  /** Interface state and per-peer handshakes and counters (filled by refresh). */
  declare readonly status: pulumi.Output<InterfaceStatus>;

  constructor(name: string, args: InterfaceConfigArgs, opts?: pulumi.CustomResourceOptions) {
    super(configProvider, name, { ...args, digest: undefined, drift: undefined, status: undefined }, secretConnection(opts), MODULE, "InterfaceConfig");
  }
}

/** Arguments of {@link NodeAddress}. */
export interface NodeAddressArgs extends OnNodeArgs {
  /** The link that holds the addresses: `dummy_<fabric>`, as Proxmox VE names it. */
  readonly link: pulumi.Input<string>;
  /** `none` writes the stanza without bringing the link up; every other mode brings it up with `ifup`. */
  readonly applyMode: pulumi.Input<ApplyMode>;
  /** The node's own IPv4 address, without prefix. */
  readonly ip?: pulumi.Input<string>;
  /** The node's own IPv6 address, without prefix. */
  readonly ip6?: pulumi.Input<string>;
  /** The node's host key as its first {@link InterfaceKey} recorded it: the node must present it. */
  readonly hostKey?: pulumi.Input<string>;
}

/**
 * An internal node's own addresses (Proxmox VE's router address), on a `dummy_<fabric>` link
 * that an ifupdown2 stanza of Proxmox VE's shape keeps across reboots and network applies.
 */
export class NodeAddress extends pulumi.dynamic.Resource {
  /** Differences refresh found on the node; empty when in sync. */
  declare readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: NodeAddressArgs, opts?: pulumi.CustomResourceOptions) {
    super(addressProvider, name, { ...args, drift: undefined }, secretConnection(opts), MODULE, "NodeAddress");
  }
}

/** Arguments of {@link PairKeys}. */
export interface PairKeysArgs {
  /** Each pair by name (`node/iface~node/iface`), with the value whose change makes its key anew. */
  readonly pairs: Readonly<Record<string, { readonly rotation?: string }>>;
  /** The interfaces of the pairs, by `node/iface`: node, interface, key folder and owner. */
  readonly interfaces: Readonly<Record<string, { readonly node: string; readonly iface: string; readonly keyDir: string; readonly owner: string; readonly publicKey: pulumi.Input<string> }>>;
  /** Per node: how to reach it (secret) and the host key its key resource recorded. */
  readonly nodes: Readonly<Record<string, { readonly connection: ConnectionInput; readonly hostKey?: pulumi.Input<string>; readonly acceptNewHostKey?: boolean }>>;
}

/**
 * A fabric's pair keys: a pre-shared key per peering, made on one of its nodes and written to
 * the other; only fingerprints are outputs.
 */
export class PairKeys extends pulumi.dynamic.Resource {
  /** Each pair's fingerprint (16 hex digits of a sha256 of its name and key). */
  declare readonly fingerprints: pulumi.Output<Record<string, string>>;
  /** When each pair's key was made (Unix seconds, by its first node's clock). */
  declare readonly made: pulumi.Output<Record<string, number>>;
  /** Pairs whose ends refresh found holding different keys, or none. */
  declare readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: PairKeysArgs, opts?: pulumi.CustomResourceOptions) {
    super(pairKeysProvider, name, { ...args, fingerprints: undefined, made: undefined, drift: undefined }, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["nodes"] }), MODULE, "PairKeys");
  }
}
