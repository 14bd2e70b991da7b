import type * as pulumi from "@pulumi/pulumi";
import type { types } from "@pulumi/command";
import { formatEndpoint, type ApplyMode, type Fabric as FabricModel } from "./model";

/**
 * How to reach an internal node over SSH: `@pulumi/command`'s `remote.ConnectionArgs`
 * (host, port, user, password, privateKey, privateKeyPassword, agentSocketPath, dialErrorLimit,
 * perDialTimeout, proxy) including `hostKey`, the server key to pin (`ssh-ed25519 AAAA…`).
 * Treated as a secret.
 */
export type ConnectionArgs = types.input.remote.ConnectionArgs;

/** An interface of an internal node: the [Interface] section of its config. */
export interface InterfaceArgs {
  /** UDP port WireGuard listens on; peers dial it unless their endpoint has a port. */
  readonly listenPort?: number;
  /** The interface address with prefix, IPv4 or IPv6 (`198.51.100.1/24`). */
  readonly ip?: string;
  /** MTU (wg-quick and ifupdown2 modes). */
  readonly mtu?: number;
}

/** Properties a peer may override on the referenced node (all but its public key). */
export interface PeerOverrides {
  /** `host`, `host:port`, `[v6]:port`; without port, the peer interface's listen port is used. */
  readonly endpoint?: string;
  /** Replaces the node's allowed IPs (the interface's host route stays for internal peers). */
  readonly allowedIps?: string[];
  /** Seconds between keepalives (0 = off). */
  readonly persistentKeepalive?: number;
  /** A pre-shared key for this peering (`wg genpsk`); give it as a Pulumi secret. */
  readonly presharedKey?: pulumi.Input<string>;
}

/** A peer of an internal node's interface `iface`: another node's interface, or an external node. */
export type PeerArgs =
  | (PeerOverrides & { readonly type: "internal"; readonly node: string; readonly nodeIface: string; readonly iface: string })
  | (PeerOverrides & { readonly type: "external"; readonly node: string; readonly iface: string });

/** A node we manage over SSH. */
export interface InternalNodeArgs {
  readonly role: "internal";
  /** Secret: how to reach it. */
  readonly connection: pulumi.Input<ConnectionArgs>;
  /** Where other nodes reach it: `host` or `host:port`. */
  readonly endpoint?: string;
  /** Networks behind this node, routed to it by its peers. */
  readonly allowedIps?: string[];
  /** Keepalive its peers send it. */
  readonly persistentKeepalive?: number;
  /** Its WireGuard interfaces by name (at most 15 characters). */
  readonly interfaces: Record<string, InterfaceArgs>;
  /** Its peers; each names the local interface it belongs to. */
  readonly peers?: PeerArgs[];
  /** Where keys live on the node (default: the fabric's). */
  readonly keyDir?: string;
  /** How configs go live on the node (default: the fabric's). */
  readonly applyMode?: ApplyMode;
  /** Per interface: change the value to generate a new key (the old one is deleted). */
  readonly keyRotation?: Record<string, string>;
  /**
   * Accept the SSH host key the node presents now in place of the one recorded at first contact
   * (its key changed on purpose, e.g. a reinstall), and record it. Set it for one `up`, then
   * remove it. A pinned `connection.hostKey` always wins.
   */
  readonly acceptNewHostKey?: boolean;
  /**
   * Allow a default route (`0.0.0.0/0`, `::/0`) in its peers' AllowedIPs, which sends all its
   * traffic, its SSH connection included, into the tunnel (refused otherwise). The planner
   * installs no route for /0 (wg-quick's policy routing is not managed).
   */
  readonly fullTunnel?: boolean;
  /**
   * Take over keys and config files on the node that another fabric (another stack) owns. A key
   * someone else made without an owner (Proxmox, by hand) is adopted without it; adopted keys
   * are left in place when this fabric is destroyed.
   */
  readonly adopt?: boolean;
}

/** A peer we don't manage: its public key is given. */
export interface ExternalNodeArgs {
  readonly role: "external";
  readonly endpoint?: string;
  readonly allowedIps?: string[];
  readonly persistentKeepalive?: number;
  /** Its WireGuard public key. */
  readonly publicKey: string;
}

/** Arguments of {@link Fabric}. The topology is plain data (it decides which resources exist); credentials and pre-shared keys may be Outputs. */
export interface FabricArgs {
  /** Fabric name as in fabrics.cfg (default: the resource name). */
  readonly name?: string;
  readonly nodes: Record<string, InternalNodeArgs | ExternalNodeArgs>;
  /** Where keys live on the nodes (default `/etc/wireguard/proxmox`, the RFC's). */
  readonly keyDir?: string;
  /** `wg-quick` (default), `ifupdown2` or `none` (write only). */
  readonly applyMode?: ApplyMode;
  /**
   * Show each peer as a `Peer` component in the resource tree (default true). A full mesh of
   * n nodes has n·(n-1) of them; turn them off for large fabrics (configs are the same).
   */
  readonly peerComponents?: boolean;
}

/** A parsed model back in argument form (for fabrics read from a fabrics.cfg). */
export function argsFromModel(fabric: FabricModel, connections: Readonly<Record<string, pulumi.Input<ConnectionArgs>>>): FabricArgs {
  const nodes: FabricArgs["nodes"] = {};
  for (const [name, node] of Object.entries(fabric.nodes)) {
    const common = {
      endpoint: node.endpoint && formatEndpoint(node.endpoint),
      allowedIps: node.allowedIps.map(String),
      persistentKeepalive: node.persistentKeepalive,
    };
    if (node.role === "external") {
      nodes[name] = { role: "external", ...common, publicKey: node.publicKey };
      continue;
    }
    const connection = connections[name];
    nodes[name] = {
      role: "internal",
      ...common,
      connection: connection as pulumi.Input<ConnectionArgs>,
      interfaces: Object.fromEntries(
        Object.entries(node.interfaces).map(([iface, spec]) => [iface, { listenPort: spec.listenPort, ip: spec.ip?.toString(), mtu: spec.mtu }]),
      ),
      peers: node.peers.map((peer) => ({
        ...peer,
        endpoint: peer.endpoint && formatEndpoint(peer.endpoint),
        allowedIps: peer.allowedIps?.map(String),
      })),
      keyDir: node.keyDir,
      applyMode: node.applyMode,
      fullTunnel: node.fullTunnel,
    };
  }
  return { name: fabric.name, nodes, keyDir: fabric.keyDir, applyMode: fabric.applyMode };
}
