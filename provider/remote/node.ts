import { parseDeclaredFiles, planSync, proxmoxAddressConflicts, proxmoxConflicts, type DeclaredInterface, type SyncPlan } from "./plan";
import { DeclaredConfigError } from "../fabric";
import { APPLY_MODES, writesStanza, ifnameProblem, isWgKey, keyDirSchema, ownerSchema, type ApplyMode, type WgKey } from "../model";
import {
  configDigest,
  declaredPairKeyFiles,
  encodeInspectRequest,
  endpointRefreshScript,
  refresherDigest,
  encodePlan,
  encodeRecords,
  nodeScript,
  parseInspection,
  PVE_CHECK_EXIT,
  scriptArgs,
  stalePairKeyFiles,
  stanzaDigest,
  type Inspection,
  type InterfaceTarget,
  type NodeScript,
} from "./contract";
import { addressDriftOf } from "./drift";
import { RemoteError } from "./errors";
import { scriptCommand } from "./shell";
import type { CommandResult, SshSession } from "./ssh";

/** What pair-keys.sh does. */
type PairKeyOp = "digest" | "make" | "put" | "drop";
/** What pair-keys.sh reports of one file: the key (make) or its fingerprint, and when the file was written (Unix seconds, the node's clock). */
export interface PairKeyFound {
  readonly value: string;
  readonly made: number;
}
const PAIR_KEY_OP_WHAT: Record<PairKeyOp, string> = { digest: "reading the", make: "making", put: "writing", drop: "removing" };

/** What {@link RemoteNode.sync} did on the node. */
export interface SyncResult {
  /** True when a step ran or a file was rewritten. */
  readonly changed: boolean;
  /** The steps that ran (empty when the node was in sync). */
  readonly plan: SyncPlan;
  /** The commands the node ran, one a line, as wg-quick logs them. */
  readonly log: string;
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

  /** The host key the node presented on this connection. */
  get hostKey(): string {
    return this.session.hostKey;
  }

  private fail(kind: "invalid-argument" | "command", detail: string): never {
    throw new RemoteError(kind, this.node, this.session.host, detail);
  }

  /**
   * Runs a node script; an exit status other than 0 (or one of `answers`) is an error naming what
   * failed. `secretStdout`: what it prints is never quoted (it holds keys).
   */
  private async run(what: string, script: NodeScript, target: InterfaceTarget, mode: ApplyMode, stdin?: string, answers: readonly number[] = [], secretStdout = false): Promise<CommandResult> {
    const result = await this.session.exec(scriptCommand(nodeScript(script), this.args(target, mode)), stdin, what);
    if (result.code === 127 && /is not installed/.test(result.stderr)) {
      throw new RemoteError("missing-tools", this.node, this.session.host, result.stderr.trim());
    }
    if (result.code !== 0 && !answers.includes(result.code)) {
      // the scripts end with one line saying what failed (a failed step with its own output)
      const detail = result.stderr.split("\n").filter((line) => line.trim() && !line.startsWith("[#] ")).pop();
      this.fail("command", `${what} failed (exit ${result.code}): ${detail ?? (secretStdout ? "no message" : result.stdout.trim())}`);
    }
    return result;
  }

  /** Validates every argument before anything is sent; the node checks them again. */
  private args(target: InterfaceTarget, mode: ApplyMode): string[] {
    const ifname = ifnameProblem(target.iface);
    if (ifname) this.fail("invalid-argument", `interface name ${ifname}; nothing was run`);
    for (const dir of [target.keyDir, ...(target.from ? [target.from.keyDir] : [])]) {
      const keyDir = keyDirSchema.safeParse(dir);
      if (!keyDir.success) this.fail("invalid-argument", `key dir "${dir}" ${keyDir.error.issues[0]?.message}; nothing was run`);
    }
    if (!ownerSchema.safeParse(target.owner).success) this.fail("invalid-argument", `owner "${target.owner}" is not a fabric/node/iface name; nothing was run`);
    if (!(APPLY_MODES as readonly string[]).includes(mode)) this.fail("invalid-argument", `apply mode "${mode}" is not one of ${APPLY_MODES.join(", ")}; nothing was run`);
    return scriptArgs(target, mode);
  }

