import * as pulumi from "@pulumi/pulumi";
import { argsFromModel, type ConnectionArgs, type PartialConnectionArgs, type FabricArgs, type FabricDefaults, type InternalNodeSpec, type NodeSpec } from "./args";
import type { InterfaceStatus } from "./dynamic/resources";
import { exportPeers, type ExportedPeers } from "./exported-peers";
import { expandLinks, keyId, nodeAddressViews, pairKeyViews, peerLabel, prepareFabric, validateAcrossFabrics, type PreparedFabric } from "./fabric";
import { type Dialect, parseSectionConfig, writeFabricSections } from "./section-config";
import { connectionProblems, FabricError, formatProblem, isWgKey, problemAt, type Fabric as FabricModel, type Problem } from "./model";
import { childName, driftOf, InternalNode, pskId, statusOf, type PairKeyInputs } from "./nodes";
import { PairKeys } from "./dynamic/resources";

/** Where the fabric's `drift` lists what refresh found of its pair keys (beside its interfaces, by `node/iface`). */
const PAIR_KEYS_DRIFT = "pair-keys";

/** Options of {@link Fabric.fromSectionConfig}. */
export interface SectionConfigFabricArgs {
  /** The fabrics.cfg text. */
  readonly text: string;
  /** Which WireGuard fabric of the file (default: the only one). */
  readonly fabric?: string;
  /** SSH connection of each internal node, merged over `defaults.connection`. */
  readonly connections?: Readonly<Record<string, pulumi.Input<PartialConnectionArgs>>>;
  /**
   * What the file does not say: at least how to reach the nodes (`connection`); `applyMode`
   * and `keyDir` over the file's (`applyMode: "proxmox"` applies it as Proxmox VE would).
   */
  readonly defaults?: Pick<FabricDefaults, "connection" | "applyMode" | "keyDir">;
  /** The file's dialect, `proxmox` or `rfc` (detected when not given). */
  readonly dialect?: Dialect;
  /**
   * Take over what the nodes already run for these interfaces (see {@link InternalNodeSpec.adopt}):
   * to move a fabric from Proxmox VE's SDN to this package without a dropped packet.
   */
  readonly adopt?: boolean;
}

/** The plain topology for the schema, and what may be secret or unknown, apart. */
interface SplitArgs {
  readonly spec: unknown;
  readonly connections: Map<string, pulumi.Input<ConnectionArgs>>;
  /** The nodes whose connection has Outputs, checked once they are known. */
  readonly checkedLater: ReadonlySet<string>;
  readonly presharedKeys: Map<string, pulumi.Input<string>>;
  readonly problems: Problem[];
}

/** A node's connection over the fabric's default one (either may be an Output). */
function mergedConnection(defaults: pulumi.Input<PartialConnectionArgs> | undefined, own: pulumi.Input<PartialConnectionArgs> | undefined) {
  if (defaults === undefined || own === undefined) return (own ?? defaults) as pulumi.Input<ConnectionArgs> | undefined;
  // a host missing from both is named by the resources' check, at preview
  return pulumi.all([defaults, own]).apply(([base, node]) => ({ ...base, ...node }) as ConnectionArgs);
}

/** True for a value that is known only later (an Output or a Promise). */
function isLater(value: unknown): boolean {
  return pulumi.Output.isInstance(value) || value instanceof Promise;
}

/**
 * What is known now of a connection merged from `parts` (later ones win, field by field), and
 * whether that is all of it: a part or a field given as an Output is checked once known.
 */
function knownConnection(...parts: (pulumi.Input<PartialConnectionArgs> | undefined)[]): { readonly known: Record<string, unknown>; readonly complete: boolean } {
  let known: Record<string, unknown> = {};
  let complete = true;
  for (const part of parts) {
    if (part === undefined) continue;
    if (isLater(part)) {
      // it may set any field: what came before is not known to hold
      [known, complete] = [{}, false];
      continue;
    }
    for (const [field, value] of Object.entries(part)) {
      const later = isLater(value) || (field === "proxy" && typeof value === "object" && value !== null && Object.values(value).some(isLater));
      if (later) delete known[field];
      else known[field] = value;
      complete &&= !later;
    }
  }
  return { known, complete };
}

