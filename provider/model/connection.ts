import { z } from "zod";
import { portSchema } from "./endpoint";
import { problemsFromZod, type PathStep, type Problem } from "./problem";

/** A jump host, as in `@pulumi/command`'s `remote.ProxyConnection`. */
export const proxyConnectionSchema = z.strictObject({
  host: z.string().min(1),
  port: portSchema.default(22),
  user: z.string().min(1).default("root"),
  password: z.string().optional(),
  privateKey: z.string().optional(),
  privateKeyPassword: z.string().optional(),
  agentSocketPath: z.string().optional(),
  /** Failed dials allowed before giving up, as `@pulumi/command` counts them ({@link dialAttempts}); -1 is unlimited. */
  dialErrorLimit: z.number().int().min(-1, "must be -1 (unlimited) or more").default(10),
  /** Seconds each dial may take until the SSH handshake is done; 0 is no maximum. */
  perDialTimeout: z.number().int().min(0, "must be 0 (no maximum) or more seconds").default(15),
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

/**
 * The problems of a node's connection, placed under `path`. `complete` is false when some of its
 * fields are not known yet (Outputs): what is there is checked, and nothing is required.
 */
export function connectionProblems(connection: unknown, path: readonly PathStep[], complete: boolean): Problem[] {
  const result = (complete ? connectionSchema : connectionSchema.partial()).safeParse(connection);
  return result.success ? [] : problemsFromZod(result.error.issues, (at) => [...path, ...at]);
}

/** A parsed connection. */
export type Connection = z.output<typeof connectionSchema>;
/** A connection before defaults are filled in. */
export type ConnectionInput = z.input<typeof connectionSchema>;

/**
 * How many dials a connection makes at most, as `@pulumi/command` counts `dialErrorLimit`
 * (pulumi-command, provider/pkg/provider/remote/connection.go, `reachedDialingErrorLimit`: it
 * gives up once the dials exceed the limit): `N` allows `N + 1` dials, -1 is unlimited.
 */
export function dialAttempts(dialErrorLimit: number): number {
  return dialErrorLimit < 0 ? Number.POSITIVE_INFINITY : dialErrorLimit + 1;
}

/** ssh2's `readyTimeout` (ms) for `perDialTimeout` (s): 0 is no maximum in both (ssh2 sets no timer for 0, as Go's ssh does none for a zero Timeout). */
export function readyTimeoutMs(perDialTimeout: number): number {
  return perDialTimeout * 1000;
}
