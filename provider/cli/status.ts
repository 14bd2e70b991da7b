import { isNamedEndpoint, pairId, pairNotCheckedPrefix } from "../fabric";
import { parseEndpoint, type Endpoint } from "../model";
import type { StackInterface } from "./stack-state";

/**
 * WireGuard refuses a session's keys 180 s after its handshake (REJECT_AFTER_TIME): a peer whose
 * last handshake is older has no working session, unless traffic brings a new one.
 */
export const DEFAULT_MAX_HANDSHAKE_AGE = 180;

/**
 * A peering's pre-shared key: none, the user's own (a Pulumi secret), or a pair key made on the
 * nodes, with whether both ends held the same key at the last refresh and its age in seconds.
 */
/** A peering's pre-shared key; a pair key's `agree` is undefined when the last refresh could not ask both ends. */
export type PresharedKeyStatus = { readonly kind: "none" | "user" } | { readonly kind: "pair"; readonly agree?: boolean; readonly age?: number };

/** One declared peering of a managed interface, with what the last refresh saw of it. */
export interface PeeringStatus {
  readonly fabric: string;
  /** `node/iface`. */
  readonly interface: string;
  /** The peer's label: `node/iface`, or an external node's name. */
  readonly peer: string;
  readonly publicKey: string;
  /** Where WireGuard last saw the peer, else the declared endpoint. */
  readonly endpoint?: string;
  /** The declared endpoint when it names its host (`pve2.example.net:51820`): the node follows the name. */
  readonly endpointName?: string;
  /** What that name resolved to on the node at the last refresh, in the resolver's order (WireGuard takes the first). */
  readonly resolvesTo?: readonly string[];
  /** The interface's state at the last refresh (`up`, `down`, `written`), or `unknown`. */
  readonly state: string;
  /** Unix seconds of the latest handshake; absent when there was none. */
  readonly latestHandshake?: number;
  /** Seconds since it, at the time of the report. */
  readonly handshakeAge?: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly presharedKey: PresharedKeyStatus;
  /** What refresh found different on the node for this interface and this peer (and its pair key). */
  readonly drift: readonly string[];
  /** A handshake no older than the threshold on an interface that is up. */
  readonly healthy: boolean;
}

/** The status of every declared peering of a stack. */
export interface StatusReport {
  /** Unix seconds the ages are counted from. */
  readonly now: number;
  readonly maxHandshakeAge: number;
  readonly peerings: readonly PeeringStatus[];
  /** True when every peering is healthy (and there is at least one). */
  readonly healthy: boolean;
}

/**
 * Joins each interface's declared peers with what refresh recorded of them. A drift line that
 * names a declared peer's public key belongs to that peer's row; any other drift line concerns
 * the whole interface (or its node's address link) and is on each of its rows.
 */
export function statusReport(interfaces: readonly StackInterface[], now: number, maxHandshakeAge = DEFAULT_MAX_HANDSHAKE_AGE): StatusReport {
  const peerings: PeeringStatus[] = [];
  for (const iface of interfaces) {
    const live = new Map((iface.status?.peers ?? []).map((peer) => [peer.publicKey, peer]));
    const declaredKeys = Object.values(iface.peers).map((peer) => peer.publicKey);
    const drift = iface.drift ?? [];
    // the node's address link concerns every peering of the node, as the interface's own lines do
    const interfaceDrift = [...(iface.nodeDrift ?? []), ...drift.filter((line) => !declaredKeys.some((key) => line.includes(key)))];
    const state = iface.status?.state ?? "unknown";
    for (const [label, declared] of Object.entries(iface.peers).sort(([a], [b]) => a.localeCompare(b))) {
      const seen = live.get(declared.publicKey);
      const latestHandshake = seen && seen.latestHandshake > 0 ? seen.latestHandshake : undefined;
      const handshakeAge = latestHandshake === undefined ? undefined : Math.max(0, now - latestHandshake);
      const pairKey = declared.pairKey ? (iface.pairKeys?.[pairId(`${iface.node}/${iface.iface}`, label)] ?? { drift: [] }) : undefined;
      const presharedKey: PresharedKeyStatus = pairKey
        ? { kind: "pair", ...agreement(pairKey.drift, pairId(`${iface.node}/${iface.iface}`, label)), ...(pairKey.made !== undefined ? { age: Math.max(0, now - pairKey.made) } : {}) }
        : { kind: declared.presharedKey === undefined ? "none" : "user" };
      peerings.push({
        fabric: iface.fabric,
        interface: `${iface.node}/${iface.iface}`,
        peer: label,
        publicKey: declared.publicKey,
        endpoint: seen?.endpoint ?? declared.endpoint,
        ...namedEndpoint(declared.endpoint, iface.status?.resolved),
        state,
        latestHandshake,
        handshakeAge,
        rxBytes: seen?.rxBytes ?? 0,
        txBytes: seen?.txBytes ?? 0,
        presharedKey,
        drift: [...interfaceDrift, ...drift.filter((line) => line.includes(declared.publicKey)), ...(pairKey?.drift ?? [])],
        healthy: state === "up" && handshakeAge !== undefined && handshakeAge <= maxHandshakeAge,
      });
    }
  }
  return { now, maxHandshakeAge, peerings, healthy: peerings.length > 0 && peerings.every((p) => p.healthy) };
}