  /**
   * Generates the interface's key on the node unless one exists (or moves it from `target.from`);
   * returns only the public key. `mode` says where the interface's config lives: one someone else
   * wrote there is refused, or with `adopt` its key is kept. On a node with Proxmox VE's own
   * fabrics, an interface of theirs with the same name is refused first, before anything changes
   * (one command more there, none elsewhere).
   */
  async ensureKey(target: InterfaceTarget, mode: ApplyMode = "none"): Promise<WgKey> {
    const what = `creating the key of ${target.iface}`;
    const first = await this.run(what, "ensure-key", target, mode, "", [PVE_CHECK_EXIT]);
    let stdout = first.stdout;
    if (first.code === PVE_CHECK_EXIT) {
      const conflicts = proxmoxConflicts(parseInspection(stdout).proxmox, target);
      if (conflicts.length > 0) this.fail("invalid-argument", `${target.iface}: ${conflicts.join("; ")}; nothing was changed`);
      ({ stdout } = await this.run(what, "ensure-key", target, mode, "checked"));
    }
    const key = stdout.trim();
    if (!isWgKey(key)) this.fail("command", `wg pubkey printed "${key}", not a key`);
    return key;
  }

  /** Deletes the interface's key files, unless another owner has adopted them. */
  async removeKey(target: InterfaceTarget): Promise<void> {
    await this.run(`removing the key of ${target.iface}`, "remove-key", target, "none");
  }

  /** What is on the node now: key, files and the running interface. `hosts` (stdin) names the endpoint hosts to resolve. */
  async inspect(target: InterfaceTarget, mode: ApplyMode, hosts = ""): Promise<Inspection> {
    const { stdout } = await this.run(`inspecting ${target.iface}`, "inspect", target, mode, hosts);
    return parseInspection(stdout);
  }

  /**
   * What is on the node, and the plan that makes it match `rendered` and `stanza` (empty when in
   * sync): one inspection, which resolves the endpoints the config names. `publicKey` is the
   * key the interface should have (default: the one on the node). An interface name or listen
   * port that Proxmox VE's own fabrics use on the node is a refusal of the plan.
   */
  async survey(target: InterfaceTarget, mode: ApplyMode, rendered: string, stanza: string, publicKey?: string): Promise<{ inspection: Inspection; plan: SyncPlan; declared: DeclaredInterface }> {
    const declared = this.declared(rendered, stanza);
    const inspection = await this.inspect(target, mode, encodeInspectRequest(declared));
    const plan = planSync(declared, inspection.live, { mode, publicKey: publicKey ?? inspection.publicKey });
    const conflicts = proxmoxConflicts(inspection.proxmox, { ...target, listenPort: declared.listenPort });
    return { inspection, plan: conflicts.length > 0 ? { ...plan, refusals: [...conflicts, ...plan.refusals] } : plan, declared };
  }

  private declared(rendered: string, stanza: string) {
    try {
      return parseDeclaredFiles(rendered, stanza);
    } catch (error) {
      if (error instanceof DeclaredConfigError) this.fail("invalid-argument", `${error.message}; nothing was sent`);
      throw error;
    }
  }

  /**
   * Makes the node hold `rendered` (no PrivateKey line: the node inserts its own) and the live
   * interface match it, per `mode`: one command to inspect, and one to apply the plan and write
   * the files when anything differs. `stanza` is the ifupdown2 stanza (ifupdown2 and proxmox modes).
   */
  async sync(target: InterfaceTarget, mode: ApplyMode, rendered: string, stanza = ""): Promise<SyncResult> {
    const { inspection, plan, declared } = await this.survey(target, mode, rendered, stanza);
    if (plan.refusals.length > 0) this.fail("invalid-argument", `${target.iface}: ${plan.refusals.join("; ")}; nothing was changed`);
    const filesMatch =
      inspection.configDigest === configDigest(rendered, target.owner) &&
      (!writesStanza(mode) || inspection.stanzaDigest === stanzaDigest(stanza, target.owner)) &&
      inspection.refresherDigest === refresherDigest(declared) &&
      stalePairKeyFiles(inspection, declaredPairKeyFiles(declared)).length === 0;
    if (plan.ops.length === 0 && filesMatch) return { changed: false, plan, log: "" };
    const { plan: steps, presharedKeys } = encodePlan(plan.ops, target.iface);
    const records: [string, string][] = [["config", rendered], ["stanza", stanza], ["plan", steps]];
    if (declared.endpointRefresh) records.push(["refresher", endpointRefreshScript()]);
    presharedKeys.forEach((key, index) => records.push([`psk.${index}`, key]));
    const { stdout, stderr } = await this.run(`applying ${target.iface}`, "apply", target, mode, encodeRecords(records));
    return { changed: /changed=1/.test(stdout), plan, log: stderr };
  }

