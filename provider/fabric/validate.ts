import { type Cidr, DEFAULT_KEY_DIR, formatEndpoint, ifnameProblem, IFNAMSIZ_MAX, problemAt, type Fabric, type InternalNode, type PathStep, type Peer, type Problem } from "../model";
import { PROXMOX_CONFIG_DIR, proxmoxOwnedDir } from "./paths";
import { keyId } from "./keys";
import { nodeAddressLink } from "./node-address";
import { closestOf } from "../model";
import { checkDuplicatePeers, checkPeeringsAreMutual, PeeringTable, type NumberedInterface } from "./peerings";
import { pairKeyViews } from "./pair-keys";
import type { Report } from "./report";
import { resolveInterfaces, type InterfaceView } from "./resolve";
import { checkInterfaceRoutes, checkRoutesAcrossInterfaces } from "./route-checks";

/**
 * Checks the references and rules between parts of a parsed fabric (the schema checks each part
 * alone). Returns every problem at once; errors block, warnings (one-sided peerings) do not.
 * `views` are the fabric's resolved interfaces, when the caller has them already.
 */
export function validateFabric(fabric: Fabric, views: readonly InterfaceView[] = resolveInterfaces(fabric)): Problem[] {
  const problems: Problem[] = [];
  const report: Report = (path, message, severity = "error", hint) => problems.push(problemAt(severity, { path }, message, hint));
  const internal = Object.entries(fabric.nodes).filter((entry): entry is [string, InternalNode] => entry[1].role === "internal");

  checkUniqueAddresses(internal, report);
  checkUniquePublicKeys(fabric, report);
  for (const [name, node] of internal) {
    checkListenPorts(name, node, report);
    const ifaces = Object.entries(node.interfaces);
    checkInterfaceSubnets(
      ifaces.map(([, iface]) => iface),
      ifaces.map(([ifaceName]) => ifaceName),
      (index, _earlier, field, message) => report(["nodes", name, "interfaces", (ifaces[index] as (typeof ifaces)[number])[0], field], message),
    );
  }
  const peerings = new PeeringTable(internal);
  checkPeerReferences(fabric, peerings, report);
  checkDuplicatePeers(peerings, report);
  checkInterfaceRoutes(fabric, views, report);
  checkRoutesAcrossInterfaces(fabric, views, report);
  checkExternalEndpoints(fabric, report);
  checkPeeringsAreMutual(peerings, report);
  checkKeyFolders(views, report);
  checkNodeAddresses(fabric, report);
  checkNodeAddressLink(fabric, report);
  pairKeyViews(fabric, report);
  return problems;
}

/**
 * The nodes' own addresses, as Proxmox VE checks them: a node address needs the fabric's range,
 * the range needs an address on every node (external ones too), inside it, each its own.
 */
function checkNodeAddresses(fabric: Fabric, report: Report): void {
  for (const [field, prefixField, prefixKey] of [["ip", "ipPrefix", "ip_prefix"], ["ip6", "ip6Prefix", "ip6_prefix"]] as const) {
    const prefix = fabric[prefixField];
    const owners = new Map<string, string>();
    for (const [name, node] of Object.entries(fabric.nodes)) {
      const address = node[field];
      if (!address) {
        if (prefix) report(["nodes", name, field], `is required: the fabric's ${prefixKey} is ${prefix.toString()}, and every node (external ones too) needs its own address in it`);
        continue;
      }
      if (!prefix) report(["nodes", name, field], `${address.addressText()} needs the fabric's ${prefixKey}, the range the nodes' addresses lie in`);
      else if (!prefix.overlaps(address)) report(["nodes", name, field], `${address.addressText()} is outside the fabric's ${prefixKey} ${prefix.toString()}`);
      const owner = owners.get(address.toString());
      if (owner) report(["nodes", name, field], `${address.addressText()} is already ${owner}'s address; each node has its own`);
      else owners.set(address.toString(), name);
    }
  }
}