/** A declared endpoint that names its host, and what the node resolved it to. */
function namedEndpoint(endpoint: string | undefined, resolved: Readonly<Record<string, readonly string[]>> | undefined): Pick<PeeringStatus, "endpointName" | "resolvesTo"> {
  if (!isNamedEndpoint(endpoint)) return {};
  const host = (parseEndpoint(endpoint as string) as Endpoint).host;
  return { endpointName: endpoint, ...(resolved?.[host] ? { resolvesTo: resolved[host] } : {}) };
}

/** The ENDPOINT column: a name with what it resolves to now (`pve2.example.net:51820 (198.51.100.7)`), else the address. */
export function endpointText(peering: PeeringStatus): string {
  if (peering.endpointName === undefined) return peering.endpoint ?? "-";
  return `${peering.endpointName} (${peering.resolvesTo?.length ? peering.resolvesTo.join(" ") : "does not resolve"})`;
}

/** `1.5 KiB`, `12 MiB`: binary units, one decimal below 10. */
export function humanBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** `42s`, `5m 3s`, `2h 5m`, `3d 4h`. */
export function humanAge(seconds: number): string {
  const parts: [number, string][] = [
    [Math.floor(seconds / 86400), "d"],
    [Math.floor(seconds / 3600) % 24, "h"],
    [Math.floor(seconds / 60) % 60, "m"],
    [Math.floor(seconds) % 60, "s"],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  if (first < 0) return "0s";
  return parts
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join(" ");
}

/** The handshake column: its age, or why there is none. */
export function handshakeText(peering: PeeringStatus): string {
  if (peering.state !== "up") return `interface ${peering.state}`;
  return peering.handshakeAge === undefined ? "never" : `${humanAge(peering.handshakeAge)} ago`;
}

/** Whether a pair's ends agree, from its drift lines: unknown where an end could not be asked. */
function agreement(drift: readonly string[], pair: string): { agree?: boolean } {
  return drift.some((line) => line.startsWith(pairNotCheckedPrefix(pair))) ? {} : { agree: drift.length === 0 };
}

/** The PSK column: `none`, `user's`, or a pair key's age (or that its ends differ, or were not checked). */
export function presharedKeyText(key: PresharedKeyStatus): string {
  if (key.kind !== "pair") return key.kind === "user" ? "user's" : "none";
  if (key.agree === undefined) return "? pair: not checked";
  if (!key.agree) return "! pair: ends differ";
  return key.age === undefined ? "pair" : `pair, ${humanAge(key.age)} old`;
}

/** The report as an aligned text table, then one summary line. */
export function formatStatusTable(report: StatusReport): string {
  const header = ["INTERFACE", "PEER", "ENDPOINT", "HANDSHAKE", "RX", "TX", "PSK", "DRIFT"];
  const fabrics = new Set(report.peerings.map((p) => p.fabric));
  const rows = report.peerings.map((p) => [
    fabrics.size > 1 ? `${p.fabric}: ${p.interface}` : p.interface,
    p.peer,
    endpointText(p),
    `${p.healthy ? "" : "! "}${handshakeText(p)}`,
    humanBytes(p.rxBytes),
    humanBytes(p.txBytes),
    presharedKeyText(p.presharedKey),
    p.drift.length === 0 ? "in sync" : p.drift.join("; "),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] as number)))
      .join("  ")
      .trimEnd();
  const stale = report.peerings.filter((p) => !p.healthy).length;
  const summary =
    report.peerings.length === 0
      ? "no managed interface with peers in this stack"
      : stale === 0
        ? `all ${report.peerings.length} peerings had a handshake in the last ${report.maxHandshakeAge}s`
        : `${stale} of ${report.peerings.length} peerings had no handshake in the last ${report.maxHandshakeAge}s (marked !)`;
  return [line(header), ...rows.map(line), "", summary].join("\n");
}
