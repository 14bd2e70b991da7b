import * as pulumi from "@pulumi/pulumi";
import { argsFromModel, type ConnectionArgs, type FabricArgs, type InternalNodeArgs } from "./args";
import type { InterfaceStatus } from "./dynamic/resources";
import { exportPeers, type ExportedPeers } from "./exported-peers";
import { keyId, parseSectionConfig, peerLabel, resolveInterfaces, validateFabric, writeFabricSections } from "./fabric";
import { FabricError, formatProblem, isWgKey, parseFabric, type Fabric as FabricModel, type Problem } from "./model";
import { ExternalNode, InternalNode, pskId, statusOf, type PresharedKeys } from "./nodes";

/** Options of {@link Fabric.fromSectionConfig}. */
export interface SectionConfigFabricArgs {
  /** The fabrics.cfg text. */
  readonly text: string;
  /** Which WireGuard fabric of the file (default: the only one). */
  readonly fabric?: string;
  /** SSH connection of each internal node. */
  readonly connections: Readonly<Record<string, pulumi.Input<ConnectionArgs>>>;
}

interface SplitArgs {
  /** The topology, plain, for the schema. */
  readonly spec: unknown;
  readonly connections: Map<string, pulumi.Input<ConnectionArgs>>;
  readonly presharedKeys: Map<string, pulumi.Input<string>>;
  readonly problems: Problem[];
}

/** Separates what may be secret or unknown (connections, pre-shared keys) from the plain topology. */
function splitArgs(name: string, args: FabricArgs): SplitArgs {
  const connections = new Map<string, pulumi.Input<ConnectionArgs>>();
  const presharedKeys = new Map<string, pulumi.Input<string>>();
  const problems: Problem[] = [];
  const nodes: Record<string, unknown> = {};
  for (const [nodeName, node] of Object.entries(args.nodes ?? {})) {
    if (node?.role !== "internal") {
      nodes[nodeName] = node;
      continue;
    }
    const { connection, keyRotation: _rotation, acceptNewHostKey: _accept, adopt: _adopt, ...rest } = node as InternalNodeArgs;
    if (connection === undefined) problems.push({ severity: "error", where: `${nodeName}: connection`, message: "is required for an internal node (how to reach it over SSH)" });
    else connections.set(nodeName, connection);
    const peers = (rest.peers ?? []).map((peer, index) => {
      const { presharedKey, ...plain } = peer;
      if (presharedKey !== undefined) {
        if (typeof presharedKey === "string" && !isWgKey(presharedKey)) {
          problems.push({ severity: "error", where: `${nodeName}: peers[${index}]: presharedKey`, message: "is not a WireGuard key (32 bytes of base64, as `wg genpsk` prints)" });
        }
        presharedKeys.set(pskId(nodeName, peer.iface, peerLabel(peer)), pulumi.secret(presharedKey));
      }
      return plain;
    });
    nodes[nodeName] = { ...rest, peers };
  }
  const spec = { name: args.name ?? name, nodes, keyDir: args.keyDir, applyMode: args.applyMode };
  return { spec, connections, presharedKeys, problems };
}

/**
 * A WireGuard fabric: the RFC's internal nodes (managed over SSH), external nodes and peers.
 * The whole topology is validated when the program runs, so `pulumi preview` fails on bad
 * input before anything remote. `pulumi up` generates a key per interface on its node (the
 * private key never leaves it), then writes and applies each interface's config.
 */
export class Fabric extends pulumi.ComponentResource {
  /** Public key of every internal interface, by `node/iface`. */
  readonly publicKeys: pulumi.Output<Record<string, string>>;
  /** Rendered config of every internal interface, by `node/iface`; never a private key (secret when it holds pre-shared keys). */
  readonly configs: pulumi.Output<Record<string, string>>;
  /** The fabric as a Proxmox fabrics.cfg, with the generated public keys (pre-shared keys left out). */
  readonly sectionConfig: pulumi.Output<string>;
  /** Interface state and per-peer handshakes and counters, by `node/iface` (filled by `pulumi refresh`). */
  readonly status: pulumi.Output<Record<string, InterfaceStatus>>;
  /** What `pulumi refresh` found different on the nodes, by `node/iface`; empty lists when in sync. */
  readonly drift: pulumi.Output<Record<string, string[]>>;
  /** The public view another stack imports as external nodes ({@link externalNodesFrom}). */
  readonly exportedPeers: pulumi.Output<ExportedPeers>;
  /** Each internal node's SSH host key, pinned or recorded at first contact (trust on first use), by node. */
  readonly hostKeys: pulumi.Output<Record<string, string>>;
  /** The node components, by name. */
  readonly nodes: Readonly<Record<string, InternalNode | ExternalNode>>;
  /** The validated model. */
  readonly model: FabricModel;

