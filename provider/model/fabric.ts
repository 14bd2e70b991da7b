import { z } from "zod";
import { Cidr, interfaceAddressSchema, routeSchema } from "./cidr";
import { endpointSchema, portSchema } from "./endpoint";
import { ifnameSchema, nameSchema } from "./ifname";
import { wgKeySchema } from "./key";

/**
 * Where keys (and, in the stanza modes, configs) are kept on a node unless the fabric or node
 * says otherwise: a folder of our own. Releases before 0.3 used the RFC's
 * `/etc/wireguard/proxmox`, whose `*.conf` Proxmox VE's network apply deletes; their stacks move
 * the files here on the next `up`, keys unchanged.
 */
export const DEFAULT_KEY_DIR = "/etc/wireguard/wg-fabric";

/**
 * How a written config is brought live on the node: `wg-quick` (its config in /etc/wireguard),
 * `ifupdown2` (our stanza, setconf file beside the keys), `proxmox` (the two files a Proxmox VE
 * node writes for its SDN fabrics, Proxmox VE's config format and `link-type wireguard` stanza,
 * the config beside the keys) or `none` (write only).
 */
export const APPLY_MODES = ["wg-quick", "ifupdown2", "proxmox", "none"] as const;
/** One of {@link APPLY_MODES}. */
export type ApplyMode = (typeof APPLY_MODES)[number];

/** The apply modes that write an ifupdown2 stanza beside the config. */
export function writesStanza(mode: ApplyMode): boolean {
  return mode === "ifupdown2" || mode === "proxmox";
}

/** Seconds between the keepalives sent to a peer (wg(8) `PersistentKeepalive`); 0 means off. */
const keepaliveSchema = z
  .number({ error: "must be a number of seconds, 0-65535, without unit (25, not 25s)" })
  .int("must be 0-65535 seconds")
  .min(0, "must be 0-65535 seconds")
  .max(65535, "must be 0-65535 seconds");

/** The rule "0 means off", written once: the seconds a keepalive runs at, or undefined when it is off. */
export function keepaliveOn(seconds: number | undefined): number | undefined {
  return seconds === 0 ? undefined : seconds;
}

/** An absolute path without characters a shell or wg-quick would treat specially. */
export const keyDirSchema = z
  .string()
  .regex(/^\/[a-zA-Z0-9_./-]*$/, { message: "must be an absolute path of letters, digits and _ . / -" })
  .refine((path) => !path.split("/").includes(".."), { message: "must not contain .." })
  .refine((path) => path.split("/").some(Boolean), { message: "must be a folder of its own, not /" });

/** Who manages an interface's key and files on a node: `fabric/node/iface`, recorded there. */
export const ownerSchema = z.string().regex(/^[A-Za-z0-9_=+.\/-]{1,200}$/, { message: "must be fabric/node/iface" });

/** Per-peer settings that go from the declaration to the node's config as they are. */
export const peerSettings = {
  /** No routes for this peer's AllowedIPs (Proxmox VE's `skip_route_generation`): something else routes them. */
  skipRouteGeneration: z.boolean().optional(),
  persistentKeepalive: keepaliveSchema.optional(),
};

/**
 * Per-peer properties: overrides of the referenced node's (all but the public key), networks
 * added to the node's, and whether routes are made for them.
 */
export const peerOverrides = {
  endpoint: endpointSchema.optional(),
  /** Replaces the node's allowed IPs for this peer (the RFC's override). */
  allowedIps: z.array(routeSchema).optional(),
  /** Added to the node's allowed IPs (or to `allowedIps`) for this peer: Proxmox VE's peer `allowed_ips`. */
  extraAllowedIps: z.array(routeSchema).optional(),
  ...peerSettings,
  presharedKey: wgKeySchema.optional(),
  /** A pre-shared key for this peering made on the two nodes (over the fabric's `pairKeys`; internal peers). */
  pairKey: z.boolean().optional(),
  /** Change it to make the peering's pair key anew (over the fabric's `pairKeyRotation`). */
  pairKeyRotation: z.string().optional(),
};

