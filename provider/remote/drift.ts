import type { InterfaceView, PublicKeys } from "../fabric";
import type { InterfaceInspection } from "./node";

/**
 * How the node differs from what the fabric declares, one readable line per difference
 * (empty when in sync). The file can say one thing and the running interface another,
 * so both are compared.
 */
export function driftOf(view: InterfaceView, publicKeys: PublicKeys, expectedDigest: string | undefined, found: InterfaceInspection): string[] {
  const drift: string[] = [];
  if (!found.keyPresent) drift.push("the private key is missing on the node");
  const ownKey = publicKeys.get(view.id);
  if (found.publicKey && ownKey && found.publicKey !== ownKey) drift.push(`the key on the node has public key ${found.publicKey}, not ${ownKey}`);
  if (expectedDigest !== undefined && found.configDigest !== expectedDigest) {
    drift.push(found.configDigest === undefined ? "the config file is missing" : "the config file was changed on the node");
  }
  if (view.applyMode === "none") return drift;
  const running = found.running;
  if (!running) {
    drift.push(`interface ${view.iface} is down`);
    return drift;
  }
  if (view.listenPort !== undefined && running.listenPort !== view.listenPort) drift.push(`listens on ${running.listenPort ?? "no port"}, not ${view.listenPort}`);
  if (view.address && !running.addresses.includes(view.address.toString())) drift.push(`address ${view.address.toString()} is not on the interface`);
  const runningPeers = new Map(running.peers.map((peer) => [peer.publicKey, peer]));
  const declared = new Set<string>();
  for (const peer of view.peers) {
    const key = peer.key.kind === "external" ? peer.key.key : publicKeys.get(peer.key.id);
    if (!key) continue;
    declared.add(key);
    const live = runningPeers.get(key);
    if (!live) {
      drift.push(`peer ${peer.label} is missing on the running interface`);
      continue;
    }
    const want = [...(peer.hostRoute ? [peer.hostRoute] : []), ...peer.allowedIps].map(String).sort();
    if (want.join(",") !== [...live.allowedIps].sort().join(",")) drift.push(`peer ${peer.label} has AllowedIPs ${live.allowedIps.join(", ") || "(none)"}, not ${want.join(", ")}`);
  }
  for (const key of runningPeers.keys()) if (!declared.has(key)) drift.push(`the running interface has an undeclared peer ${key}`);
  return drift;
}