/** The problems of a node's connection that can be told now (the rest are told once its Outputs are known). */
function connectionProblemsNow(nodeName: string, defaults: pulumi.Input<PartialConnectionArgs> | undefined, own: pulumi.Input<PartialConnectionArgs> | undefined): { readonly problems: Problem[]; readonly complete: boolean } {
  const path = ["nodes", nodeName, "connection"];
  const { known, complete } = knownConnection(defaults, own);
  const { host, ...rest } = known;
  const problems = complete && (host === undefined || host === "") ? [problemAt("error", { path: [...path, "host"] }, "is required: the address to reach the node at over SSH, here or in defaults.connection")] : [];
  return { problems: [...problems, ...connectionProblems(host === "" ? rest : known, path, false)], complete };
}

/** Applies defaults and links, and separates connections and pre-shared keys from the plain topology. */
function splitArgs(name: string, args: FabricArgs, nodesIn: Readonly<Record<string, NodeSpec>>): SplitArgs {
  const defaults = args.defaults ?? {};
  const connections = new Map<string, pulumi.Input<ConnectionArgs>>();
  const presharedKeys = new Map<string, pulumi.Input<string>>();
  const checkedLater = new Set<string>();
  const linked = expandLinks(nodesIn ?? {}, args.links ?? []);
  const problems: Problem[] = [...linked.problems];
  const nodes: Record<string, unknown> = {};
  for (const [nodeName, node] of Object.entries(linked.nodes)) {
    if (node?.role !== "internal") {
      nodes[nodeName] = node;
      continue;
    }
    const { connection: own, keyRotation: _rotation, acceptNewHostKey: _accept, adopt: _adopt, ...rest } = node;
    const connection = mergedConnection(defaults.connection, own);
    if (connection === undefined) problems.push(problemAt("error", { path: ["nodes", nodeName, "connection"] }, "is required for an internal node (how to reach it over SSH), here or in defaults.connection"));
    else {
      const now = connectionProblemsNow(nodeName, defaults.connection, own);
      problems.push(...now.problems);
      connections.set(nodeName, connection);
      if (!now.complete) checkedLater.add(nodeName);
    }
    const peers = (rest.peers ?? []).map((peer, index) => {
      const { presharedKey, ...plain } = peer;
      if (presharedKey !== undefined) {
        if (typeof presharedKey === "string" && !isWgKey(presharedKey)) {
          problems.push(problemAt("error", { path: ["nodes", nodeName, "peers", index, "presharedKey"] }, "is not a WireGuard key (32 bytes of base64, as `wg genpsk` prints)"));
        }
        presharedKeys.set(pskId(nodeName, peer.iface, peerLabel(peer)), pulumi.secret(presharedKey));
      }
      return plain;
    });
    nodes[nodeName] = { ...rest, peers };
  }
  if (!Object.values(linked.nodes).some((node) => node?.role === "internal")) {
    // an empty StackReference export, a config key the program no longer finds: never a request to delete the fabric
    problems.push(
      problemAt(
        "error",
        { path: ["nodes"] },
        "has no internal node, so the fabric would manage nothing and every key and config it made would be deleted; to remove a fabric, remove the Fabric from the program or run pulumi destroy",
      ),
    );
  }
  // the defaults that are fabric fields (the keepalive) go over as they are; the connection was merged into each node
  const { connection: _connection, keyDir, applyMode, ...fabricFields } = defaults;
  const spec = {
    name: args.name ?? name,
    nodes,
    keyDir: keyDir ?? args.keyDir,
    applyMode: applyMode ?? args.applyMode,
    ...fabricFields,
    ipPrefix: args.ipPrefix,
    ip6Prefix: args.ip6Prefix,
  };
  return { spec, connections, checkedLater, presharedKeys, problems };
}

/** The outputs of a {@link Fabric}. */
const OUTPUTS = ["publicKeys", "configs", "sectionConfig", "status", "drift", "exportedPeers", "hostKeys"] as const;
type FabricOutputs = { readonly [K in (typeof OUTPUTS)[number]]: Fabric[K] };