/** A peer pointing at an interface of another internal node. */
export const internalPeerSchema = z.strictObject({
  type: z.literal("internal"),
  node: z.string(),
  nodeIface: z.string(),
  iface: z.string(),
  ...peerOverrides,
});

/** A peer pointing at an external node. */
export const externalPeerSchema = z.strictObject({
  type: z.literal("external"),
  node: z.string(),
  iface: z.string(),
  ...peerOverrides,
});

/** A peer entry of an internal node; `iface` is the node's own interface it belongs to. */
export const peerSchema = z.discriminatedUnion("type", [internalPeerSchema, externalPeerSchema], {
  error: (issue) => (issue.code === "invalid_union" ? 'type must be "internal" or "external"' : undefined),
});

/** A node's own address in `family` (Proxmox VE's router address), written without prefix; kept as a host route. */
export const nodeAddressSchema = (family: 4 | 6) =>
  z.string().transform((text, ctx) => {
    const parsed = Cidr.parse(`${text}/${family === 4 ? 32 : 128}`);
    if (typeof parsed === "string" || parsed.family !== family || text.includes("/")) {
      ctx.addIssue({ code: "custom", message: `must be an IPv${family} address without prefix length` });
      return z.NEVER;
    }
    return parsed;
  });

/**
 * Seconds between two looks at the DNS names of an interface's peer endpoints, on the node
 * (see endpoint-refresh.sh); 0 means off. Only interfaces with a peer reached by name get it.
 */
export const endpointRefreshSchema = z
  .number({ error: "must be a number of seconds, 0-86400, without unit (30, not 30s)" })
  .int("must be 0-86400 seconds")
  .min(0, "must be 0-86400 seconds")
  .max(86400, "must be 0-86400 seconds");

/** How often names are looked at when neither the node nor the fabric says: every half minute. */
export const DEFAULT_ENDPOINT_REFRESH = 30;

/** A fabric's range for its nodes' own addresses, in `family`. */
const nodePrefixSchema = (family: 4 | 6) => routeSchema.refine((cidr) => cidr.family === family, { message: `must be an IPv${family} prefix` });

/**
 * A node's own address (Proxmox VE's "router address", the same keys as its OpenFabric and
 * OSPF fabrics): inside the fabric's `ipPrefix`/`ip6Prefix`, on internal and external nodes.
 */
const nodeAddresses = {
  ip: nodeAddressSchema(4).optional(),
  ip6: nodeAddressSchema(6).optional(),
};

/** An IPv6 interface address. */
const ip6Schema = interfaceAddressSchema.refine((cidr) => cidr.family === 6, { message: "must be an IPv6 address with prefix length" });

/** An interface of an internal node, the [Interface] section of its config. */
export const interfaceSchema = z
  .strictObject({
    listenPort: portSchema.optional(),
    /** Its address: IPv4 (Proxmox VE), or IPv6 as the RFC also allows when `ip6` is not set. */
    ip: interfaceAddressSchema.optional(),
    /** Its IPv6 address, beside an IPv4 `ip` (dual stack). */
    ip6: ip6Schema.optional(),
    /** Proxmox VE's "generate an IPv6 link-local address": recorded and written back, not acted on. */
    ip6Ll: z.boolean().optional(),
    mtu: z.number().int().min(1280, "must be at least 1280 (IPv6 minimum)").max(65535).optional(),
    /** The key generated on the node; known in a Proxmox fabrics.cfg, an output in a Pulumi spec. */
    publicKey: wgKeySchema.optional(),
  })
  .refine((iface) => !(iface.ip?.family === 6 && iface.ip6), {
    message: "ip is IPv6 and ip6 is set too; put the IPv4 address in ip (or move this one to ip6)",
    path: ["ip"],
  });

