import { connectionSchema, type Connection } from "../model";
import { RemoteNode, SessionPool } from "../remote";
import { UNKNOWN } from "./inputs";

// One pool per provider process, which lives for one engine run: every resource of the run
// shares one connection per node, kept while the run lasts (no reconnect in the middle of it).
const pool = new SessionPool(10 * 60_000);

/**
 * Runs `work` on the node over the shared pool. The node must present the pinned host key, or
 * else `recordedHostKey` (the one seen at first contact) unless `acceptNewHostKey` says a new
 * one is expected.
 */
export function onNode<T>(
  node: string,
  connection: unknown,
  work: (remote: RemoteNode) => Promise<T>,
  trust: { readonly recordedHostKey?: string; readonly acceptNewHostKey?: boolean } = {},
): Promise<T> {
  const parsed: Connection = connectionSchema.parse(connection);
  return pool.use(node, parsed, (session) => work(new RemoteNode(session)), trust.acceptNewHostKey ? undefined : trust.recordedHostKey);
}

/** The host-key trust of a resource whose inputs carry its key resource's recorded host key (unknown at preview). */
export function trustOf(inputs: { readonly hostKey?: string; readonly acceptNewHostKey?: boolean }): { recordedHostKey?: string; acceptNewHostKey?: boolean } {
  return { recordedHostKey: inputs.hostKey === UNKNOWN ? undefined : inputs.hostKey, acceptNewHostKey: inputs.acceptNewHostKey };
}
