import { z } from "zod";

/** A jump host, as in `@pulumi/command`'s `remote.ProxyConnection`. */
export const proxyConnectionSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1).default("root"),
  password: z.string().optional(),
  privateKey: z.string().optional(),
  privateKeyPassword: z.string().optional(),
  agentSocketPath: z.string().optional(),
  dialErrorLimit: z.number().int().default(10),
  perDialTimeout: z.number().int().min(1).default(15),
  hostKey: z
    .string()
    .regex(/\S/, { message: "must not be empty: give the node's key (ssh-ed25519 AAAA…), or leave hostKey out to record it at first contact" })
    .optional(),
});

/**
 * How to reach an internal node over SSH: the shape of `@pulumi/command`'s
 * `remote.Connection` (same names, same defaults), with `hostKey` to pin the server key
 * (`ssh-ed25519 AAAA…`, as in known_hosts without the host name).
 */
export const connectionSchema = proxyConnectionSchema.extend({
  proxy: proxyConnectionSchema.optional(),
});

/** A parsed connection. */
export type Connection = z.output<typeof connectionSchema>;
/** A connection before defaults are filled in. */
export type ConnectionInput = z.input<typeof connectionSchema>;