/** A node managed over SSH. */
export const internalNodeSchema = z.strictObject({
  role: z.literal("internal"),
  endpoint: endpointSchema.optional(),
  allowedIps: z.array(routeSchema).default([]),
  persistentKeepalive: keepaliveSchema.optional(),
  interfaces: z.record(ifnameSchema, interfaceSchema),
  peers: z.array(peerSchema).default([]),
  keyDir: keyDirSchema.optional(),
  applyMode: z.enum(APPLY_MODES).optional(),
  /** Allow a default route (0.0.0.0/0, ::/0) in its peers' AllowedIPs: all its traffic may enter the tunnel. */
  fullTunnel: z.boolean().optional(),
  /** Seconds between looks at its peers' endpoint names (over the fabric's; 0 = off). */
  endpointRefresh: endpointRefreshSchema.optional(),
  ...nodeAddresses,
});

/** A peer we don't manage: its public key is given. */
export const externalNodeSchema = z.strictObject({
  role: z.literal("external"),
  endpoint: endpointSchema.optional(),
  allowedIps: z.array(routeSchema).default([]),
  persistentKeepalive: keepaliveSchema.optional(),
  publicKey: wgKeySchema,
  ...nodeAddresses,
});

/** A node of either role. */
export const nodeSchema = z.discriminatedUnion("role", [internalNodeSchema, externalNodeSchema], {
  error: (issue) => (issue.code === "invalid_union" ? 'role must be "internal" or "external"' : undefined),
});

/** A whole fabric, as read from a Proxmox fabrics.cfg or built by the components. */
export const fabricSchema = z.strictObject({
  name: nameSchema,
  nodes: z.record(nameSchema, nodeSchema),
  keyDir: keyDirSchema.default(DEFAULT_KEY_DIR),
  applyMode: z.enum(APPLY_MODES).default("wg-quick"),
  /** Keepalive of every peer that neither its node nor its entry sets (Proxmox's fabric-wide setting); off overrides nothing here, so 0 is read as none. */
  persistentKeepalive: keepaliveSchema.optional().transform(keepaliveOn),
  /** A pre-shared key for every peering of two internal interfaces, made on the nodes (see pair-keys.ts). */
  pairKeys: z.boolean().optional(),
  /** Change it to make every pair key of the fabric anew. */
  pairKeyRotation: z.string().optional(),
  /** Seconds between looks at the peers' endpoint names on every node that sets none (default {@link DEFAULT_ENDPOINT_REFRESH}; 0 = off). */
  endpointRefresh: endpointRefreshSchema.optional(),
  /** The range of the nodes' own IPv4 addresses: with it, every node needs an `ip` inside it. */
  ipPrefix: nodePrefixSchema(4).optional(),
  /** The range of the nodes' own IPv6 addresses: with it, every node needs an `ip6` inside it. */
  ip6Prefix: nodePrefixSchema(6).optional(),
});

/** A fabric as a Pulumi program declares it: public keys of internal interfaces are outputs. */
export const fabricSpecSchema = fabricSchema.superRefine((fabric, ctx) => {
  for (const [nodeName, node] of Object.entries(fabric.nodes)) {
    if (node.role !== "internal") continue;
    for (const [ifaceName, iface] of Object.entries(node.interfaces)) {
      if (iface.publicKey === undefined) continue;
      ctx.addIssue({
        code: "custom",
        path: ["nodes", nodeName, "interfaces", ifaceName, "publicKey"],
        message: "is generated on the node and is an output; remove it from the input",
      });
    }
  }
});

/** A parsed fabric. */
export type Fabric = z.output<typeof fabricSchema>;
/** What a caller writes before parsing. */
export type FabricInput = z.input<typeof fabricSchema>;
/** A parsed node. */
export type FabricNode = z.output<typeof nodeSchema>;
/** A parsed internal node. */
export type InternalNode = z.output<typeof internalNodeSchema>;
/** A parsed external node. */
export type ExternalNode = z.output<typeof externalNodeSchema>;
/** A parsed interface. */
export type Interface = z.output<typeof interfaceSchema>;
/** A parsed peer entry. */
export type Peer = z.output<typeof peerSchema>;
/** The properties a peer may override. */
export type PeerOverrides = Pick<Peer, "endpoint" | "allowedIps" | "persistentKeepalive" | "presharedKey">;
