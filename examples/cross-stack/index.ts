import * as pulumi from "@pulumi/pulumi";
import * as wg from "pulumi-wireguard-fabric";

const config = new pulumi.Config();

export = async () => {
  const site = config.require("site");
  const host = config.requireObject<{ name: string; host: string; hostKey?: string }>("host");
  const peerStack = config.get("peerStack");

  // The other site's public view, imported as external nodes: no secret crosses stacks.
  let remote: Record<string, wg.ExternalNodeArgs> = {};
  if (peerStack) {
    const exported = (await new pulumi.StackReference(peerStack).getOutputDetails("exportedPeers")).value as wg.ExportedPeers | undefined;
    if (exported) remote = wg.externalNodesFrom(exported);
  }

  const fabric = new wg.Fabric(site, {
    nodes: {
      [host.name]: {
        role: "internal",
        connection: { host: host.host, user: "root", privateKey: config.requireSecret("sshPrivateKey"), hostKey: host.hostKey },
        endpoint: host.host,
        interfaces: { wgx: { listenPort: 51900, ip: config.require("ip") } },
        peers: Object.keys(remote).map((node) => ({ type: "external" as const, node, iface: "wgx" })),
      },
      ...remote,
    },
  });
  return { exportedPeers: fabric.exportedPeers, publicKeys: fabric.publicKeys };
};
