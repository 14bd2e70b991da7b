import { Cidr, isWgKey, keepaliveOn, parseEndpoint, type WgKey } from "../model";
import type { PeerView } from "./resolve";
import { isPairKeyFile } from "./paths";

/**
 * A [Peer] section of the wg(8) config format, both ways: written by every renderer, read back
 * (checked) before a config is sent. The format's peer keys are named here only.
 */

/**
 * A pair key's place in a [Peer] section: this comment, naming its file in the key folder and
 * its fingerprint. The node puts the key itself on the line below (apply.sh), so the rendered
 * config, state and every log hold the fingerprint only; wg(8) and wg-quick skip the comment.
 */
export const PAIR_KEY_MARKER = "# PresharedKey made on the nodes: ";

/** A pair key as a [Peer] section names it: its file in the key folder and its fingerprint. */
export interface PairKeyRef {
  readonly file: string;
  readonly fingerprint: string;
}

/** The marker line of a pair key (no newline). */
export function pairKeyMarkerLine(ref: PairKeyRef): string {
  return `${PAIR_KEY_MARKER}${ref.file} ${ref.fingerprint}`;
}

/** A peer as an interface's config declares it: what the running interface must hold. */
export interface DeclaredPeer {
  readonly publicKey: WgKey;
  readonly presharedKey?: WgKey;
  /** A pre-shared key made on the nodes, by file (never with {@link presharedKey}). */
  readonly pairKey?: PairKeyRef;
  /** `host:port` as written (brackets around IPv6); a hostname is resolved on the node. */
  readonly endpoint?: string;
  /** Canonical networks (`10.0.0.0/24`, `fd00::/64`, host routes as /32 or /128), each once. */
  readonly allowedIps: readonly string[];
  readonly persistentKeepalive?: number;
}

/** A [Peer] section being read: its AllowedIPs lines add up, as in wg(8). */
export type PeerDraft = { -readonly [K in keyof DeclaredPeer]?: DeclaredPeer[K] } & { allowedIps: string[] };

/** Thrown for a config that is not one we could have rendered; nothing has been sent. */
export class DeclaredConfigError extends Error {
  constructor(detail: string) {
    super(`the config does not parse: ${detail}`);
    this.name = "DeclaredConfigError";
  }
}

/** A CIDR of a config, canonical (its network when `route`); `what` names it in the error. */
export function cidrOf(text: string, what: string, route: boolean): string {
  const parsed = Cidr.parse(text);
  if (typeof parsed === "string") throw new DeclaredConfigError(`${what}: ${parsed}`);
  return (route ? parsed.network() : parsed).toString();
}

/** A whole number of a config from `min` to `max`; `what` names it in the error. */
export function numberOf(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new DeclaredConfigError(`${what} "${text}" is not a number from ${min} to ${max}`);
  return Number(text);
}

function keyOf(text: string, what: string): WgKey {
  // the value may be a pre-shared key: never quote it
  if (!isWgKey(text)) throw new DeclaredConfigError(`${what} is not a WireGuard key`);
  return text;
}

/**
 * One [Peer] section: the `routed` AllowedIPs before the endpoint and `behind` after it (the
 * RFC's order; Proxmox VE writes them all before), the keepalive when on.
 */
export function writePeerSection(peer: PeerView, publicKey: WgKey, routed: readonly Cidr[], behind: readonly Cidr[]): string {
  let text = `[Peer]\nPublicKey = ${publicKey}\n`;
  if (peer.presharedKey) text += `PresharedKey = ${peer.presharedKey}\n`;
  else if (peer.pairKey) text += `${pairKeyMarkerLine(peer.pairKey)}\n`;
  if (routed.length > 0) text += `AllowedIPs = ${routed.map(String).join(", ")}\n`;
  if (peer.endpoint) text += `Endpoint = ${peer.endpoint}\n`;
  if (behind.length > 0) text += `AllowedIPs = ${behind.map(String).join(", ")}\n`;
  const keepalive = keepaliveOn(peer.persistentKeepalive);
  if (keepalive !== undefined) text += `PersistentKeepalive = ${keepalive}\n`;
  return text;
}

/** The pair key a marker line names, or undefined for any other line. */
export function readPairKeyMarker(line: string, where: string): PairKeyRef | undefined {
  if (!line.startsWith(PAIR_KEY_MARKER)) return undefined;
  const [file, fingerprint, ...rest] = line.slice(PAIR_KEY_MARKER.length).trim().split(" ");
  if (!file || !isPairKeyFile(file) || !fingerprint || !/^[0-9a-f]{16}$/.test(fingerprint) || rest.length > 0) throw new DeclaredConfigError(`${where}: a pair key line must name its file and fingerprint`);
  return { file, fingerprint };
}

/** Reads one `key = value` line (key lower-cased) of a [Peer] section into `peer`; false for a key the format has not. */
export function readPeerKey(peer: PeerDraft, key: string, value: string, where: string): boolean {
  if (key === "publickey") peer.publicKey = keyOf(value, `${where}: PublicKey`);
  else if (key === "presharedkey") peer.presharedKey = keyOf(value, `${where}: PresharedKey`);
  else if (key === "endpoint") {
    const parsed = parseEndpoint(value);
    if (typeof parsed === "string" || parsed.port === undefined) throw new DeclaredConfigError(`${where}: Endpoint "${value}" is not host:port`);
    peer.endpoint = value;
  } else if (key === "allowedips") peer.allowedIps.push(...value.split(",").map((item) => item.trim()).filter(Boolean).map((item) => cidrOf(item, `${where}: AllowedIPs`, true)));
  else if (key === "persistentkeepalive") peer.persistentKeepalive = value === "off" ? undefined : keepaliveOn(numberOf(value, `${where}: PersistentKeepalive`, 0, 65535));
  else return false;
  return true;
}
