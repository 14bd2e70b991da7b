import { createHash } from "node:crypto";
import { APPLY_MODES, ifnameProblem, isWgKey, keyDirSchema, type ApplyMode, type WgKey } from "../model";
import { RemoteError } from "./errors";
import { ENSURE_KEY, INSPECT, INSTALL, managedMarker, REMOVE, REMOVE_KEY } from "./scripts";
import { scriptCommand } from "./shell";
import type { CommandResult, SshSession } from "./ssh";

/** One peer of a running interface, from `wg show dump` (pre-shared key left on the node). */
export interface PeerStatus {
  readonly publicKey: string;
  readonly endpoint?: string;
  readonly allowedIps: readonly string[];
  /** Seconds since the epoch; 0 when no handshake yet. */
  readonly latestHandshake: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly persistentKeepalive?: number;
}

/** The running interface as the kernel (or wireguard-go) sees it. */
export interface RunningInterface {
  readonly listenPort?: number;
  readonly publicKey?: string;
  readonly addresses: readonly string[];
  readonly peers: readonly PeerStatus[];
}

/** What is on a node for one interface, for drift detection. */
export interface InterfaceInspection {
  readonly keyPresent: boolean;
  /** Derived from the key file on the node. */
  readonly publicKey?: string;
  /** sha256 of the config file without its PrivateKey line; undefined when there is no file. */
  readonly configDigest?: string;
  /** False when a config file exists that we did not write. */
  readonly configIsOurs?: boolean;
  /** Undefined when the interface is down. */
  readonly running?: RunningInterface;
}

/** One interface on a node, and who it belongs to. */
export interface InterfaceTarget {
  readonly keyDir: string;
  readonly iface: string;
  /** `fabric/node/iface` of the resource managing it (see {@link managedMarker}). */
  readonly owner: string;
}

/** The digest {@link InterfaceInspection.configDigest} has when the node holds exactly `rendered` for `owner`. */
export function configDigest(rendered: string, owner: string): string {
  return createHash("sha256").update(`${managedMarker(owner)}\n${rendered}`).digest("hex");
}

const OWNER_PATTERN = /^[A-Za-z0-9_=+.\/-]{1,200}$/;

function checkIface(node: string, host: string, iface: string): void {
  const problem = ifnameProblem(iface);
  if (problem) throw new RemoteError("invalid-argument", node, host, `interface name ${problem}; nothing was run`);
}

function checkKeyDir(node: string, host: string, keyDir: string): void {
  const result = keyDirSchema.safeParse(keyDir);
  if (!result.success) throw new RemoteError("invalid-argument", node, host, `key dir "${keyDir}" ${result.error.issues[0]?.message}; nothing was run`);
}

function checkMode(node: string, host: string, mode: string): void {
  if (!(APPLY_MODES as readonly string[]).includes(mode)) {
    throw new RemoteError("invalid-argument", node, host, `apply mode "${mode}" is not one of ${APPLY_MODES.join(", ")}; nothing was run`);
  }
}

/**
 * The node-side operations of one internal node, over an open SSH session. Each validates its
 * arguments before anything is sent, and each is idempotent.
 */
export class RemoteNode {
  constructor(private readonly session: SshSession) {}

  get node(): string {
    return this.session.node;
  }

