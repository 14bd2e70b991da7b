import { describeOp, type SyncPlan } from "./plan";
import { stalePairKeyFiles, type Inspection } from "./contract";

/** What the node should hold for an interface, as recorded when it was last applied. */
export interface ExpectedFiles {
  /** {@link configDigest} of the rendered config. */
  readonly digest: string;
  /** {@link stanzaDigest} of the ifupdown2 stanza (ifupdown2 mode only). */
  readonly stanzaDigest?: string;
  /** The interface's public key, from its key resource. */
  readonly publicKey?: string;
  /** The digest of the follower of endpoint names the files start (refresherDigest in contract.ts); undefined: none. */
  readonly refresherDigest?: string;
  /** The pair key files the config names (declaredPairKeyFiles in contract.ts). */
  readonly pairKeyFiles: readonly string[];
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
  if (found.refresherDigest !== expected.refresherDigest) {
    drift.push(expected.refresherDigest === undefined ? "the follower of endpoint names is still on the node" : "the follower of endpoint names is missing or was changed");
  }
  for (const file of stalePairKeyFiles(found, expected.pairKeyFiles)) drift.push(`the pair key file ${file} of no peering is still on the node`);
  return [...drift, ...plan.refusals, ...plan.ops.map(describeOp), ...plan.notes];
}

/**
 * How the link holding a node's own addresses differs from its stanza (empty when in sync): the
 * file, and, when the stanza is brought live, the link and its addresses (`addresses` with prefix).
 */
export function addressDriftOf(found: Inspection, expected: { readonly stanzaDigest: string; readonly addresses: readonly string[]; readonly live: boolean }): string[] {
  const drift: string[] = [];
  if (found.stanzaDigest === undefined) drift.push("the ifupdown2 stanza of the node's address is missing");
  else if (found.stanzaDigest !== expected.stanzaDigest) drift.push("the ifupdown2 stanza of the node's address was changed");
  if (!expected.live) return drift;
  if (!found.live.link) return [...drift, "the link of the node's address is missing"];
  if (!found.live.link.up) drift.push("the link of the node's address is down");
  for (const address of expected.addresses) if (!found.live.addresses.includes(address)) drift.push(`address ${address} is missing`);
  for (const address of found.live.addresses) if (!expected.addresses.includes(address)) drift.push(`address ${address} is not declared`);
  return drift;
}
