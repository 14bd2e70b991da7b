import { z } from "zod";
import { isPairKeyFile, type NodeFiles, renderNodeFiles } from "../fabric";
import { presharedKeyFingerprint, viewOfEntry } from "./entry";
import { APPLY_MODES, connectionSchema, endpointRefreshSchema, isWgKey, NOT_A_KEY, ifnameSchema, interfaceSchema, keyDirSchema, nameSchema, nodeAddressSchema, ownerSchema, parseEndpoint, peerSettings, routeSchema, wgKeySchema } from "../model";

/** What the engine passes for a value not known until apply (e.g. a key not yet generated). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const maybeUnknown = <T extends z.ZodType>(schema: T) => z.union([z.literal(UNKNOWN), schema]);

/** A key, or unknown at preview; a bad one is named without a union's vague message. */
const maybeUnknownKey = z.string().refine((text) => text === UNKNOWN || isWgKey(text), { message: NOT_A_KEY });

/** Inputs of an interface key resource. */
export const keyInputsSchema = z.object({
  node: nameSchema,
  iface: ifnameSchema,
  keyDir: keyDirSchema,
  /** `fabric/node/iface`: a renamed node or fabric takes the key over instead of deleting it. */
  owner: ownerSchema,
  connection: maybeUnknown(connectionSchema),
  /** Change it to generate a new key (the old one is deleted first). */
  rotation: z.string().optional(),
  /** Accept (and record) a host key other than the recorded one: the node's key changed on purpose. */
  acceptNewHostKey: z.boolean().optional(),
  /** Take over a key another fabric owns on the node, or the key of a config someone else wrote. */
  adopt: z.boolean().optional(),
  /** How the interface's config goes live, which says where it lives (absent in stacks made before 0.3: wg-quick's place). */
  applyMode: z.enum(APPLY_MODES).optional(),
});

/** Parsed key inputs. */
export type KeyInputs = z.output<typeof keyInputsSchema>;

/** Outputs (and state) of an interface key resource. */
export type KeyOutputs = KeyInputs & {
  publicKey: string;
  /** The node's SSH host key: pinned, or recorded at first contact and checked on every later run. */
  hostKey?: string;
};

/** A pair key's fingerprint (pairKeyFingerprint). */
const fingerprintSchema = z.string().regex(/^[0-9a-f]{16}$/, { message: "must be 16 hex digits" });
/** A pair key's file in a key folder (pairKeyFile). */
const pairKeyFileSchema = z.string().refine(isPairKeyFile, { message: "must be IFACE@NODE@IFACE.psk" });

/** `host:port` as rendered into an Endpoint line. */
const endpointTextSchema = z.string().refine((text) => {
  const parsed = parseEndpoint(text);
  return typeof parsed !== "string" && parsed.port !== undefined;
}, { message: "must be host:port" });

/**
 * One peer of a config resource, under its name (`node/iface` of an internal peer, the node for
 * an external one): plain fields, so `pulumi preview --diff` shows each change by peer and
 * field; `presharedKey` is the only secret. Public keys may be unknown at preview.
 */
export function peerEntrySchema<K extends z.ZodType<string>>(key: K) {
  return z
    .strictObject({
      publicKey: key,
      presharedKey: key.optional(),
      /**
       * {@link presharedKeyFingerprint} of `presharedKey`: the engine shows every secret as the same
       * `[secret]`, so a preview shows a new pre-shared key by this field changing.
       */
      presharedKeyFingerprint: z.string().regex(/^[0-9a-f]{16}$/).optional(),
      /**
       * The peering's pair key, made on the nodes: its file in the key folder and its
       * fingerprint (unknown at preview while the pair keys change), never the key.
       */
      pairKey: z.strictObject({ file: pairKeyFileSchema, fingerprint: maybeUnknown(fingerprintSchema) }).optional(),
      /** The peer node's own IPv4 address as /32 (Proxmox VE's router address), routed first (internal peers). */
      nodeRoute: routeSchema.optional(),
      /** The peer interface's own address as /32 or /128 (internal peers). */
      hostRoute: routeSchema.optional(),
      /** Its second address (the `ip6` of a dual-stack interface) as /128. */
      hostRoute6: routeSchema.optional(),
      endpoint: endpointTextSchema.optional(),
      /** The networks behind the peer (left out when none, which keeps large meshes' state small). */
      allowedIps: z.array(routeSchema).default([]),
      ...peerSettings,
    })
    .refine(
      ({ presharedKey: psk, presharedKeyFingerprint: shown }) => psk === undefined || psk === UNKNOWN || shown === undefined || shown === presharedKeyFingerprint(psk),
      { message: "is not the fingerprint of presharedKey", path: ["presharedKeyFingerprint"] },
    );
}