/** The fabric's resources and outputs, once its nodes are known. */
interface Built {
  readonly model?: FabricModel;
  readonly nodes: Readonly<Record<string, InternalNode>>;
  readonly outputs: FabricOutputs;
}

/**
 * The error that stops the program with `message` alone. The SDK inspects it for its traces, and
 * Node 20's inspect spends some 20 s on the source-mapped frames of an apply
 * (`node_modules/@pulumi/output.ts`, pulumi#20567): it gets no frames, as none are shown.
 */
function stopRun(message: string): pulumi.RunError {
  const error = new pulumi.RunError(message);
  error.stack = `${error.name}: ${message}`;
  return error;
}

/** The message that stops a program whose fabric cannot be built, `why` saying what stopped it. */
function notBuilt(fabric: string, why: string): string {
  return `fabric ${fabric} was not built because of ${why}; the run stops here, before any node is contacted, and deletes nothing`;
}

/**
 * A WireGuard fabric: the RFC's internal nodes (managed over SSH), external nodes and peers.
 * The whole topology is validated when the program runs, so `pulumi preview` fails on bad
 * input before anything remote. `pulumi up` generates a key per interface on its node (the
 * private key never leaves it), then writes and applies each interface's config.
 */
export class Fabric extends pulumi.ComponentResource {
  /** Public key of every internal interface, by `node/iface`. */
  declare readonly publicKeys: pulumi.Output<Record<string, string>>;
  /** Rendered config of every internal interface, by `node/iface`; never a private key (secret when it holds pre-shared keys). */
  declare readonly configs: pulumi.Output<Record<string, string>>;
  /** The fabric as a Proxmox fabrics.cfg, with the generated public keys (pre-shared keys left out). */
  declare readonly sectionConfig: pulumi.Output<string>;
  /** Interface state and per-peer handshakes and counters, by `node/iface` (filled by `pulumi refresh`). */
  declare readonly status: pulumi.Output<Record<string, InterfaceStatus>>;
  /** What `pulumi refresh` found different on the nodes, by `node/iface` (and `node/dummy_<fabric>` for a node's own addresses, `pair-keys` for the pair keys); empty lists when in sync. */
  declare readonly drift: pulumi.Output<Record<string, string[]>>;
  /** The public view another stack imports as external nodes ({@link externalNodesFrom}). */
  declare readonly exportedPeers: pulumi.Output<ExportedPeers>;
  /** Each internal node's SSH host key, pinned or recorded at first contact (trust on first use), by node. */
  declare readonly hostKeys: pulumi.Output<Record<string, string>>;
  /** The internal node components, by name (empty until an Output `nodes` is known). */
  readonly nodes: Readonly<Record<string, InternalNode>>;
  /** The validated model (undefined until an Output `nodes` is known). */
  readonly model?: FabricModel;

  constructor(name: string, args: FabricArgs, opts?: pulumi.ComponentResourceOptions) {
    super("wireguard-fabric:index:Fabric", name, {}, opts);
    const fabricName = args.name ?? name;
    // Problems are logged on the fabric, one error each, then the program stops without a stack
    // trace (a RunError; the SDK would inspect a ResourceError's whole resource). Logging alone is
    // not enough: the pulumi CLI does not fail a program that only logged an error (pulumi#5085),
    // and a program that ends without the fabric's resources asks the engine to delete them.
    const buildOrStop = (nodes: Readonly<Record<string, NodeSpec>>): Built => {
      const parsed = this.parse(name, args, nodes);
      if (!Array.isArray(parsed)) return this.build(name, parsed, nodes);
      return this.stop(fabricName, parsed);
    };
    let built: Built;
    if (pulumi.Output.isInstance(args.nodes)) {
      // known at preview for a StackReference
      // a problem rejects the outputs, which the program awaits: it fails, run by the CLI or by the Automation API
      const later = pulumi.all([this.unknownNodesGate(fabricName, args.nodes), args.nodes]).apply(([, nodes]) => buildOrStop(nodes).outputs);
      const outputs = OUTPUTS.map((key) => {
        const value = later.apply((known) => known[key] as pulumi.Output<unknown>);
        // only the configs may hold secrets (pre-shared keys); the rest is public whatever the nodes' connections
        return [key, key === "configs" ? value : pulumi.unsecret(value)];
      });
      built = { nodes: {}, outputs: Object.fromEntries(outputs) as FabricOutputs };
    } else {
      built = buildOrStop(args.nodes);
    }
    this.model = built.model;
    this.nodes = built.nodes;
    Object.assign(this, built.outputs);
    // Only what is not derivable is recorded on the component: configs, fabrics.cfg, status and
    // drift come from the resources' state, which holds them once (export them to keep a copy).
    this.registerOutputs({ publicKeys: this.publicKeys, hostKeys: this.hostKeys });
  }

