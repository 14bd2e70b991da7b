import { nodeAddressLink } from "../../fabric";

/**
 * What a Proxmox VE node's own SDN WireGuard fabrics hold on it, as far as ours must keep clear
 * of them: their interface names and listen ports, and the link of the node's own address. Proxmox VE names the node's section
 * `wireguard_node: <fabric>_<node>` after its host name, and lists each interface as a
 * property string (`interfaces name=wg0,listen_port=51820,…`).
 */

/** Where a Proxmox VE cluster keeps its SDN fabrics (the cluster file system, the same on every node). */
export const PVE_FABRICS_CFG = "/etc/pve/sdn/fabrics.cfg";

/** One line of {@link PVE_FABRICS_CFG} that names a node section or an interface. */
export interface ProxmoxLine {
  /** 1-based, in the file. */
  readonly line: number;
  readonly text: string;
}

/** What a node reports of its Proxmox VE fabrics: its node name and the relevant lines. */
export interface ProxmoxClaims {
  /** The node's name as Proxmox VE uses it (its host name without domain). */
  readonly node: string;
  readonly lines: readonly ProxmoxLine[];
}

/** One interface of a Proxmox VE fabric on this node, where the file declares it. */
export interface ProxmoxInterface {
  readonly fabric: string;
  readonly name: string;
  readonly listenPort?: number;
  readonly line: number;
}

/** The lines of the node's own sections (`wireguard_node: <fabric>_<node>`), each with its fabric. */
function* nodeSectionLines(claims: ProxmoxClaims): Generator<ProxmoxLine & { readonly fabric: string }> {
  let fabric: string | undefined;
  for (const { line, text } of claims.lines) {
    const section = /^wireguard_node:\s*(\S+)\s*$/.exec(text);
    if (section) {
      const id = section[1] as string;
      fabric = id.endsWith(`_${claims.node}`) ? id.slice(0, -claims.node.length - 1) : undefined;
    } else if (fabric !== undefined) yield { fabric, line, text };
  }
}

/** The interfaces Proxmox VE's own fabrics have on the node `claims` describe. */
export function proxmoxInterfaces(claims: ProxmoxClaims): ProxmoxInterface[] {
  const found: ProxmoxInterface[] = [];
  for (const { fabric, line, text } of nodeSectionLines(claims)) {
    const property = /^\s+interfaces\s+(\S+)\s*$/.exec(text);
    if (!property) continue;
    const fields = new Map((property[1] as string).split(",").map((pair) => pair.split("=", 2) as [string, string | undefined]));
    const name = fields.get("name");
    if (!name) continue;
    const port = Number(fields.get("listen_port"));
    found.push({ fabric, name, line, ...(Number.isInteger(port) && port > 0 ? { listenPort: port } : {}) });
  }
  return found;
}

/**
 * Why our link of the node's own addresses (`dummy_<fabric>`) cannot be made: a Proxmox VE fabric
 * of the same name gives this node an address too (its `ip` or `ip6`), and Proxmox VE writes a
 * stanza for a link of that very name. Empty when there is no conflict.
 */
export function proxmoxAddressConflicts(claims: ProxmoxClaims | undefined, link: string): string[] {
  if (!claims) return [];
  for (const { fabric, line, text } of nodeSectionLines(claims)) {
    if (/^\s+ip6?\s/.test(text) && nodeAddressLink(fabric) === link) {
      return [
        `${PVE_FABRICS_CFG}:${line}: Proxmox VE's fabric ${fabric} gives this node (${claims.node}) an address on ${link} too, and writes its own stanza for that link; ` +
          "name our fabric differently (its node addresses go on dummy_<fabric>)",
      ];
    }
  }
  return [];
}

/** One of our interfaces, as {@link proxmoxConflicts} checks it. */
export interface OurInterface {
  readonly iface: string;
  readonly listenPort?: number;
  /** The node takes over what Proxmox VE's SDN runs for this interface (a move from its SDN). */
  readonly adopt?: boolean;
}

/**
 * Why our interface cannot live beside Proxmox VE's fabrics on the node: its name or its listen
 * port is one of theirs. A name is theirs to keep unless the node adopts the interface (moving a
 * fabric from Proxmox VE's SDN, whose file still lists it until the move is done); a port is
 * never shared. Empty when there is no conflict.
 */
export function proxmoxConflicts(claims: ProxmoxClaims | undefined, ours: OurInterface): string[] {
  if (!claims) return [];
  const problems: string[] = [];
  for (const theirs of proxmoxInterfaces(claims)) {
    const where = `${PVE_FABRICS_CFG}:${theirs.line}`;
    if (theirs.name === ours.iface) {
      if (!ours.adopt) {
        problems.push(
          `${where}: Proxmox VE's fabric ${theirs.fabric} has interface ${theirs.name} on this node (${claims.node}); ` +
            "name ours differently, or set adopt: true on the node to take it over from Proxmox VE's SDN",
        );
      }
    } else if (ours.listenPort !== undefined && theirs.listenPort === ours.listenPort) {
      problems.push(`${where}: listen port ${ours.listenPort} is used by interface ${theirs.name} of Proxmox VE's fabric ${theirs.fabric} on this node (${claims.node}); choose another port`);
    }
  }
  return problems;
}
