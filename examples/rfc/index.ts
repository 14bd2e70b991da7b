import * as pulumi from "@pulumi/pulumi";
import * as wg from "pulumi-wireguard-fabric";

const config = new pulumi.Config();
/** Where each internal node is reached over SSH, and its pinned host key. */
const hosts = config.requireObject<Record<string, { host: string; hostKey?: string }>>("hosts");
const sshPrivateKey = config.requireSecret("sshPrivateKey");
const berserker = config.getObject<{ endpoint: string; publicKey: string }>("berserker") ?? {
  endpoint: "berserker:51337",
  publicKey: "GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdzA=",
};

function connect(node: string): wg.ConnectionArgs {
  const host = hosts[node];
  if (!host) throw new Error(`config "hosts" has no entry for ${node}`);
  return { host: host.host, user: "root", privateKey: sshPrivateKey, hostKey: host.hostKey };
}

const fabric = new wg.Fabric("vpn", {
  nodes: {
    elementalist: {
      role: "internal",
      connection: connect("elementalist"),
      endpoint: hosts.elementalist?.host,
      allowedIps: ["203.0.113.128/25"],
      interfaces: { wg0: { listenPort: 50000, ip: "198.51.100.1/24" } },
      peers: [{ type: "internal", node: "occultist", nodeIface: "wg0", iface: "wg0" }],
    },
    occultist: {
      role: "internal",
      connection: connect("occultist"),
      endpoint: hosts.occultist?.host,
      interfaces: { wg0: { listenPort: 50000, ip: "198.51.100.2/24" } },
      peers: [
        { type: "internal", node: "elementalist", nodeIface: "wg0", iface: "wg0" },
        { type: "external", node: "berserker", iface: "wg0" },
      ],
    },
    berserker: { role: "external", endpoint: berserker.endpoint, allowedIps: ["203.0.113.0/25"], publicKey: berserker.publicKey },
  },
});

export const publicKeys = fabric.publicKeys;
export const configs = fabric.configs;
export const sectionConfig = fabric.sectionConfig;
export const exportedPeers = fabric.exportedPeers;
/** Each node's SSH host key: pinned in config, or recorded at first contact. */
export const hostKeys = fabric.hostKeys;