  private async run(what: string, script: string, args: readonly string[], stdin?: string): Promise<CommandResult> {
    const result = await this.session.exec(scriptCommand(script, args), stdin);
    if (result.code === 127 && /is not installed/.test(result.stderr)) {
      throw new RemoteError("missing-tools", this.node, this.session.host, result.stderr.trim());
    }
    if (result.code !== 0) {
      throw new RemoteError("command", this.node, this.session.host, `${what} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
    }
    return result;
  }

  /** Validates every argument before anything is sent; returns them in script order. */
  private args(target: InterfaceTarget, mode?: string): string[] {
    const { node, host } = this.session;
    checkIface(node, host, target.iface);
    checkKeyDir(node, host, target.keyDir);
    if (!OWNER_PATTERN.test(target.owner)) throw new RemoteError("invalid-argument", node, host, `owner "${target.owner}" is not a fabric/node/iface name; nothing was run`);
    if (mode === undefined) return [target.keyDir, target.iface, target.owner];
    checkMode(node, host, mode);
    return [target.keyDir, target.iface, mode, target.owner];
  }

  /** Generates the interface's key on the node unless one exists; returns only the public key. */
  async ensureKey(target: InterfaceTarget): Promise<WgKey> {
    const { stdout } = await this.run(`creating the key of ${target.iface}`, ENSURE_KEY, this.args(target));
    const key = stdout.trim();
    if (!isWgKey(key)) throw new RemoteError("command", this.node, this.session.host, `wg pubkey printed "${key}", not a key`);
    return key;
  }

  /** Deletes the interface's key files, unless another owner has adopted them. */
  async removeKey(target: InterfaceTarget): Promise<void> {
    await this.run(`removing the key of ${target.iface}`, REMOVE_KEY, this.args(target));
  }

  /**
   * Writes `rendered` (no PrivateKey line: the node inserts its own) and brings it live per
   * `mode`, in one command. `stanza` is the ifupdown2 stanza (ifupdown2 mode only).
   * Returns whether anything changed on the node.
   */
  async install(target: InterfaceTarget, mode: ApplyMode, rendered: string, stanza = ""): Promise<{ changed: boolean }> {
    const args = this.args(target, mode);
    if (/^\s*PrivateKey\s*=/m.test(rendered)) {
      throw new RemoteError("invalid-argument", this.node, this.session.host, "a rendered config must not carry a PrivateKey; the node adds its own");
    }
    const body = Buffer.from(rendered, "utf8");
    const { stdout } = await this.run(`applying ${target.iface}`, INSTALL, args, `${body.length}\n${rendered}${stanza}`);
    return { changed: /changed=1/.test(stdout) };
  }

  /** Takes the interface down and removes the config files we wrote (keys stay: see removeKey). */
  async remove(target: InterfaceTarget, mode: ApplyMode): Promise<void> {
    await this.run(`removing ${target.iface}`, REMOVE, this.args(target, mode));
  }

  /** What is on the node now: key, config digest, and the running interface. */
  async inspect(target: InterfaceTarget, mode: ApplyMode): Promise<InterfaceInspection> {
    const { stdout } = await this.run(`inspecting ${target.iface}`, INSPECT, this.args(target, mode));
    return parseInspection(stdout);
  }

  /** The running interface's peers and counters, or undefined when it is down. */
  async status(target: InterfaceTarget, mode: ApplyMode): Promise<RunningInterface | undefined> {
    return (await this.inspect(target, mode)).running;
  }
}

/** Parses the tab-separated lines INSPECT prints. */
export function parseInspection(text: string): InterfaceInspection {
  let keyPresent = false;
  let publicKey: string | undefined;
  let digest: string | undefined;
  let ours: boolean | undefined;
  let up = false;
  let listenPort: number | undefined;
  let runningKey: string | undefined;
  const addresses: string[] = [];
  const peers: PeerStatus[] = [];
  for (const line of text.split("\n")) {
    const [tag, ...fields] = line.split("\t");
    const value = fields[0] ?? "";
    if (tag === "key") keyPresent = value === "present";
    else if (tag === "pub") publicKey = value;
    else if (tag === "digest") digest = value;
    else if (tag === "ours") ours = value === "yes";
    else if (tag === "up") up = value === "yes";
    else if (tag === "listen") listenPort = value && value !== "0" ? Number(value) : undefined;
    else if (tag === "public") runningKey = value || undefined;
    else if (tag === "addr") addresses.push(value);
    else if (tag === "peer") {
      const [key, endpoint, allowed, handshake, rx, tx, keepalive] = fields;
      peers.push({
        publicKey: key ?? "",
        endpoint: endpoint && endpoint !== "(none)" ? endpoint : undefined,
        allowedIps: allowed && allowed !== "(none)" ? allowed.split(",") : [],
        latestHandshake: Number(handshake ?? 0),
        rxBytes: Number(rx ?? 0),
        txBytes: Number(tx ?? 0),
        persistentKeepalive: keepalive && keepalive !== "off" ? Number(keepalive) : undefined,
      });
    }
  }
  return {
    keyPresent,
    publicKey,
    configDigest: digest,
    configIsOurs: ours,
    running: up ? { listenPort, publicKey: runningKey, addresses, peers } : undefined,
  };
}
