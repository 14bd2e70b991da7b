import { describeOp, type SyncPlan } from "../fabric";
import type { Inspection } from "./contract";

/** What the node should hold for an interface, as recorded when it was last applied. */
export interface ExpectedFiles {
  /** {@link configDigest} of the rendered config. */
  readonly digest: string;
  /** {@link stanzaDigest} of the ifupdown2 stanza (ifupdown2 mode only). */
  readonly stanzaDigest?: string;
  /** The interface's public key, from its key resource. */
  readonly publicKey?: string;
}

/**
 * How the node differs from the declaration, one readable line per difference (empty when in
 * sync): its key and files, then every step of the plan that would bring the running interface
 * back (the same {@link planSync} that `up` executes, so "no drift" and "nothing to do" agree).
 */
export function driftOf(found: Inspection, expected: ExpectedFiles, plan: SyncPlan): string[] {
  const drift: string[] = [];
  if (!found.keyPresent) drift.push("the private key is missing on the node");
  else if (expected.publicKey && found.publicKey !== expected.publicKey) drift.push(`the key on the node now has public key ${found.publicKey}, not ${expected.publicKey}`);
  if (found.configDigest === undefined) drift.push("the config file is missing");
  else if (found.configIsOurs === false) drift.push("the config file was replaced by one we did not write");
  else if (found.configDigest !== expected.digest) drift.push("the config file was changed on the node");
  if (expected.stanzaDigest !== undefined && found.stanzaDigest !== expected.stanzaDigest) drift.push("the ifupdown2 stanza is missing or was changed");
  return [...drift, ...plan.refusals, ...plan.ops.map(describeOp), ...plan.notes];
}
