import * as pulumi from "@pulumi/pulumi";
import * as wg from "pulumi-wireguard-fabric";

const config = new pulumi.Config();
/** Where each internal node is reached over SSH, and its pinned host key. */
const hosts = config.requireObject<Record<string, { host: string; hostKey?: string }>>("hosts");
const berserker = config.getObject<{ endpoint: string; publicKey: string }>("berserker") ?? {
  endpoint: "berserker:51337",
  publicKey: "GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdzA=",
};

/** A node's own part of the connection: the rest (user, key) is the fabric's default. */
function host(node: string): wg.ConnectionArgs {
  const entry = hosts[node];
  if (!entry) throw new pulumi.RunError(`config "hosts" has no entry for ${node}`);
  return { host: entry.host, hostKey: entry.hostKey };
}

const fabric = new wg.Fabric("vpn", {
  defaults: { connection: { user: "root", privateKey: config.requireSecret("sshPrivateKey") } },
  nodes: {
    elementalist: {
      role: "internal",
      connection: host("elementalist"),
      endpoint: hosts.elementalist?.host,
      allowedIps: ["203.0.113.128/25"],
      interfaces: { wg0: { listenPort: 50000, ip: "198.51.100.1/24" } },
    },
    occultist: {
      role: "internal",
      connection: host("occultist"),
      endpoint: hosts.occultist?.host,
      interfaces: { wg0: { listenPort: 50000, ip: "198.51.100.2/24" } },
    },
    berserker: { role: "external", endpoint: berserker.endpoint, allowedIps: ["203.0.113.0/25"], publicKey: berserker.publicKey },
  },
  links: [
    ["elementalist/wg0", "occultist/wg0"],
    ["occultist/wg0", "berserker"],
  ],
});

export const publicKeys = fabric.publicKeys;
export const configs = fabric.configs;
export const sectionConfig = fabric.sectionConfig;
export const exportedPeers = fabric.exportedPeers;
/** Each node's SSH host key: pinned in config, or recorded at first contact. */
export const hostKeys = fabric.hostKeys;
