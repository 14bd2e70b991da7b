import { prepareFabric, renderNodeFiles, type InterfaceView } from "../provider/fabric";
import { FabricError, type Connection, type Fabric, type WgKey } from "../provider/model";
import { RemoteNode } from "../provider/remote/node";
import type { SessionPool } from "../provider/remote/pool";

/** What {@link converge} did. */
export interface ConvergeResult {
  /** Public keys by `node/iface`. */
  readonly publicKeys: Map<string, WgKey>;
  /** Interfaces whose config changed on the node, by `node/iface`. */
  readonly changed: string[];
}

function connectionOf(connections: Readonly<Record<string, Connection>>, node: string): Connection {
  const connection = connections[node];
  if (!connection) throw new Error(`internal node ${node} has no connection`);
  return connection;
}

/**
 * Brings every internal interface of a fabric (prepared: refused with every problem when invalid) to its declared state without Pulumi:
 * keys first on all nodes (one command per interface; two on a node with Proxmox VE's own
 * fabrics, checked first), then configs (one command to inspect each interface, one more where anything differs),
 * over one SSH connection per node from `pool`. The Pulumi resources do the same
 * work split into resources; tests and benchmarks use this directly.
 */
export async function converge(fabric: Fabric, connections: Readonly<Record<string, Connection>>, pool: SessionPool): Promise<ConvergeResult> {
  const prepared = prepareFabric(fabric);
  if (!prepared.ok) throw new FabricError(prepared.problems);
  const { views } = prepared;
  const onNode = <T>(view: InterfaceView, work: (node: RemoteNode) => Promise<T>): Promise<T> =>
    pool.use(view.node, connectionOf(connections, view.node), (session) => work(new RemoteNode(session)));

  const keys = await Promise.all(views.map((view) => onNode(view, (node) => node.ensureKey(view, view.applyMode))));
  const publicKeys = new Map(views.map((view, i) => [view.id, keys[i] as WgKey]));
  const changed: string[] = [];
  await Promise.all(
    views.map(async (view) => {
      const files = renderNodeFiles(view, { publicKeys });
      const result = await onNode(view, (node) => node.sync(view, view.applyMode, files.config, files.stanza));
      if (result.changed) changed.push(view.id);
    }),
  );
  return { publicKeys, changed: changed.sort() };
}