  /** What is on the node for the link that holds its own addresses: its stanza's digest, the link and its addresses. */
  async inspectAddress(target: InterfaceTarget, mode: ApplyMode): Promise<Inspection> {
    const { stdout } = await this.run(`inspecting ${target.iface}`, "node-address", target, mode, "");
    return parseInspection(stdout);
  }

  /**
   * Makes the link that holds the node's own addresses match `stanza` (see
   * renderNodeAddressStanza; `addresses` are the ones it holds, with prefix): one command to
   * inspect, and one to write the stanza and bring the link to it when anything differs.
   */
  async placeAddress(target: InterfaceTarget, mode: ApplyMode, stanza: string, addresses: readonly string[]): Promise<{ changed: boolean }> {
    const found = await this.inspectAddress(target, mode);
    const conflicts = proxmoxAddressConflicts(found.proxmox, target.iface);
    if (conflicts.length > 0) this.fail("invalid-argument", `${target.iface}: ${conflicts.join("; ")}; nothing was changed`);
    if (addressDriftOf(found, { stanzaDigest: stanzaDigest(stanza, target.owner), addresses, live: mode !== "none" }).length === 0) return { changed: false };
    const { stdout } = await this.run(`placing the node's address on ${target.iface}`, "node-address", target, mode, encodeRecords([["stanza", stanza]]));
    return { changed: /changed=1/.test(stdout) };
  }

  /** Takes the link that holds the node's own addresses down and removes it and its stanza. */
  async removeAddress(target: InterfaceTarget, mode: ApplyMode): Promise<void> {
    await this.run(`removing ${target.iface}`, "node-address", target, mode, encodeRecords([["stanza", ""]]));
  }

  /**
   * The pair keys of one interface (see pair-keys.sh): `digest` reports those there (each key's
   * sha256, of which the caller makes the pair's fingerprint), `make`
   * makes new ones and returns them (in memory only: they go to the other end by `put`), `drop`
   * deletes them. `files` are pairs of file and pair name; what is found is by file, with the
   * file's modification time on the node (Unix seconds: when its key was made).
   */
  async pairKeys(target: InterfaceTarget, op: "digest" | "make" | "drop", files: readonly (readonly [string, string])[]): Promise<Map<string, PairKeyFound>>;
  async pairKeys(target: InterfaceTarget, op: "put", files: readonly (readonly [string, string])[], keys: readonly string[]): Promise<Map<string, PairKeyFound>>;
  async pairKeys(target: InterfaceTarget, op: PairKeyOp, files: readonly (readonly [string, string])[], keys: readonly string[] = []): Promise<Map<string, PairKeyFound>> {
    if (files.length === 0) return new Map();
    const records: [string, string][] = [
      ["op", op],
      ["files", files.map(([file, pair]) => `${file} ${pair}\n`).join("")],
    ];
    if (op === "put") records.push(["keys", keys.map((key) => `${key}\n`).join("")]);
    const what = `${PAIR_KEY_OP_WHAT[op]} pair keys of ${target.iface}`;
    const { stdout } = await this.run(what, "pair-keys", target, "none", encodeRecords(records), [], op === "make");
    const tag = op === "make" ? "key" : "digest";
    const found = new Map<string, PairKeyFound>();
    for (const line of stdout.split("\n")) {
      const [kind, file, value, made] = line.split("\t");
      if (kind === tag && file && value && /^\d+$/.test(made ?? "")) found.set(file, { value, made: Number(made) });
    }
    if (op === "make" && (found.size !== files.length || [...found.values()].some(({ value }) => !isWgKey(value)))) this.fail("command", `${what}: the node did not print a key for each file`);
    return found;
  }

  /** Takes the interface down, disables its boot unit and removes the files we wrote (keys stay: see removeKey). */
  async remove(target: InterfaceTarget, mode: ApplyMode): Promise<void> {
    await this.run(`removing ${target.iface}`, "remove", target, mode);
  }
}
