import { createHash } from "node:crypto";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import type { Duplex } from "node:stream";
import { dialAttempts, readyTimeoutMs, type Connection } from "../model";
import { RemoteError } from "./errors";

/** Result of one remote command. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `ssh-ed25519 AAAA…` from the raw key blob the server sent. */
export function formatHostKey(blob: Buffer): string {
  const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + typeLength).toString("latin1") || "unknown";
  return `${type} ${blob.toString("base64")}`;
}

/** The key blob of a pinned host key in OpenSSH form (`type base64 [comment]`). */
function pinnedBlob(hostKey: string): Buffer {
  const parts = hostKey.trim().split(/\s+/);
  const base64 = parts.length >= 2 ? parts[1] : parts[0];
  return Buffer.from(base64 ?? "", "base64");
}

/** True when two host keys in OpenSSH form are the same key (comments aside). */
export function sameHostKey(a: string, b: string): boolean {
  return pinnedBlob(a).equals(pinnedBlob(b));
}

/** `ssh-ed25519 SHA256:…`, as `ssh-keygen -lf` and OpenSSH's warnings show a host key. */
export function hostKeyFingerprint(hostKey: string): string {
  const blob = pinnedBlob(hostKey);
  return `${formatHostKey(blob).split(" ")[0]} SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The error of a host key that is not the one pinned or recorded: nothing has been sent. */
export function hostKeyMismatch(node: string, host: string, expected: string, presented: string): RemoteError {
  return new RemoteError(
    "host-key",
    node,
    host,
    `host key mismatch: expected ${hostKeyFingerprint(expected)}, but the server presented ${hostKeyFingerprint(presented)} (${presented.trim()}); ` +
      "nothing was run. If the node's key changed on purpose, pin the new key (connection.hostKey) or set acceptNewHostKey on the node for one run",
  );
}

/** Channels open at once on one connection: OpenSSH refuses more than `MaxSessions` (10 by default). */
export const MAX_CHANNELS = 8;

/** How long one remote command may run before it is abandoned with an error naming it (`WG_FABRIC_COMMAND_TIMEOUT`, seconds). */
export function commandTimeoutMs(): number {
  const seconds = Number(process.env.WG_FABRIC_COMMAND_TIMEOUT ?? 120);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 120) * 1000;
}

/** How many refusals of a session one command takes, each after a wait for a free one, before it fails. */
const SESSION_REFUSALS = 10;

/** The node refused to open a channel (sshd at its MaxSessions, say): nothing ran. */
class SessionRefused extends Error {}

/** An open SSH connection to one node. */
export class SshSession {
  private constructor(
    private readonly client: Client,
    private readonly proxy: Client | undefined,
    readonly node: string,
    readonly host: string,
    /** The host key the server presented (`ssh-ed25519 AAAA…`), checked before authentication when pinned. */
    readonly hostKey: string,
  ) {}

  /** Calls `listener` when the connection drops or is closed. */
  whenClosed(listener: () => void): void {
    this.client.on("close", listener);
  }

  /** Commands run on this session so far. */
  commands = 0;

  private open = 0;
  /** Channels this connection opens at once: {@link MAX_CHANNELS}, lowered when the node refuses one (its MaxSessions is lower). */
  private limit = MAX_CHANNELS;
  private readonly waiting: (() => void)[] = [];

  /**
   * Dials `connection` (through its proxy, if any), verifying the pinned host key before any
   * authentication or command (without a pin, the key presented is recorded in
   * {@link SshSession.hostKey}). Network failures are retried as `dialErrorLimit` allows ({@link dialAttempts});
   * a refused login or a host key mismatch is not.
   */
  static async open(node: string, connection: Connection): Promise<SshSession> {
    const host = `${connection.user}@${connection.host}:${connection.port}`;
    let proxy: Client | undefined;
    let sock: Duplex | undefined;
    if (connection.proxy) {
      const jump = connection.proxy;
      proxy = (await dial(node, `${jump.user}@${jump.host}:${jump.port} (proxy)`, jump, undefined)).client;
      sock = await new Promise<Duplex>((resolve, reject) =>
        proxy?.forwardOut("127.0.0.1", 0, connection.host, connection.port, (error, stream) =>
          error ? reject(new RemoteError("unreachable", node, host, `proxy could not reach it: ${error.message}`)) : resolve(stream),
        ),
      );
    }
    const { client, hostKey } = await dial(node, host, connection, sock);
    return new SshSession(client, proxy, node, host, hostKey);
  }

  /**
   * Runs `command`, feeding `stdin` (secrets travel here, never on a command line). At most
   * {@link MAX_CHANNELS} run at once; the rest wait their turn. `what` names the command in errors.
   */
  async exec(command: string, stdin?: string, what = "a command", timeoutMs = commandTimeoutMs()): Promise<CommandResult> {
    this.commands++;
    for (let refusals = 0; ; refusals++) {
      while (this.open >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.open++;
      try {
        return await this.execNow(command, stdin, what, timeoutMs);
      } catch (error) {
        if (!(error instanceof SessionRefused)) throw error;
        // nothing ran: the channels open beside it are what the node allows; wait for one of them
        this.limit = Math.max(1, this.open - 1);
        if (refusals + 1 >= SESSION_REFUSALS) {
          throw new RemoteError("command", this.node, this.host, `could not start ${what}: the node refused a session ${SESSION_REFUSALS} times (${error.message}); nothing ran`);
        }
        if (this.open === 1) await new Promise((resolve) => setTimeout(resolve, 100 * (refusals + 1)));
      } finally {
        this.open--;
        this.waiting.shift()?.();
      }
    }
  }

  private execNow(command: string, stdin: string | undefined, what: string, timeoutMs: number): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      let channel: ClientChannel | undefined;
      // the timeout covers opening the channel too: on a path that went dead (a link down, a
      // partition) the node never answers the open, and the connection's keepalive takes a minute
      const timer = setTimeout(() => {
        if (!channel) return notStarted(new Error(`no answer from the node within ${timeoutMs / 1000} s`));
        channel.signal("KILL");
        channel.close();
        reject(new RemoteError("command", this.node, this.host, `${what} did not finish within ${timeoutMs / 1000} s; abandoned`));
      }, timeoutMs);
      // no channel, so nothing ran: the connection is gone even if the socket has not said so yet
      const notStarted = (error: Error): void => {
        clearTimeout(timer);
        this.client.end();
        reject(new RemoteError("not-started", this.node, this.host, `could not start ${what}: ${error.message}`));
      };
      const started = (error: (Error & { reason?: unknown }) | undefined, opened: ClientChannel): void => {
        // the node answered the open with a refusal (ssh2 gives its reason code): the connection is
        // fine, and the commands beside this one on it go on
        if (error?.reason !== undefined) {
          clearTimeout(timer);
          return reject(new SessionRefused(error.message));
        }
        if (error) return notStarted(error);
        channel = opened;
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        channel.on("data", (data: Buffer) => out.push(data));
        channel.stderr.on("data", (data: Buffer) => err.push(data));
        let code = -1;
        channel.on("exit", (exitCode: number | null) => (code = exitCode ?? -1));
        channel.on("close", () => {
          clearTimeout(timer);
          resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
        });
        if (stdin !== undefined) channel.end(stdin);
        else channel.end();
      };
      try {
        this.client.exec(command, started);
      } catch (error) {
        // ssh2 throws "Not connected" at once when the socket already closed
        notStarted(error as Error);
      }
    });
  }

  /** Closes the connection (and its proxy). */
  close(): void {
    this.client.end();
    this.proxy?.end();
  }
}

type Dialable = Pick<
  Connection,
  "host" | "port" | "user" | "password" | "privateKey" | "privateKeyPassword" | "agentSocketPath" | "dialErrorLimit" | "perDialTimeout" | "hostKey"
>;

async function dial(node: string, host: string, connection: Dialable, sock: Duplex | undefined): Promise<{ client: Client; hostKey: string }> {
  const attempts = dialAttempts(connection.dialErrorLimit);
  let last: RemoteError | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await dialOnce(node, host, connection, sock);
    } catch (error) {
      if (!(error instanceof RemoteError) || error.kind !== "unreachable" || sock) throw error;
      last = error;
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 2000)));
    }
  }
  throw new RemoteError("unreachable", node, host, `${last?.message.replace(/^node \S+ \(\S+\): /, "")} (after ${attempts} attempt${attempts === 1 ? "" : "s"})`);
}

function dialOnce(node: string, host: string, connection: Dialable, sock: Duplex | undefined): Promise<{ client: Client; hostKey: string }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented = "";
    let mismatch = false;
    const pinned = connection.hostKey ? pinnedBlob(connection.hostKey) : undefined;
    const config: ConnectConfig = {
      host: connection.host,
      port: connection.port,
      username: connection.user,
      password: connection.password,
      privateKey: connection.privateKey,
      passphrase: connection.privateKeyPassword,
      agent: connection.agentSocketPath,
      sock,
      readyTimeout: readyTimeoutMs(connection.perDialTimeout),
      keepaliveInterval: 10_000,
      hostVerifier: (key: Buffer) => {
        presented = formatHostKey(key);
        mismatch = pinned !== undefined && !pinned.equals(key);
        return !mismatch;
      },
    };
    let settled = false;
    client.once("ready", () => {
      settled = true;
      resolve({ client, hostKey: presented });
    });
    // ssh2 may emit several errors (and more after "ready", when a link drops): keep a listener
    // for the client's whole life so none is left unhandled; the first one before ready decides.
    client.on("error", (error: Error & { level?: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      if (mismatch) {
        reject(hostKeyMismatch(node, host, connection.hostKey ?? "", presented));
      } else if (error.level === "client-authentication") {
        reject(new RemoteError("auth", node, host, `authentication refused for user ${connection.user}: ${error.message}`));
      } else {
        reject(new RemoteError("unreachable", node, host, `cannot connect: ${error.message}`));
      }
    });
    client.connect(config);
  });
}