/** A key folder in one that Proxmox VE owns works, but Proxmox VE rewrites or shares it: say so, once per node and folder. */
function checkKeyFolders(views: readonly InterfaceView[], report: Report): void {
  const warned = new Set<string>();
  for (const view of views) {
    const owned = proxmoxOwnedDir(view.keyDir);
    if (!owned || warned.has(`${view.node}\0${view.keyDir}`)) continue;
    warned.add(`${view.node}\0${view.keyDir}`);
    const why =
      owned === PROXMOX_CONFIG_DIR
        ? `every network apply of a Proxmox VE node deletes each *.conf in ${PROXMOX_CONFIG_DIR} (the configs of the ifupdown2 and proxmox apply modes live beside the keys)`
        : `${owned} is Proxmox VE's cluster file system, the same on every node of the cluster`;
    report(["nodes", view.node, "keyDir"], `${view.keyDir} is in a folder Proxmox VE owns: ${why}; use a folder of our own, such as the default ${DEFAULT_KEY_DIR}`, "warning");
  }
}

/** An external node is no interface of ours: its endpoint cannot borrow a listen port, so it needs one. */
function checkExternalEndpoints(fabric: Fabric, report: Report): void {
  for (const [name, node] of Object.entries(fabric.nodes)) {
    if (node.role === "external" && node.endpoint && node.endpoint.port === undefined) {
      report(["nodes", name, "endpoint"], `an external node's endpoint needs a port (e.g. "${formatEndpoint(node.endpoint, 51820)}")`);
    }
  }
  for (const [name, node] of Object.entries(fabric.nodes)) {
    if (node.role !== "internal") continue;
    node.peers.forEach((peer, index) => {
      if (peer.type === "external" && peer.endpoint && peer.endpoint.port === undefined) {
        report(["nodes", name, "peers", index, "endpoint"], `an external peer's endpoint needs a port (e.g. "${formatEndpoint(peer.endpoint, 51820)}")`);
      }
    });
  }
}

/** True when `problems` holds an error (not just warnings). */
export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((problem) => problem.severity === "error");
}

function checkUniqueAddresses(internal: [string, InternalNode][], report: Report): void {
  const owners = new Map<string, string>();
  for (const [name, node] of internal) {
    for (const [ifaceName, iface] of Object.entries(node.interfaces)) {
      for (const [field, cidr] of [["ip", iface.ip], ["ip6", iface.ip6]] as const) {
        if (!cidr) continue;
        const address = cidr.addressText();
        const owner = owners.get(address);
        if (owner) report(["nodes", name, "interfaces", ifaceName, field], `address ${address} is already used by ${owner}; give each interface its own address`);
        else owners.set(address, keyId(name, ifaceName));
      }
    }
  }
}

/**
 * A public key names one peer: an external node with the key of an internal interface (or of
 * another external node) would make an interface list its own key as a peer, or another get two
 * peers with one key. Internal interfaces' keys are known in a fabrics.cfg (generated ones are
 * made on the nodes, each its own).
 */
function checkUniquePublicKeys(fabric: Fabric, report: Report): void {
  const owners = new Map<string, string>();
  const claim = (key: string, owner: string, where: readonly PathStep[]): void => {
    const first = owners.get(key);
    if (first) report(where, `${key} is also the public key of ${first}; each interface and external node has its own`);
    else owners.set(key, owner);
  };
  for (const [name, node] of Object.entries(fabric.nodes)) {
    if (node.role === "internal") {
      for (const [ifaceName, iface] of Object.entries(node.interfaces)) if (iface.publicKey) claim(iface.publicKey, `interface ${keyId(name, ifaceName)}`, ["nodes", name, "interfaces", ifaceName, "publicKey"]);
    }
  }
  for (const [name, node] of Object.entries(fabric.nodes)) if (node.role === "external") claim(node.publicKey, `external node ${name}`, ["nodes", name, "publicKey"]);
}

/**
 * Two interfaces of one node on overlapping subnets: the kernel routes each subnet through one
 * of them, so the other's traffic leaves by the wrong one (Proxmox VE accepts it:
 * syntax-interface-overlapping-subnets-one-node). `interfaces` are the node's, `names` how each
 * is named in a message; `report` gets the later interface's index, the field and why.
 */
