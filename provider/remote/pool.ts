import type { Connection } from "../model";
import { RemoteError } from "./errors";
import { hostKeyMismatch, sameHostKey, SshSession } from "./ssh";

/** Counts of what a pool did, for benchmarks and tests. */
export interface PoolStats {
  connections: number;
  commands: number;
}

interface Entry {
  readonly session: Promise<SshSession>;
  busy: number;
  timer?: NodeJS.Timeout;
}

/**
 * One SSH connection per node, shared by every operation on it during a run (whatever host key
 * each expects: each is checked against the one the server presented). A connection idle for
 * `idleMs` is closed, so a finished run leaves nothing open.
 */
export class SessionPool {
  private readonly entries = new Map<string, Entry>();
  readonly stats: PoolStats = { connections: 0, commands: 0 };

  constructor(private readonly idleMs = 5_000) {}

  /**
   * Runs `work` with the node's session, dialling it if this pool has none open. The host key
   * must be `connection.hostKey` (a pin) or else `recordedHostKey` (seen at first contact and
   * kept in state); a new connection checks it before authenticating, a shared one before use.
   */
  async use<T>(node: string, connection: Connection, work: (session: SshSession) => Promise<T>, recordedHostKey?: string): Promise<T> {
    try {
      return await this.useOnce(node, connection, work, recordedHostKey);
    } catch (error) {
      // a connection that dropped between two commands: nothing ran on it, dial anew once
      if (!(error instanceof RemoteError) || error.kind !== "not-started") throw error;
      return this.useOnce(node, connection, work, recordedHostKey);
    }
  }

  private keyOf(node: string, connection: Connection): string {
    return `${node}|${connection.user}@${connection.host}:${connection.port}`;
  }

  private async useOnce<T>(node: string, connection: Connection, work: (session: SshSession) => Promise<T>, recordedHostKey?: string): Promise<T> {
    const expected = connection.hostKey ?? recordedHostKey;
    const key = this.keyOf(node, connection);
    let entry = this.entries.get(key);
    if (!entry) {
      this.stats.connections++;
      const created: Entry = { session: SshSession.open(node, { ...connection, hostKey: expected }), busy: 0 };
      // a failed dial or a dropped link is forgotten, so the next use dials anew
      const forget = (): void => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      };
      created.session.then((session) => session.whenClosed(forget), forget);
      this.entries.set(key, created);
      entry = created;
    }
    const current = entry;
    clearTimeout(current.timer);
    current.busy++;
    let session: SshSession | undefined;
    let before = 0;
    try {
      session = await current.session;
      if (expected !== undefined && !sameHostKey(expected, session.hostKey)) throw hostKeyMismatch(node, session.host, expected, session.hostKey);
      before = session.commands;
      return await work(session);
    } catch (error) {
      // this connection is gone: whoever uses the node next dials anew
      if (error instanceof RemoteError && error.kind === "not-started" && this.entries.get(key) === current) this.entries.delete(key);
      throw error;
    } finally {
      if (session) this.stats.commands += session.commands - before;
      if (--current.busy === 0) {
        current.timer = setTimeout(() => this.drop(key), this.idleMs);
        current.timer.unref();
      }
    }
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry || entry.busy > 0) return;
    this.entries.delete(key);
    void entry.session.then((session) => session.close(), () => undefined);
  }

  /** Closes every connection now. */
  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) clearTimeout(entry.timer);
    await Promise.all(entries.map((entry) => entry.session.then((session) => session.close(), () => undefined)));
  }
}