  /** Logs each problem on the fabric, then stops the program without a stack trace. */
  private stop(fabric: string, problems: readonly Problem[]): never {
    for (const problem of problems) pulumi.log.error(`fabric ${fabric}: ${formatProblem(problem)}`, this);
    throw stopRun(notBuilt(fabric, `${problems.length === 1 ? "the error" : `the ${problems.length} errors`} above`));
  }

  /**
   * The nodes' connections, each held until every connection given with Outputs is known and
   * valid: one that is not stops the run before any node's resource gets a connection.
   */
  private checkedConnections(fabric: string, split: SplitArgs): ReadonlyMap<string, pulumi.Input<ConnectionArgs>> {
    if (split.checkedLater.size === 0) return split.connections;
    const later = [...split.checkedLater];
    const checked = pulumi.all(later.map((node) => split.connections.get(node) as pulumi.Input<ConnectionArgs>)).apply((known) => {
      const problems = known.flatMap((connection, i) => connectionProblems(connection, ["nodes", later[i] as string, "connection"], true));
      return problems.length > 0 ? this.stop(fabric, problems) : true;
    });
    return new Map([...split.connections].map(([node, connection]) => [node, pulumi.all([checked, connection]).apply(([, known]) => known as ConnectionArgs)]));
  }

  /**
   * Nodes that are not known yet (they come from resources this update creates or changes) build
   * no resources: at preview a warning says why the preview shows the fabric's resources going;
   * at up (where every input should be known) the gate rejects, and the program with it, rather
   * than delete them.
   */
  private unknownNodesGate(fabric: string, nodes: pulumi.Output<unknown>): Promise<void> {
    // Output's isKnown is the SDK's own (not in its typings): false only for an unknown value
    const known = (nodes as unknown as { readonly isKnown: Promise<boolean> }).isKnown;
    return known.then((isKnown) => {
      if (isKnown) return;
      if (!pulumi.runtime.isDryRun()) {
        pulumi.log.error(`fabric ${fabric}: nodes: are not known yet (they depend on resources this update creates or changes)`, this);
        throw stopRun(notBuilt(fabric, "the error above"));
      }
      pulumi.log.warn(`fabric ${fabric}: its nodes are not known until up: this preview cannot show the fabric's resources and lists the ones it has as deleted; up builds them from the known nodes`, this);
    });
  }

  /** The declaration prepared (its warnings logged), or every error it has. */
  private parse(name: string, args: FabricArgs, nodes: Readonly<Record<string, NodeSpec>>): { split: SplitArgs; prepared: PreparedFabric } | Problem[] {
    const split = splitArgs(name, args, nodes);
    const prepared = prepareFabric(split.spec, { publicKeysAreOutputs: true });
    const problems = [...(prepared.ok ? prepared.warnings : prepared.problems), ...split.problems];
    for (const warning of problems.filter((problem) => problem.severity === "warning")) pulumi.log.warn(`fabric ${args.name ?? name}: ${formatProblem(warning)}`, this);
    const errors = problems.filter((problem) => problem.severity === "error");
    return errors.length > 0 || !prepared.ok ? errors : { split, prepared };
  }