function checkInterfaceSubnets(
  interfaces: readonly { readonly ip?: Cidr; readonly ip6?: Cidr }[],
  names: readonly string[],
  report: (index: number, earlier: number, field: "ip" | "ip6", message: string) => void,
): void {
  interfaces.forEach((iface, index) => {
    for (const field of ["ip", "ip6"] as const) {
      const own = iface[field];
      const earlier = own ? interfaces.findIndex((other, j) => j < index && other[field]?.overlaps(own) === true) : -1;
      if (!own || earlier < 0) continue;
      const theirs = (interfaces[earlier] as (typeof interfaces)[number])[field] as Cidr;
      const message = `${own.toString()} overlaps ${theirs.toString()} of ${names[earlier]} on this node: the kernel routes the subnet through one of them, so the other's traffic leaves by the wrong interface; give each interface a subnet of its own`;
      report(index, earlier, field, message);
    }
  });
}

function checkListenPorts(name: string, node: InternalNode, report: Report): void {
  const owners = new Map<number, string>();
  for (const [ifaceName, iface] of Object.entries(node.interfaces)) {
    if (iface.listenPort === undefined) continue;
    const owner = owners.get(iface.listenPort);
    if (owner) report(["nodes", name, "interfaces", ifaceName, "listenPort"], `port ${iface.listenPort} is already used by interface ${owner} on this node`);
    else owners.set(iface.listenPort, ifaceName);
  }
}

/** Each peer's reference: its own interface, the node and interface it names, and what its endpoint needs. */
function checkPeerReferences(fabric: Fabric, table: PeeringTable, report: Report): void {
  for (const [name, node] of table.internal) {
    const locals = table.locals.get(name) as Int32Array;
    const remotes = table.remotes.get(name) as Int32Array;
    for (let index = 0; index < node.peers.length; index++) {
      const peer = node.peers[index] as Peer;
      if (locals[index] === -1) report([...peerAt(name, index), "iface"], `interface "${peer.iface}" is not defined on node "${name}"`, "error", meant(peer.iface, Object.keys(node.interfaces)));
      const remote = remotes[index] as number;
      if (remote === -1) {
        checkUnresolvedTarget(fabric, name, peer, peerAt(name, index), report);
        continue;
      }
      // Proxmox VE accepts such an entry and renders the interface's own key as its peer
      if (remote === locals[index]) report(peerAt(name, index), `interface ${keyId(name, peer.iface)} cannot be its own peer: it would list its own key (Proxmox VE renders it so)`);
      const target = table.interfaces[remote] as NumberedInterface;
      const endpoint = peer.endpoint ?? target.nodeSpec.endpoint;
      if (endpoint && endpoint.port === undefined && target.iface.listenPort === undefined) {
        report([...peerAt(name, index), "endpoint"], `${keyId(target.node, target.name)} has no listenPort, so the endpoint needs a port (e.g. "${endpoint.host}:51820")`);
      }
    }
  }
}

/** Where a node's peer entry is, for a problem: `node: peers[3]` (made only then: a mesh has a million peers). */
const peerAt = (node: string, index: number): PathStep[] => ["nodes", node, "peers", index];

/**
 * The target of a peer of node `owner` that names no internal interface of the fabric: fine for
 * an external node, else a problem at `where` (never suggesting `owner` itself: a self-peer is refused).
 */
function checkUnresolvedTarget(fabric: Fabric, owner: string, peer: Peer, where: readonly PathStep[], report: Report): void {
  const target = fabric.nodes[peer.node];
  const others = Object.keys(fabric.nodes).filter((node) => node !== owner);
  if (!target) report([...where, "node"], `node "${peer.node}" is not defined in fabric "${fabric.name}"`, "error", meant(peer.node, others));
  else if (target.role !== peer.type) report([...where, "type"], `node "${peer.node}" is ${target.role}; use type "${target.role}"`);
  else if (peer.type === "internal" && target.role === "internal") report([...where, "nodeIface"], `interface "${peer.nodeIface}" is not defined on node "${peer.node}"`, "error", meant(peer.nodeIface, Object.keys(target.interfaces)));
}

