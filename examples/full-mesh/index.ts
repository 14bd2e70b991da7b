import * as pulumi from "@pulumi/pulumi";
import * as wg from "pulumi-wireguard-fabric";

const config = new pulumi.Config();
const hosts = config.requireObject<Record<string, { host: string; hostKey?: string }>>("hosts");

const mesh = new wg.Fabric("mesh", {
  defaults: { connection: { user: "root", privateKey: config.requireSecret("sshPrivateKey") }, pairKeys: config.getBoolean("pairKeys") },
  nodes: wg.fullMesh(
    Object.fromEntries(
      Object.entries(hosts).map(([name, host], i) => [name, { connection: { host: host.host, hostKey: host.hostKey }, endpoint: host.host, ip: `10.99.0.${i + 1}/24` }]),
    ),
    { iface: "wgmesh", listenPort: 51820 },
  ),
});

export const publicKeys = mesh.publicKeys;
export const configs = mesh.configs;
/** Each node's SSH host key: pinned in config, or recorded at first contact. */
export const hostKeys = mesh.hostKeys;