  private build(name: string, { split, prepared }: { split: SplitArgs; prepared: PreparedFabric }, specs: Readonly<Record<string, NodeSpec>>): Built {
    const { fabric: model, views } = prepared;
    const addresses = new Map(nodeAddressViews(model).map((view) => [view.node, view]));
    const nodes: Record<string, InternalNode> = {};
    const connections = this.checkedConnections(model.name, split);
    for (const [nodeName, node] of Object.entries(model.nodes)) {
      if (node.role === "external") continue;
      const spec = specs[nodeName] as InternalNodeSpec;
      const connection = connections.get(nodeName) as pulumi.Input<ConnectionArgs>;
      nodes[nodeName] = new InternalNode(
        nodeName,
        {
          fabric: name,
          interfaces: views.filter((view) => view.node === nodeName),
          address: addresses.get(nodeName),
          connection,
          keyRotation: spec.keyRotation,
          acceptNewHostKey: spec.acceptNewHostKey,
          adopt: spec.adopt,
        },
        { parent: this },
      );
      pulumi.output(connection).apply((known) => {
        if (!known.hostKey) {
          pulumi.log.warn(
            `${nodeName}: connection has no hostKey: the key the node presents at first contact is recorded (output hostKeys) and required ` +
              "on every later run; pin it in connection.hostKey to be safe from the first run too",
            this,
          );
        }
      });
    }
    const internal = Object.entries(nodes);
    const keyOf = (id: string): pulumi.Output<string> => {
      const [nodeName, iface] = id.split("/") as [string, string];
      const key = nodes[nodeName]?.keys[iface];
      if (!key) throw new Error(`no key resource for ${id}`);
      return key.publicKey;
    };
    const pairKeys = this.pairKeys(name, model, nodes, connections, specs);
    for (const [, node] of internal) node.configure(keyOf, split.presharedKeys, pairKeys.inputs);

    const byId = <T>(pick: (node: InternalNode) => Record<string, T>): Record<string, T> =>
      Object.fromEntries(internal.flatMap(([nodeName, node]) => Object.entries(pick(node)).map(([iface, value]) => [keyId(nodeName, iface), value])));
    const publicKeys = pulumi.all(byId((node) => Object.fromEntries(Object.entries(node.keys).map(([iface, key]) => [iface, key.publicKey]))));
    const outputs: FabricOutputs = {
      publicKeys,
      configs: pulumi.all(byId((node) => node.renderedConfigs)),
      status: pulumi.all(byId(statusOf)),
      drift: pulumi.all({ ...byId(driftOf), ...(pairKeys.drift ? { [PAIR_KEYS_DRIFT]: pairKeys.drift } : {}) }),
      sectionConfig: publicKeys.apply((keys) => this.sectionConfigText(model, keys)),
      exportedPeers: publicKeys.apply((keys) => exportPeers(model, keys)),
      hostKeys: pulumi.all(Object.fromEntries(internal.flatMap(([nodeName, node]) => (node.hostKey ? [[nodeName, node.hostKey]] : [])))),
    };
    return { model, nodes, outputs };
  }

