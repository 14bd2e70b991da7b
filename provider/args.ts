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

/** Part of a {@link ConnectionArgs}: a fabric's default, or what a node adds to it (e.g. only `host`). */
export type PartialConnectionArgs = Partial<ConnectionArgs>;

/** An interface of an internal node: the [Interface] section of its config. */
export interface InterfaceSpec {
  /** UDP port WireGuard listens on; peers dial it unless their endpoint has a port. */
  readonly listenPort?: number;
  /** The interface address with prefix (`198.51.100.1/24`): IPv4, or IPv6 when `ip6` is not set. */
  readonly ip?: string;
  /** Its IPv6 address with prefix (`fd00::1/64`), beside an IPv4 `ip` for dual stack. */
  readonly ip6?: string;
  /** Proxmox VE's `ip6_ll` ("generate an IPv6 link-local address"): kept in `sectionConfig`, not acted on. */
  readonly ip6Ll?: boolean;
  /** MTU (ours: Proxmox VE has none). */
  readonly mtu?: number;
}

/** Properties a peer may override on the referenced node (all but its public key). */
export interface PeerOverrides {
  /** `host`, `host:port`, `[v6]:port`; without port, the peer interface's listen port is used. */
  readonly endpoint?: string;
  /** Replaces the node's allowed IPs (the interface's host route stays for internal peers). */
  readonly allowedIps?: string[];
  /**
   * Added to the node's allowed IPs, or to `allowedIps` when both are set (Proxmox VE's peer
   * `allowed_ips`, which always adds).
   */
  readonly extraAllowedIps?: string[];
  /** Make no routes for this peer's AllowedIPs (Proxmox VE's `skip_route_generation`): something else routes them. */
  readonly skipRouteGeneration?: boolean;
  /** Seconds between keepalives (0 = off). */
  readonly persistentKeepalive?: number;
  /** A pre-shared key for this peering (`wg genpsk`); give it as a Pulumi secret. */
  readonly presharedKey?: pulumi.Input<string>;
  /**
   * A pre-shared key for this peering made on its two nodes, never in state (over the fabric's
   * `defaults.pairKeys`; internal peers, both entries of the peering agreeing).
   */
  readonly pairKey?: boolean;
  /** Change it to make this peering's pair key anew (over `defaults.pairKeyRotation`). */
  readonly pairKeyRotation?: string;
}

/** A peer of an internal node's interface `iface`: another node's interface, or an external node. */
export type PeerSpec =
  | (PeerOverrides & {
      /** Another internal node's interface. */
      readonly type: "internal";
      /** The peer node. */
      readonly node: string;
      /** Its interface this peer points at. */
      readonly nodeIface: string;
      /** Our interface the peer is listed on. */
      readonly iface: string;
    })
  | (PeerOverrides & {
      /** An external node. */
      readonly type: "external";
      /** The external node. */
      readonly node: string;
      /** Our interface the peer is listed on. */
      readonly iface: string;
    });