const configFields = {
  node: nameSchema,
  iface: ifnameSchema,
  keyDir: keyDirSchema,
  owner: ownerSchema,
  applyMode: z.enum(APPLY_MODES),
  listenPort: interfaceSchema.shape.listenPort,
  /** The interface address with prefix. */
  address: interfaceSchema.shape.ip,
  /** The second address of a dual-stack interface. */
  address6: interfaceSchema.shape.ip6,
  mtu: interfaceSchema.shape.mtu,
  /** Seconds between looks at its peers' endpoint names; absent: none is followed (off, or no peer reached by name). */
  endpointRefresh: endpointRefreshSchema.optional(),
};

/** Inputs of an interface config resource: the interface and its peers, rendered in the provider. */
export const configInputsSchema = z.object({
  ...configFields,
  peers: z.record(z.string().min(1), peerEntrySchema(maybeUnknownKey)),
  connection: maybeUnknown(connectionSchema),
  /** The interface's own public key: a new key means the node must rewrite the file with it. */
  publicKey: maybeUnknown(wgKeySchema),
  /** The node's host key as its key resource recorded it (trust on first use). */
  hostKey: maybeUnknown(z.string()).optional(),
  acceptNewHostKey: z.boolean().optional(),
  /** Take over config files another fabric owns on the node. */
  adopt: z.boolean().optional(),
});

/** The interface part of known config inputs, parsed for the renderers. */
export const entrySchema = z.object({ ...configFields, peers: z.record(z.string().min(1), peerEntrySchema(wgKeySchema)) });

/** Config inputs as the engine stores them (plain JSON). */
export type ConfigInputs = z.input<typeof configInputsSchema>;

/** State written by releases before 0.2, which passed the rendered text. */
export interface LegacyConfigState {
  readonly config: string;
  readonly stanza: string;
}

/** The interface and its peers, known (at apply): what {@link renderEntry} takes. */
export type EntryInputs = z.input<typeof entrySchema>;

/** The files an interface and its peers render to, exactly as the node will hold them (without PrivateKey). */
export function renderEntry(entry: EntryInputs): NodeFiles {
  return renderNodeFiles(viewOfEntry(entrySchema.parse(entry)), { publicKeys: new Map() });
}

/** The files a config resource's inputs render to (or the text a legacy state recorded). */
export function renderedFiles(inputs: ConfigInputs | (ConfigInputs & LegacyConfigState)): NodeFiles {
  if ("config" in inputs && inputs.peers === undefined) return { config: inputs.config, stanza: inputs.stanza };
  return renderEntry(inputs as EntryInputs);
}

/** Tunnel status of one peer, as refresh reports it. */
export interface PeerStatusOutput {
  readonly publicKey: string;
  readonly endpoint?: string;
  readonly latestHandshake: number;
  readonly rxBytes: number;
  readonly txBytes: number;
}

/** Outputs (and state) of an interface config resource. */
export type ConfigOutputs = ConfigInputs & {
  /** Where the config file is on the node (absent in state of releases before 0.3: see legacyConfigPath). */
  configPath?: string;
  /** sha256 of the file on the node without its PrivateKey line. */
  digest: string;
  /** What refresh found different on the node; empty when in sync. */
  drift: string[];
  /**
   * "up", "down" or "unknown" (before the first refresh); peers after refresh, and what each
   * endpoint name of the config resolves to on the node.
   */
  status: { state: string; peers: PeerStatusOutput[]; resolved?: Record<string, string[]> };
};

/** Pulumi check failures for `inputs`, or none. */
export function checkFailures(schema: z.ZodType, inputs: unknown): { property: string; reason: string }[] {
  const result = schema.safeParse(inputs);
  if (result.success) return [];
  return result.error.issues.flatMap(innermost).map((issue) => ({ property: String(issue.path[0] ?? ""), reason: `${issue.path.join(".")}: ${issue.message}` }));
}

/**
 * An issue of a value that may also be {@link UNKNOWN}: the issues of the branch it failed as a
 * value (`connection.host: …`), not the union's "Invalid input".
 */
