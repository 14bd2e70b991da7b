import type { DeclaredInterface } from "../fabric";
import type { InterfaceInspection } from "./node";

/**
 * How the node differs from what we wrote, one readable line per difference (empty when in
 * sync). The file can say one thing and the running interface another, so both are compared:
 * the file by digest, the interface against the declared config.
 */
export function driftOf(
  declared: DeclaredInterface,
  expected: { readonly digest: string; readonly publicKey?: string; readonly running: boolean },
  found: InterfaceInspection,
): string[] {
  const drift: string[] = [];
  if (!found.keyPresent) drift.push("the private key is missing on the node");
  else if (expected.publicKey && found.publicKey !== expected.publicKey) drift.push(`the key on the node now has public key ${found.publicKey}, not ${expected.publicKey}`);
  if (found.configDigest === undefined) drift.push("the config file is missing");
  else if (found.configIsOurs === false) drift.push("the config file was replaced by one we did not write");
  else if (found.configDigest !== expected.digest) drift.push("the config file was changed on the node");
  if (!expected.running) return drift;
  const running = found.running;
  if (!running) return [...drift, "the interface is down"];
  if (declared.listenPort !== undefined && running.listenPort !== declared.listenPort) drift.push(`it listens on port ${running.listenPort ?? "(none)"}, not ${declared.listenPort}`);
  for (const address of declared.addresses) if (!running.addresses.includes(address)) drift.push(`address ${address} is not on the interface`);
  const live = new Map(running.peers.map((peer) => [peer.publicKey, peer]));
  for (const peer of declared.peers) {
    const runningPeer = live.get(peer.publicKey);
    live.delete(peer.publicKey);
    if (!runningPeer) {
      drift.push(`peer ${peer.publicKey} is missing on the running interface`);
      continue;
    }
    const want = [...peer.allowedIps].sort().join(", ");
    const have = [...runningPeer.allowedIps].sort().join(", ");
    if (want !== have) drift.push(`peer ${peer.publicKey} has AllowedIPs ${have || "(none)"}, not ${want}`);
  }
  for (const key of live.keys()) drift.push(`the running interface has a peer ${key} that is not declared`);
  return drift;
}
