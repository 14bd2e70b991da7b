import * as pulumi from "@pulumi/pulumi";
import * as wg from "pulumi-wireguard-fabric";

const config = new pulumi.Config();
const site = config.require("site");
const host = config.requireObject<{ name: string; host: string; hostKey?: string }>("host");
const peerStack = config.get("peerStack");

// The other site's public view, imported as external nodes: no secret crosses stacks. A
// StackReference's outputs are known at preview, so the preview shows every peer.
const remote = wg.externalNodesFrom(peerStack ? new pulumi.StackReference(peerStack).getOutput("exportedPeers") : undefined);

const fabric = new wg.Fabric(site, {
  defaults: { connection: { user: "root", privateKey: config.requireSecret("sshPrivateKey") } },
  nodes: remote.apply((imported) => ({
    [host.name]: {
      role: "internal" as const,
      connection: { host: host.host, hostKey: host.hostKey },
      endpoint: host.host,
      interfaces: { wgx: { listenPort: 51900, ip: config.require("ip") } },
      peers: Object.keys(imported).map((node) => ({ type: "external" as const, node, iface: "wgx" })),
    },
    ...imported,
  })),
});

export const exportedPeers = fabric.exportedPeers;
export const publicKeys = fabric.publicKeys;
