import { z } from "zod";
import { APPLY_MODES, connectionSchema, ifnameSchema, keyDirSchema, nameSchema, wgKeySchema } from "../model";

/** What the engine passes for a value not known until apply (e.g. a key not yet generated). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const maybeUnknown = <T extends z.ZodType>(schema: T) => z.union([z.literal(UNKNOWN), schema]);

const ownerSchema = z.string().regex(/^[A-Za-z0-9_=+.\/-]{1,200}$/, { message: "must be fabric/node/iface" });

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
  /** Take over a key another fabric owns on the node. */
  adopt: z.boolean().optional(),
});

/** Parsed key inputs. */
export type KeyInputs = z.output<typeof keyInputsSchema>;

/** Outputs (and state) of an interface key resource. */
export type KeyOutputs = KeyInputs & {
  publicKey: string;
  /** The node's SSH host key: pinned, or recorded at first contact and checked on every later run. */
  hostKey?: string;
};

/** Inputs of an interface config resource. */
export const configInputsSchema = z.object({
  node: nameSchema,
  iface: ifnameSchema,
  keyDir: keyDirSchema,
  owner: ownerSchema,
  applyMode: z.enum(APPLY_MODES),
  connection: maybeUnknown(connectionSchema),
  /** The interface's own public key: a new key means the node must rewrite the file with it. */
  publicKey: maybeUnknown(wgKeySchema),
  /** The rendered config without PrivateKey (the node inserts its own). */
  config: maybeUnknown(z.string().refine((text) => !/^\s*PrivateKey\s*=/m.test(text), { message: "must not contain a PrivateKey line" })),
  /** The ifupdown2 stanza, empty in other modes. */
  stanza: maybeUnknown(z.string()),
  /** The node's host key as its key resource recorded it (trust on first use). */
  hostKey: maybeUnknown(z.string()).optional(),
  acceptNewHostKey: z.boolean().optional(),
  /** Take over config files another fabric owns on the node. */
  adopt: z.boolean().optional(),
});

/** Parsed config inputs. */
export type ConfigInputs = z.output<typeof configInputsSchema>;

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
  /** sha256 of the file on the node without its PrivateKey line. */
  digest: string;
  /** What refresh found different on the node; empty when in sync. */
  drift: string[];
  /** "up", "down" or "unknown" (before the first refresh); peers after refresh. */
  status: { state: string; peers: PeerStatusOutput[] };
};

/** Pulumi check failures for `inputs`, or none. */
export function checkFailures(schema: z.ZodType, inputs: unknown): { property: string; reason: string }[] {
  const result = schema.safeParse(inputs);
  if (result.success) return [];
  return result.error.issues.map((issue) => ({ property: String(issue.path[0] ?? ""), reason: `${issue.path.join(".")}: ${issue.message}` }));
}

/** True when any of `keys` differs between old and new values (deep, via JSON). */
export function changedKeys<T extends object>(olds: T, news: T, keys: readonly (keyof T)[]): string[] {
  return keys.filter((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key])).map(String);
}
