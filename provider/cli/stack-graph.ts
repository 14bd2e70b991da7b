import { type LinkHealth, type Topology, topologyOf } from "../draw";
import type { StackInterface } from "./stack-state";
import { handshakeText, type PeeringStatus, type StatusReport } from "./status";

/** The worst of a peering's two directions decides its colour: a dead end is a dead tunnel. */
function healthOf(rows: readonly PeeringStatus[]): LinkHealth {
  if (rows.some((row) => row.state !== "up" || row.handshakeAge === undefined)) return "down";
  return rows.every((row) => row.healthy) ? "ok" : "stale";
}

/**
 * A stack's fabric as a graph, from the interfaces its state records; with a status report,
 * each edge carries the health and handshake age of its worst direction.
 */
export function topologyOfStack(name: string, interfaces: readonly StackInterface[], report?: StatusReport): Topology {
  const externals = new Map<string, string | undefined>();
  for (const iface of interfaces) {
    for (const [label, peer] of Object.entries(iface.peers)) if (!label.includes("/")) externals.set(label, peer.endpoint);
  }
  const topology = topologyOf(
    name,
    interfaces.map((iface) => ({
      node: iface.node,
      iface: iface.iface,
      addresses: [iface.address, iface.address6].filter((address): address is string => address !== undefined),
      listenPort: iface.listenPort,
      peers: Object.keys(iface.peers),
    })),
    [...externals].sort(([a], [b]) => a.localeCompare(b)).map(([external, endpoint]) => ({ name: external, endpoint })),
  );
  if (!report) return topology;
  return {
    ...topology,
    links: topology.links.map((link) => {
      const rows = report.peerings.filter((row) => (row.interface === link.a && row.peer === link.b) || (row.interface === link.b && row.peer === link.a));
      if (rows.length === 0) return link;
      const health = healthOf(rows);
      const worst = rows.find((row) => !row.healthy) ?? rows[0];
      return { ...link, health, note: worst && handshakeText(worst) };
    }),
  };
}