  constructor(name: string, args: FabricArgs, opts?: pulumi.ComponentResourceOptions) {
    super("wireguard-fabric:index:Fabric", name, {}, opts);
    const split = splitArgs(name, args);
    const parsed = parseFabric(split.spec, { publicKeysAreOutputs: true });
    if (Array.isArray(parsed)) throw new FabricError([...parsed, ...split.problems]);
    const problems = [...validateFabric(parsed), ...split.problems];
    const errors = problems.filter((problem) => problem.severity === "error");
    if (errors.length > 0) throw new FabricError(errors);
    for (const warning of problems) pulumi.log.warn(`fabric ${parsed.name}: ${formatProblem(warning)}`, this);
    this.model = parsed;

    const views = resolveInterfaces(parsed);
    const nodes: Record<string, InternalNode | ExternalNode> = {};
    for (const [nodeName, node] of Object.entries(parsed.nodes)) {
      if (node.role === "external") {
        nodes[nodeName] = new ExternalNode(`${name}-${nodeName}`, { publicKey: node.publicKey }, { parent: this });
        continue;
      }
      const raw = args.nodes[nodeName] as InternalNodeArgs;
      nodes[nodeName] = new InternalNode(
        `${name}-${nodeName}`,
        {
          interfaces: views.filter((view) => view.node === nodeName),
          connection: split.connections.get(nodeName) as pulumi.Input<ConnectionArgs>,
          keyRotation: raw.keyRotation,
          peerComponents: args.peerComponents,
          acceptNewHostKey: raw.acceptNewHostKey,
          adopt: raw.adopt,
        },
        { parent: this },
      );
      pulumi.output(raw.connection).apply((connection) => {
        if (!connection.hostKey) {
          pulumi.log.warn(
            `${nodeName}: connection has no hostKey: the key the node presents at first contact is recorded (output hostKeys) and required ` +
              "on every later run; pin it in connection.hostKey to be safe from the first run too",
            this,
          );
        }
      });
    }
    this.nodes = nodes;
    const internal = Object.entries(nodes).filter((entry): entry is [string, InternalNode] => entry[1] instanceof InternalNode);
    const keyOf = (id: string): pulumi.Output<string> => {
      const [nodeName, iface] = id.split("/") as [string, string];
      const key = (nodes[nodeName] as InternalNode).keys[iface];
      if (!key) throw new Error(`no key resource for ${id}`);
      return key.publicKey;
    };
    for (const [, node] of internal) node.configure(keyOf, split.presharedKeys as PresharedKeys);

    const byId = <T>(pick: (node: InternalNode) => Record<string, T>): Record<string, T> =>
      Object.fromEntries(internal.flatMap(([nodeName, node]) => Object.entries(pick(node)).map(([iface, value]) => [keyId(nodeName, iface), value])));
    this.publicKeys = pulumi.all(byId((node) => Object.fromEntries(Object.entries(node.keys).map(([iface, key]) => [iface, key.publicKey]))));
    this.configs = pulumi.all(byId((node) => node.renderedConfigs));
    this.status = pulumi.all(byId(statusOf));
    this.drift = pulumi.all(byId((node) => Object.fromEntries(Object.entries(node.configs).map(([iface, config]) => [iface, config.drift]))));
    this.sectionConfig = this.publicKeys.apply((keys) => `${writeFabricSections(parsed, { publicKeys: new Map(Object.entries(keys)), omitPresharedKeys: true })}\n`);
    this.exportedPeers = this.publicKeys.apply((keys) => exportPeers(parsed, keys));
    this.hostKeys = pulumi.all(Object.fromEntries(internal.flatMap(([nodeName, node]) => (node.hostKey ? [[nodeName, node.hostKey]] : []))));
    this.registerOutputs({
      publicKeys: this.publicKeys,
      configs: this.configs,
      sectionConfig: this.sectionConfig,
      status: this.status,
      drift: this.drift,
      exportedPeers: this.exportedPeers,
      hostKeys: this.hostKeys,
    });
  }

  /**
   * A fabric read from a Proxmox `fabrics.cfg`. Public keys recorded in the file are ignored:
   * keys are generated (or adopted) on the nodes.
   */
  static fromSectionConfig(name: string, args: SectionConfigFabricArgs, opts?: pulumi.ComponentResourceOptions): Fabric {
    const { fabrics } = parseSectionConfig(args.text);
    const chosen = args.fabric ? fabrics.filter((f) => f.name === args.fabric) : fabrics;
    if (chosen.length !== 1) {
      throw new Error(args.fabric ? `fabrics.cfg has no WireGuard fabric "${args.fabric}"` : `fabrics.cfg has ${chosen.length} WireGuard fabrics; choose one with "fabric"`);
    }
    return new Fabric(name, argsFromModel(chosen[0] as FabricModel, args.connections), opts);
  }
}
