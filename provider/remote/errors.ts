/** What went wrong reaching or using a node. */
export type RemoteErrorKind = "unreachable" | "not-started" | "auth" | "host-key" | "command" | "missing-tools" | "invalid-argument";

/** An error from the remote layer; the message names node, host and what failed. */
export class RemoteError extends Error {
  constructor(
    readonly kind: RemoteErrorKind,
    readonly node: string,
    readonly host: string,
    detail: string,
  ) {
    super(`node ${node} (${host}): ${detail}`);
    this.name = "RemoteError";
  }
}
