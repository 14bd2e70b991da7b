import * as pulumi from "@pulumi/pulumi";
import type { ExternalNodeSpec } from "./args";
import { hostRoutesOf, interfaceRoutes, keyId } from "./fabric";
import { formatEndpoint, type Fabric as FabricModel } from "./model";

/** One internal interface as another fabric sees it: everything needed to peer with it. */
export interface ExportedInterface {
  /** The internal node. */
  readonly node: string;
  /** Its interface. */
  readonly iface: string;
  /** The interface's public key, generated on the node. */
  readonly publicKey: string;
  /** `host:port` (the interface's listen port unless the node endpoint has one). */
  readonly endpoint?: string;
  /** What its peers route to it: the node's own IPv4 address (when it has one of its own), the interface's addresses as host routes, then the node's allowed IPs. */
  readonly allowedIps: readonly string[];
}

/** The public view of a fabric, for the RFC's cross-cluster use: no secret, no private key. */
export interface ExportedPeers {
  /** The fabric's name. */
  readonly fabric: string;
  /** By `node/iface`. */
  readonly interfaces: Readonly<Record<string, ExportedInterface>>;
}

/** The public view of `fabric`, given the public keys generated on its nodes. */
export function exportPeers(fabric: FabricModel, publicKeys: Readonly<Record<string, string>>): ExportedPeers {
  const interfaces: Record<string, ExportedInterface> = {};
  for (const [nodeName, node] of Object.entries(fabric.nodes)) {
    if (node.role !== "internal") continue;
    for (const [ifaceName, iface] of Object.entries(node.interfaces)) {
      const id = keyId(nodeName, ifaceName);
      const publicKey = publicKeys[id];
      if (!publicKey) continue;
      interfaces[id] = {
        node: nodeName,
        iface: ifaceName,
        publicKey,
        ...(node.endpoint ? { endpoint: formatEndpoint(node.endpoint, iface.listenPort) } : {}),
        // what this fabric's own peers route to it: the node's address, the interface's, the networks behind it
        allowedIps: [...hostRoutesOf(interfaceRoutes(node, iface)), ...node.allowedIps].map(String),
      };
    }
  }
  return { fabric: fabric.name, interfaces };
}

/**
 * External node definitions for every interface another fabric exported (e.g. a
 * `StackReference`'s `exportedPeers` output), named `<fabric>-<node>-<iface>`: make the fabric's
 * `nodes` from them with `apply`, adding peers. `undefined` imports none; an Output or Promise
 * that resolves to nothing, or to something else than an export (the other stack does not export
 * it, or not yet), stops the program: its nodes would silently leave this fabric.
 */
export function externalNodesFrom(exported: pulumi.Input<ExportedPeers | undefined>): pulumi.Output<Record<string, ExternalNodeSpec>> {
  if (exported === undefined) return pulumi.output<Record<string, ExternalNodeSpec>>({});
  return pulumi.output(exported).apply((known) => {
    if (!isExportedPeers(known)) {
      throw new pulumi.RunError(
        `externalNodesFrom was given ${known === undefined || known === null ? "nothing" : "a value that is no fabric's exportedPeers"}: ` +
          "is it a StackReference output the other stack does not export (yet)? Its nodes would leave this fabric and their peers every node's config; " +
          "export the other fabric's exportedPeers there, or pass undefined to import none",
      );
    }
    return externalNodesOf(known);
  });
}

/** A value of the shape {@link exportPeers} makes (what another stack's output holds). */
function isExportedPeers(value: unknown): value is ExportedPeers {
  const candidate = value as Partial<ExportedPeers> | undefined;
  return typeof candidate?.fabric === "string" && typeof candidate.interfaces === "object" && candidate.interfaces !== null;
}

function externalNodesOf(exported: ExportedPeers): Record<string, ExternalNodeSpec> {
  return Object.fromEntries(
    Object.values(exported.interfaces).map((entry) => [
      `${exported.fabric}-${entry.node}-${entry.iface}`,
      { role: "external" as const, endpoint: entry.endpoint, allowedIps: [...entry.allowedIps], publicKey: entry.publicKey },
    ]),
  );
}
