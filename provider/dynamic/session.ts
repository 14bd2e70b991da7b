import { connectionSchema, type Connection } from "../model";
import { RemoteNode, SessionPool } from "../remote";

// One pool per provider process: every resource of a run shares one connection per node.
const pool = new SessionPool(15_000);

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