/** "did you mean …?" for a misspelt name, when one of `known` is close. */
function meant(word: string, known: readonly string[]): string | undefined {
  const close = closestOf(word, known);
  return close ? `did you mean "${close}"?` : undefined;
}

/**
 * Rules between the fabrics of one file (Proxmox VE's, and ours): a node in several fabrics
 * runs all their interfaces at once, so no two may share a listen port or an interface name.
 * Problems carry their fabric: `fabric: node: iface: field`.
 */
export function validateAcrossFabrics(fabrics: readonly Fabric[]): Problem[] {
  const problems: Problem[] = [];
  const ports = new Map<string, string>();
  const names = new Map<string, string>();
  // each node's interfaces in every fabric, for their subnets (one fabric's own clashes are its validation's)
  const byNode = new Map<string, { fabric: string; name: string; iface: { ip?: Cidr; ip6?: Cidr } }[]>();
  for (const fabric of fabrics) {
    for (const [name, node] of Object.entries(fabric.nodes)) {
      if (node.role !== "internal") continue;
      for (const [ifaceName, iface] of Object.entries(node.interfaces)) byNode.set(name, [...(byNode.get(name) ?? []), { fabric: fabric.name, name: ifaceName, iface }]);
    }
  }
  for (const [node, all] of byNode) {
    checkInterfaceSubnets(
      all.map((entry) => entry.iface),
      all.map((entry) => `${entry.name} (fabric ${entry.fabric})`),
      (index, earlier, field, message) => {
        const [here, there] = [all[index], all[earlier]] as [(typeof all)[number], (typeof all)[number]];
        if (here.fabric !== there.fabric) problems.push(problemAt("error", { fabric: here.fabric, path: ["nodes", node, "interfaces", here.name, field] }, message));
      },
    );
  }
  for (const fabric of fabrics) {
    for (const [name, node] of Object.entries(fabric.nodes)) {
      if (node.role !== "internal") continue;
      for (const [ifaceName, iface] of Object.entries(node.interfaces)) {
        const here = { fabric: fabric.name, path: ["nodes", name, "interfaces", ifaceName] };
        const otherName = names.get(`${name}/${ifaceName}`);
        if (otherName !== undefined) {
          problems.push(problemAt("error", here, `interface ${ifaceName} of node ${name} is also defined in fabric ${otherName}; a node's interface names must differ across fabrics`));
        } else names.set(`${name}/${ifaceName}`, fabric.name);
        if (iface.listenPort === undefined) continue;
        const otherPort = ports.get(`${name}/${iface.listenPort}`);
        if (otherPort !== undefined && !otherPort.startsWith(`${fabric.name}/`)) {
          problems.push(
            problemAt("error", { ...here, path: [...here.path, "listenPort"] }, `port ${iface.listenPort} is already used on node ${name} by ${otherPort.replace("/", ": ")}; a node's listen ports must differ across fabrics`),
          );
        } else ports.set(`${name}/${iface.listenPort}`, `${fabric.name}/${ifaceName}`);
      }
    }
  }
  return problems;
}

/**
 * The link that holds an internal node's own addresses (`dummy_<fabric>`) must be a name Linux
 * takes, and no interface of the node may have it.
 */
function checkNodeAddressLink(fabric: Fabric, report: Report): void {
  const link = nodeAddressLink(fabric.name);
  for (const [name, node] of Object.entries(fabric.nodes)) {
    if (node.role !== "internal" || (!node.ip && !node.ip6)) continue;
    const field = node.ip ? "ip" : "ip6";
    const problem = ifnameProblem(link);
    if (problem) report(["nodes", name, field], `the node's address goes on the link ${link} (Proxmox VE's name for it), but its name ${problem}: name the fabric with at most ${IFNAMSIZ_MAX - nodeAddressLink("").length} characters`);
    else if (link in node.interfaces) report(["nodes", name, "interfaces", link], `is the link that holds the node's own address (${field}); name the interface differently`);
  }
}
