import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as wg from "pulumi-wireguard-fabric";

const config = new pulumi.Config();
const hosts = config.requireObject<Record<string, { host: string; hostKey?: string }>>("hosts");

const fabric = wg.Fabric.fromSectionConfig("lab", {
  text: readFileSync(path.join(__dirname, "fabrics.cfg"), "utf8"),
  defaults: { connection: { user: "root", privateKey: config.requireSecret("sshPrivateKey") } },
  connections: Object.fromEntries(Object.entries(hosts).map(([name, host]) => [name, { host: host.host, hostKey: host.hostKey }])),
});

export const publicKeys = fabric.publicKeys;
/** fabrics.cfg as Proxmox would store it, public keys filled in. */
export const sectionConfig = fabric.sectionConfig;