function innermost(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== "invalid_union") return [issue];
  const asValue = issue.errors.filter((branch) => !branch.every((inner) => inner.path.length === 0 && inner.code === "invalid_value"));
  if (asValue.length !== 1) return [issue];
  return (asValue[0] as z.core.$ZodIssue[]).flatMap((inner) => innermost({ ...inner, path: [...issue.path, ...inner.path] }));
}

/** JSON with every object's keys sorted: equal values give equal text whatever order their fields came in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    field && typeof field === "object" && !Array.isArray(field) ? Object.fromEntries(Object.entries(field).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : field,
  );
}

/** The `keys` whose values differ between old and new (deep; the order of an object's fields aside). */
export function changedKeys<T extends object>(olds: T, news: T, keys: readonly (keyof T)[]): string[] {
  return keys.filter((key) => canonicalJson(olds[key]) !== canonicalJson(news[key])).map(String);
}

/** An address as the node-address resource takes it: text, checked as the fabric's `ip`/`ip6` are. */
const addressTextSchema = (family: 4 | 6) => z.string().refine((text) => nodeAddressSchema(family).safeParse(text).success, { message: `must be an IPv${family} address without prefix length` });

/** Inputs of a node-address resource: the link that holds an internal node's own addresses. */
export const addressInputsSchema = z.object({
  node: nameSchema,
  /** `dummy_<fabric>`, as Proxmox VE names it. */
  link: ifnameSchema,
  /** Where the node's interfaces keep their files (the script checks it as theirs). */
  keyDir: keyDirSchema,
  /** `fabric/node/link`: a renamed node or fabric on the same host takes the stanza over. */
  owner: ownerSchema,
  applyMode: z.enum(APPLY_MODES),
  ip: addressTextSchema(4).optional(),
  ip6: addressTextSchema(6).optional(),
  connection: maybeUnknown(connectionSchema),
  /** The node's host key as its first key resource recorded it (trust on first use). */
  hostKey: maybeUnknown(z.string()).optional(),
  acceptNewHostKey: z.boolean().optional(),
  /** Take over a stanza another fabric owns on the node. */
  adopt: z.boolean().optional(),
});

/** Node-address inputs as the engine stores them (plain JSON). */
export type AddressInputs = z.input<typeof addressInputsSchema>;

/** Outputs (and state) of a node-address resource. */
export type AddressOutputs = AddressInputs & {
  /** What refresh found different on the node; empty when in sync. */
  drift: string[];
};

/** Inputs of a fabric's pair keys resource: its pairs, the interfaces that hold them and how to reach their nodes. */
export const pairKeysInputsSchema = z.object({
  /** Each pair by name (`node/iface~node/iface`, see pairId), with what rotates its key. */
  pairs: z.record(z.string().regex(/^[^~]+\/[^~]+~[^~]+\/[^~]+$/), z.strictObject({ rotation: z.string().optional() })),
  /** The interfaces of the pairs, by `node/iface`: where their files are and for whom. */
  /** (A new public key, a rotated interface key, takes the interface's pair key files with it: they are made anew.) */
  interfaces: z.record(z.string(), z.strictObject({ node: nameSchema, iface: ifnameSchema, keyDir: keyDirSchema, owner: ownerSchema, publicKey: maybeUnknown(wgKeySchema) })),
  /** Per node: how to reach it (secret) and the host key its key resource recorded. */
  nodes: z.record(
    nameSchema,
    z.strictObject({ connection: maybeUnknown(connectionSchema), hostKey: maybeUnknown(z.string()).optional(), acceptNewHostKey: z.boolean().optional() }),
  ),
});

/** Pair keys inputs as the engine stores them. */
export type PairKeysInputs = z.input<typeof pairKeysInputsSchema>;

/** Outputs (and state) of a pair keys resource: no key, only fingerprints. */
export type PairKeysOutputs = PairKeysInputs & {
  /** Each pair's {@link pairKeyFingerprint}, as both its ends hold it. */
  fingerprints: Record<string, string>;
  /** When each pair's key was made: Unix seconds, by its first end's clock. */
  made: Record<string, number>;
  /** What refresh found different on the nodes (a pair whose ends differ, or a missing end), and the pairs refresh or up could not check (a node not reached: the next run asks again); empty when in sync. */
  drift: string[];
};