  /**
   * The fabric's pair keys, made once every key of their interfaces exists (one resource for
   * the fabric: a node makes or writes all of an interface's keys in one run), each peering's
   * by {@link pskId} from both its ends; none without pairs.
   */
  private pairKeys(
    name: string,
    model: FabricModel,
    nodes: Readonly<Record<string, InternalNode>>,
    connections: ReadonlyMap<string, pulumi.Input<ConnectionArgs>>,
    specs: Readonly<Record<string, NodeSpec>>,
  ): { inputs: PairKeyInputs; drift?: pulumi.Output<string[]> } {
    const pairs = pairKeyViews(model);
    if (pairs.length === 0) return { inputs: new Map() };
    const ends = pairs.flatMap((pair) => pair.ends);
    const nodeNames = [...new Set(ends.map((end) => end.node))];
    const resource = new PairKeys(
      childName(name, "pair-keys"),
      {
        pairs: Object.fromEntries(pairs.map((pair) => [pair.id, pair.rotation === undefined ? {} : { rotation: pair.rotation }])),
        interfaces: Object.fromEntries(ends.map(({ node, iface, keyDir, owner }) => [keyId(node, iface), { node, iface, keyDir, owner, publicKey: nodes[node]?.keys[iface]?.publicKey as pulumi.Output<string> }])),
        nodes: Object.fromEntries(
          nodeNames.map((node) => [node, { connection: pulumi.secret(pulumi.output(connections.get(node) as pulumi.Input<ConnectionArgs>)), hostKey: nodes[node]?.hostKey, acceptNewHostKey: (specs[node] as InternalNodeSpec).acceptNewHostKey }]),
        ),
      },
      { parent: this, dependsOn: nodeNames.flatMap((node) => Object.values(nodes[node]?.keys ?? {})) },
    );
    const inputs = new Map<string, { file: string; fingerprint: pulumi.Output<string> }>();
    for (const pair of pairs) {
      const fingerprint = resource.fingerprints.apply((all) => all[pair.id] as string);
      const [a, b] = pair.ends;
      inputs.set(pskId(a.node, a.iface, keyId(b.node, b.iface)), { file: a.file, fingerprint });
      inputs.set(pskId(b.node, b.iface, keyId(a.node, a.iface)), { file: b.file, fingerprint });
    }
    return { inputs, drift: resource.drift };
  }

  /**
   * The fabric as a `fabrics.cfg` Proxmox VE accepts, public keys filled in, never a pre-shared
   * key. Fields Proxmox VE lacks are left out with a warning; a fabric it cannot hold at all
   * (e.g. an interface name over 8 characters) is written in the RFC dialect, with a warning.
   */
  private sectionConfigText(model: FabricModel, keys: Readonly<Record<string, string>>): string {
    const options = { publicKeys: new Map(Object.entries(keys)), omitPresharedKeys: true };
    const warn = (problem: Problem): void => void pulumi.log.warn(`fabric ${model.name}: sectionConfig: ${formatProblem(problem)}`, this);
    try {
      return `${writeFabricSections(model, { ...options, onWarning: warn })}\n`;
    } catch (error) {
      if (!(error instanceof FabricError)) throw error;
      for (const problem of error.problems) warn({ ...problem, severity: "warning", message: `${problem.message}; written in the RFC dialect instead` });
      return `${writeFabricSections(model, { ...options, dialect: "rfc" })}\n`;
    }
  }

  /**
   * A fabric read from a Proxmox `fabrics.cfg`, in either dialect (Proxmox VE's or the RFC's).
   * Public keys recorded in the file are ignored: keys are generated (or adopted) on the nodes.
   * The file's other fabrics are checked against it (a node's listen ports and interface names
   * differ across fabrics).
   */
  static fromSectionConfig(name: string, args: SectionConfigFabricArgs, opts?: pulumi.ComponentResourceOptions): Fabric {
    let fabrics: readonly FabricModel[];
    try {
      fabrics = parseSectionConfig(args.text, "fabrics.cfg", { dialect: args.dialect }).fabrics;
    } catch (error) {
      if (error instanceof FabricError) throw new pulumi.RunError(error.problems.map(formatProblem).join("\n"));
      throw error;
    }
    const across = validateAcrossFabrics(fabrics);
    if (across.length > 0) throw new pulumi.RunError(across.map(formatProblem).join("\n"));
    const chosen = args.fabric ? fabrics.filter((f) => f.name === args.fabric) : fabrics;
    if (chosen.length !== 1) {
      throw new pulumi.RunError(args.fabric ? `fabrics.cfg has no WireGuard fabric "${args.fabric}"` : `fabrics.cfg has ${chosen.length} WireGuard fabrics; choose one with "fabric"`);
    }
    const fromFile = argsFromModel(chosen[0] as FabricModel, args.connections ?? {});
    const nodes = args.adopt ? Object.fromEntries(Object.entries(fromFile.nodes).map(([node, spec]) => [node, spec.role === "internal" ? { ...spec, adopt: true } : spec])) : fromFile.nodes;
    return new Fabric(name, { ...fromFile, nodes, defaults: { ...fromFile.defaults, ...args.defaults } }, opts);
  }
}