/** A node we manage over SSH. */
export interface InternalNodeSpec {
  /** An internal node: managed over SSH. */
  readonly role: "internal";
  /** Secret: how to reach it; merged over the fabric's `defaults.connection` (e.g. only `host` here). */
  readonly connection?: pulumi.Input<PartialConnectionArgs>;
  /** Where other nodes reach it: `host` or `host:port`. */
  readonly endpoint?: string;
  /** Networks behind this node, routed to it by its peers. */
  readonly allowedIps?: string[];
  /** Keepalive its peers send it. */
  readonly persistentKeepalive?: number;
  /** Its WireGuard interfaces by name (at most 15 characters; at most 8 to be written to a Proxmox VE fabrics.cfg). */
  readonly interfaces: Record<string, InterfaceSpec>;
  /** Its peers; each names the local interface it belongs to. */
  readonly peers?: PeerSpec[];
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
   * Allow a default route (`0.0.0.0/0`, `::/0`) in its peers' AllowedIPs, beside its other
   * peers (a gateway for its default traffic; refused otherwise, since its SSH connection would
   * enter the tunnel too). In `wg-quick` mode only: wg-quick's policy routing is installed for
   * it, live as at boot, and the main table's more specific routes stay outside the tunnel.
   */
  readonly fullTunnel?: boolean;
  /** Seconds between looks at the DNS names of its peers' endpoints, on the node (default: the fabric's; 0 = off). */
  readonly endpointRefresh?: number;
  /** The node's own IPv4 address (Proxmox VE's router address), in the fabric's `ipPrefix`; its peers route it to the node. */
  readonly ip?: string;
  /** The node's own IPv6 address, in the fabric's `ip6Prefix`. */
  readonly ip6?: string;
  /**
   * Take over keys and config files on the node that another fabric (another stack) owns, and
   * config files someone else wrote (Proxmox VE's SDN, by hand) together with their running
   * interface, which is brought to the declaration step by step, never taken down. A key
   * someone else made without an owner is adopted even without it; adopted keys are left in
   * place when this fabric is destroyed.
   */
  readonly adopt?: boolean;
}

/** A peer we don't manage: its public key is given. */
export interface ExternalNodeSpec {
  /** An external node: a peer we don't manage. */
  readonly role: "external";
  /** Where our nodes reach it: `host:port`, `[v6]:port`. */
  readonly endpoint?: string;
  /** The networks behind it: the AllowedIPs of every peer pointing at it. */
  readonly allowedIps?: string[];
  /** Keepalive every peer pointing at it sends (seconds, 0 = off). */
  readonly persistentKeepalive?: number;
  /** Its WireGuard public key. */
  readonly publicKey: string;
  /** Its own IPv4 address, in the fabric's `ipPrefix` (required with one). */
  readonly ip?: string;
  /** Its own IPv6 address, in the fabric's `ip6Prefix` (required with one). */
  readonly ip6?: string;
}

/** Either kind of node. */
export type NodeSpec = InternalNodeSpec | ExternalNodeSpec;

/** What every node of a fabric has unless it says otherwise. */
export interface FabricDefaults {
  /**
   * Secret: how to reach every internal node; a node's own `connection` is merged over it, so
   * a program states the user and credentials once and each node only its `host`.
   */
  readonly connection?: pulumi.Input<PartialConnectionArgs>;
  /** Where keys (and the stanza modes' configs) live on the nodes (default `/etc/wireguard/wg-fabric`). */
  readonly keyDir?: string;
  /** `wg-quick` (default), `ifupdown2`, `proxmox` (the files a Proxmox VE node writes) or `none` (write only). */
  readonly applyMode?: ApplyMode;
  /** Keepalive of every peer whose node or entry sets none (seconds, 0 = off). */
  readonly persistentKeepalive?: number;
  /**
   * A pre-shared key for every peering of two internal interfaces, made on one of its nodes and
   * carried on stdin to the other: it never leaves them otherwise, and state holds a fingerprint.
   */
  readonly pairKeys?: boolean;
  /** Change it to make every pair key anew (a peer's `pairKeyRotation` wins for its peering). */
  readonly pairKeyRotation?: string;
  /**
   * Seconds between looks at the DNS names of peer endpoints, on every node that sets none
   * (default 30; 0 = off). An interface with a peer reached by name (`pve2.example.net:51820`)
   * runs a small loop on its node, started and stopped with the interface: it sets the address
   * the name resolves to now when the name moved or the peer's handshake is stale.
   */
  readonly endpointRefresh?: number;
}

/** Arguments of {@link Fabric}. The topology decides which resources exist; credentials and pre-shared keys may be Outputs. */
export interface FabricArgs {
  /** Fabric name as in fabrics.cfg (default: the resource name). */
  readonly name?: string;
  /**
   * The nodes by name. Plain data, or an Output of it when part of the fabric comes from
   * another stack ({@link externalNodesFrom}): the fabric is then built once the value is
   * known (a `StackReference`'s outputs are, at preview too).
   */
  readonly nodes: Readonly<Record<string, NodeSpec>> | pulumi.Output<Readonly<Record<string, NodeSpec>>>;
  /**
   * Peerings as pairs of ends, each `node/iface` of an internal node or the name of an
   * external node: `["a/wg0", "b/wg0"]` gives `a` a peer to `b/wg0` and `b` one to `a/wg0`.
   * Use a node's `peers` for a one-sided peering or to override fields.
   */
  readonly links?: readonly (readonly [string, string])[];
  /** What every node has unless it says otherwise. */
  readonly defaults?: FabricDefaults;
  /** The range of the nodes' own IPv4 addresses (Proxmox VE's `ip_prefix`): every node then needs an `ip` in it. */
  readonly ipPrefix?: string;
  /** The range of the nodes' own IPv6 addresses (`ip6_prefix`): every node then needs an `ip6` in it. */
  readonly ip6Prefix?: string;
  /** @deprecated Use `defaults.keyDir`. */
  readonly keyDir?: string;
  /** @deprecated Use `defaults.applyMode`. */
  readonly applyMode?: ApplyMode;
}

/** @deprecated Renamed {@link InterfaceSpec}: only constructor arguments are called `…Args`. */
export type InterfaceArgs = InterfaceSpec;
/** @deprecated Renamed {@link PeerSpec}. */
export type PeerArgs = PeerSpec;
/** @deprecated Renamed {@link InternalNodeSpec}. */
export type InternalNodeArgs = InternalNodeSpec;
/** @deprecated Renamed {@link ExternalNodeSpec}. */
export type ExternalNodeArgs = ExternalNodeSpec;

/** A parsed model back in argument form (for fabrics read from a fabrics.cfg). */
export function argsFromModel(fabric: FabricModel, connections: Readonly<Record<string, pulumi.Input<PartialConnectionArgs>>>): FabricArgs {
  const nodes: Record<string, NodeSpec> = {};
  for (const [name, node] of Object.entries(fabric.nodes)) {
    const common = {
      endpoint: node.endpoint && formatEndpoint(node.endpoint),
      allowedIps: node.allowedIps.map(String),
      persistentKeepalive: node.persistentKeepalive,
      ip: node.ip?.addressText(),
      ip6: node.ip6?.addressText(),
    };
    if (node.role === "external") {
      nodes[name] = { role: "external", ...common, publicKey: node.publicKey };
      continue;
    }
    nodes[name] = {
      role: "internal",
      ...common,
      connection: connections[name],
      interfaces: Object.fromEntries(
        Object.entries(node.interfaces).map(([iface, spec]) => [
          iface,
          { listenPort: spec.listenPort, ip: spec.ip?.toString(), ip6: spec.ip6?.toString(), ip6Ll: spec.ip6Ll, mtu: spec.mtu },
        ]),
      ),
      peers: node.peers.map((peer) => ({
        ...peer,
        endpoint: peer.endpoint && formatEndpoint(peer.endpoint),
        allowedIps: peer.allowedIps?.map(String),
        extraAllowedIps: peer.extraAllowedIps?.map(String),
      })),
      keyDir: node.keyDir,
      applyMode: node.applyMode,
      fullTunnel: node.fullTunnel,
      endpointRefresh: node.endpointRefresh,
    };
  }
  return {
    name: fabric.name,
    nodes,
    defaults: { keyDir: fabric.keyDir, applyMode: fabric.applyMode, persistentKeepalive: fabric.persistentKeepalive, pairKeys: fabric.pairKeys, pairKeyRotation: fabric.pairKeyRotation, endpointRefresh: fabric.endpointRefresh },
    ipPrefix: fabric.ipPrefix?.toString(),
    ip6Prefix: fabric.ip6Prefix?.toString(),
  };
}
