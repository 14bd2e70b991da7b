import { Cidr, formatEndpoint, parseEndpoint, type Fabric, type InternalNode, type Peer, type Problem } from "../model";
import { interfaceAddresses, resolveInterfaces, routesOf, type InterfaceView } from "./resolve";
import { keyId, peerLabel } from "./keys";

type Report = (where: string, message: string, severity?: Problem["severity"]) => void;

/**
 * Checks the references and rules between parts of a parsed fabric (the schema checks each part
 * alone). Returns every problem at once; errors block, warnings (one-sided peerings) do not.
 */
export function validateFabric(fabric: Fabric): Problem[] {
  const problems: Problem[] = [];
  const report: Report = (where, message, severity = "error") => problems.push({ severity, where, message });
  const internal = Object.entries(fabric.nodes).filter((entry): entry is [string, InternalNode] => entry[1].role === "internal");

  checkUniqueAddresses(internal, report);
  for (const [name, node] of internal) {
    checkListenPorts(name, node, report);
    node.peers.forEach((peer, index) => checkPeerReference(fabric, name, node, peer, index, report));
    checkDuplicatePeers(name, node, report);
    checkAllowedIpOverlaps(fabric, name, node, report);
    checkDefaultRoutes(fabric, name, node, report);
  }
  const views = resolveInterfaces(fabric);
  checkEndpointsOutsideTunnel(fabric, views, report);
  checkRoutesAcrossInterfaces(fabric, views, report);
  checkExternalEndpoints(fabric, report);
  checkPeeringsAreMutual(internal, report);
  return problems;
}

/** Numbers every internal interface, so a peering is a pair of numbers, not a string (large meshes). */
function numberInterfaces(internal: [string, InternalNode][]): Map<string, Map<string, number>> {
  const numbers = new Map<string, Map<string, number>>();
  let next = 0;
  for (const [name, node] of internal) numbers.set(name, new Map(Object.keys(node.interfaces).map((iface) => [iface, next++])));
  return numbers;
}

/** An internal peering listed on one side only cannot bring the tunnel up: warn. */
function checkPeeringsAreMutual(internal: [string, InternalNode][], report: Report): void {
  const numbers = numberInterfaces(internal);
  const count = [...numbers.values()].reduce((sum, ifaces) => sum + ifaces.size, 0);
  const peerings = new Set<number>();
  const pairOf = (node: string, iface: string, peer: Peer & { type: "internal" }): [number, number] | undefined => {
    const local = numbers.get(node)?.get(iface);
    const remote = numbers.get(peer.node)?.get(peer.nodeIface);
    return local === undefined || remote === undefined ? undefined : [local, remote];
  };
  for (const [name, node] of internal) {
    for (const peer of node.peers) {
      const pair = peer.type === "internal" ? pairOf(name, peer.iface, peer) : undefined;
      if (pair) peerings.add(pair[0] * count + pair[1]);
    }
  }
  for (const [name, node] of internal) {
    node.peers.forEach((peer, index) => {
      const pair = peer.type === "internal" && peer.node !== name ? pairOf(name, peer.iface, peer) : undefined;
      if (!pair || peer.type !== "internal") return;
      if (!peerings.has(pair[1] * count + pair[0])) {
        report(
          `${name}: peers[${index}]`,
          `${peer.node}/${peer.nodeIface} has no peer back to ${keyId(name, peer.iface)}; the tunnel cannot come up until ` +
            `${peer.node} lists { type: "internal", node: "${name}", nodeIface: "${peer.iface}", iface: "${peer.nodeIface}" }`,
          "warning",
        );
      }
    });
  }
}

/** An external node is no interface of ours: its endpoint cannot borrow a listen port, so it needs one. */
function checkExternalEndpoints(fabric: Fabric, report: Report): void {
  for (const [name, node] of Object.entries(fabric.nodes)) {
    if (node.role === "external" && node.endpoint && node.endpoint.port === undefined) {
      report(`${name}: endpoint`, `an external node's endpoint needs a port (e.g. "${formatEndpoint(node.endpoint, 51820)}")`);
    }
  }
  for (const [name, node] of Object.entries(fabric.nodes)) {
    if (node.role !== "internal") continue;
    node.peers.forEach((peer, index) => {
      if (peer.type === "external" && peer.endpoint && peer.endpoint.port === undefined) {
        report(`${name}: peers[${index}]: endpoint`, `an external peer's endpoint needs a port (e.g. "${formatEndpoint(peer.endpoint, 51820)}")`);
      }
    });
  }
}

/** A /0 in AllowedIPs sends every packet of the node into the tunnel, the SSH session included: only when asked. */
function checkDefaultRoutes(fabric: Fabric, name: string, node: InternalNode, report: Report): void {
  if (node.fullTunnel) return;
  node.peers.forEach((peer, index) => {
    const target = fabric.nodes[peer.node];
    const routes = [...(peer.allowedIps ?? (target && target.role === peer.type ? target.allowedIps : [])), ...(peer.extraAllowedIps ?? [])];
    for (const route of routes) {
      if (route.prefix !== 0) continue;
      report(
        `${name}: peers[${index}]: allowedIps`,
        `${route.toString()} would route all of ${name}'s traffic (its SSH connection too) to ${peerLabel(peer)}; set fullTunnel: true on ${name} if that is meant`,
      );
    }
  });
}

/**
 * WireGuard sends its own packets to a peer's endpoint outside the tunnel: an AllowedIP of the
 * same interface covering that address routes them into the tunnel, and the tunnel dies.
 * Large meshes share endpoint strings and route objects, so each is worked out once: every
 * endpoint address of the fabric is sorted once, and each route finds the few (usually no)
 * endpoints inside it by binary search.
 */
function checkEndpointsOutsideTunnel(fabric: Fabric, views: readonly InterfaceView[], report: Report): void {
  const addresses = new Map<string, Cidr | null>();
  const addressOf = (endpoint: string | undefined): Cidr | null => {
    if (endpoint === undefined) return null;
    let address = addresses.get(endpoint);
    if (address === undefined) {
      const parsed = parseEndpoint(endpoint);
      address = typeof parsed === "string" || parsed.kind === "hostname" ? null : Cidr.of(`${parsed.host}/${parsed.kind === "ipv4" ? 32 : 128}`);
      addresses.set(endpoint, address);
    }
    return address;
  };
  for (const view of views) for (const peer of view.peers) addressOf(peer.endpoint);
  const sorted = [...new Map([...addresses.values()].flatMap((a) => (a ? [[a.toString(), a] as const] : []))).values()].sort(
    (a, b) => a.family - b.family || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0),
  );
  if (sorted.length === 0) return;
  const inside = new Map<Cidr, Cidr[]>();
  const endpointsIn = (route: Cidr): Cidr[] => {
    let found = inside.get(route);
    if (found) return found;
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const at = sorted[mid] as Cidr;
      if (at.family < route.family || (at.family === route.family && at.first < route.first)) low = mid + 1;
      else high = mid;
    }
    found = [];
    for (let i = low; i < sorted.length && (sorted[i] as Cidr).family === route.family && (sorted[i] as Cidr).first <= route.last; i++) found.push(sorted[i] as Cidr);
    inside.set(route, found);
    return found;
  };
  for (const view of views) {
    let local: Map<string, string> | undefined;
    for (const peer of view.peers) {
      for (const route of routesOf(peer)) {
        if (route.prefix === 0) continue;
        const candidates = endpointsIn(route);
        if (candidates.length === 0) continue;
        local ??= new Map(view.peers.flatMap((p) => (addressOf(p.endpoint) ? [[(addressOf(p.endpoint) as Cidr).toString(), p.label] as const] : [])));
        const hit = candidates.find((candidate) => local?.has(candidate.toString()));
        if (!hit) continue;
        report(
          `${view.node}: ${view.iface}: peers[${peerIndex(fabric, view, peer.label)}]: allowedIps`,
          `${route.toString()} of ${peer.label} covers ${hit.addressText()}, the endpoint of ${local.get(hit.toString())}: WireGuard's own packets to it would enter the tunnel`,
        );
      }
    }
  }
}

/** The index in its node's `peers` of the peer a view's stanza comes from. */
function peerIndex(fabric: Fabric, view: InterfaceView, label: string): number {
  return (fabric.nodes[view.node] as InternalNode).peers.findIndex((p) => p.iface === view.iface && peerLabel(p) === label);
}

/**
 * A node routes a prefix through one interface only: the same prefix routed through two (the
 * node's allowed IPs reach both when two interfaces peer with one node) makes each apply take
 * the route from the other, and wg-quick fail at boot. Nodes with one interface are skipped.
 */
function checkRoutesAcrossInterfaces(fabric: Fabric, views: readonly InterfaceView[], report: Report): void {
  const byNode = new Map<string, InterfaceView[]>();
  for (const view of views) {
    const list = byNode.get(view.node) ?? [];
    list.push(view);
    byNode.set(view.node, list);
  }
  for (const nodeViews of byNode.values()) {
    if (nodeViews.length < 2) continue;
    const routed = new Map<string, { iface: string; label: string }>();
    for (const view of nodeViews) {
      for (const peer of view.peers) {
        if (peer.skipRoutes) continue;
        for (const route of routesOf(peer)) {
          if (route.prefix === 0) continue;
          const prefix = route.toString();
          const first = routed.get(prefix);
          if (!first) routed.set(prefix, { iface: view.iface, label: peer.label });
          else if (first.iface !== view.iface) {
            report(
              `${view.node}: ${view.iface}: peers[${peerIndex(fabric, view, peer.label)}]: allowedIps`,
              `${prefix} of ${peer.label} is already routed through ${first.iface} (to ${first.label}); a node routes a prefix through one interface only: ` +
                "override allowedIps on one of the two peers, or set skipRouteGeneration on one",
            );
          }
        }
      }
    }
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
        if (owner) report(`${name}: ${ifaceName}: ${field}`, `address ${address} is already used by ${owner}; give each interface its own address`);
        else owners.set(address, keyId(name, ifaceName));
      }
    }
  }
}

function checkListenPorts(name: string, node: InternalNode, report: Report): void {
  const owners = new Map<number, string>();
  for (const [ifaceName, iface] of Object.entries(node.interfaces)) {
    if (iface.listenPort === undefined) continue;
    const owner = owners.get(iface.listenPort);
    if (owner) report(`${name}: ${ifaceName}: listenPort`, `port ${iface.listenPort} is already used by interface ${owner} on this node`);
    else owners.set(iface.listenPort, ifaceName);
  }
}

function checkPeerReference(fabric: Fabric, name: string, node: InternalNode, peer: Peer, index: number, report: Report): void {
  const where = `${name}: peers[${index}]`;
  if (!node.interfaces[peer.iface]) {
    report(`${where}: iface`, `interface "${peer.iface}" is not defined on node "${name}"`);
  }
  const target = fabric.nodes[peer.node];
  if (!target) {
    report(`${where}: node`, `node "${peer.node}" is not defined in fabric "${fabric.name}"`);
    return;
  }
  if (target.role !== peer.type) {
    report(`${where}: type`, `node "${peer.node}" is ${target.role}; use type "${target.role}"`);
    return;
  }
  if (peer.type !== "internal" || target.role !== "internal") return;
  const targetIface = target.interfaces[peer.nodeIface];
  if (!targetIface) {
    report(`${where}: nodeIface`, `interface "${peer.nodeIface}" is not defined on node "${peer.node}"`);
    return;
  }
  if (peer.node === name && peer.nodeIface === peer.iface) {
    report(where, `interface ${keyId(name, peer.iface)} cannot be its own peer`);
  }
  const endpoint = peer.endpoint ?? target.endpoint;
  if (endpoint && endpoint.port === undefined && targetIface.listenPort === undefined) {
    report(
      `${where}: endpoint`,
      `${keyId(peer.node, peer.nodeIface)} has no listenPort, so the endpoint needs a port (e.g. "${endpoint.host}:51820")`,
    );
  }
}

function checkDuplicatePeers(name: string, node: InternalNode, report: Report): void {
  const first = new Map<string, number>();
  node.peers.forEach((peer, index) => {
    const target = peerLabel(peer);
    const key = `${peer.iface}|${target}`;
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, index);
    else report(`${name}: peers[${index}]`, `${target} is already a peer of ${peer.iface} (peers[${earlier}]); list each peer once per interface`);
  });
}

interface Claim {
  readonly route: Cidr;
  readonly index: number;
  readonly label: string;
}

/** Two peers of one interface claiming the same addresses make wg route to only one of them. */
function checkAllowedIpOverlaps(fabric: Fabric, name: string, node: InternalNode, report: Report): void {
  const claimsByIface = new Map<string, Claim[]>();
  node.peers.forEach((peer, index) => {
    const target = fabric.nodes[peer.node];
    if (!target || target.role !== peer.type) return;
    const routes: Cidr[] = [...(peer.allowedIps ?? target.allowedIps), ...(peer.extraAllowedIps ?? [])];
    if (peer.type === "internal" && target.role === "internal") {
      const iface = target.interfaces[peer.nodeIface];
      if (iface) routes.push(...interfaceAddresses(iface).map((address) => address.hostRoute()));
    }
    const label = peerLabel(peer);
    let claims = claimsByIface.get(peer.iface);
    if (!claims) claimsByIface.set(peer.iface, (claims = []));
    for (const route of routes) claims.push({ route, index, label });
  });
  for (const [iface, claims] of claimsByIface) {
    claims.sort((a, b) => a.route.family - b.route.family || (a.route.first < b.route.first ? -1 : a.route.first > b.route.first ? 1 : 0));
    // Sweep: the claim reaching furthest so far overlaps any later claim that starts before it ends.
    let widest: Claim | undefined;
    for (const claim of claims) {
      if (widest && widest.route.overlaps(claim.route) && widest.index !== claim.index) {
        report(
          `${name}: ${iface}: peers[${claim.index}]`,
          `AllowedIPs ${claim.route.toString()} of ${claim.label} overlaps ${widest.route.toString()} of peers[${widest.index}] (${widest.label}); ` +
            "each address may be routed to one peer only",
        );
      }
      if (!widest || widest.route.family !== claim.route.family || claim.route.last > widest.route.last) widest = claim;
    }
  }
}

/**
 * Rules between the fabrics of one file (Proxmox VE's, and ours): a node in several fabrics
 * runs all their interfaces at once, so no two may share a listen port or an interface name.
 * Problems are located as `fabric: node: iface: field`.
 */
export function validateAcrossFabrics(fabrics: readonly Fabric[]): Problem[] {
  const problems: Problem[] = [];
  const ports = new Map<string, string>();
  const names = new Map<string, string>();
  for (const fabric of fabrics) {
    for (const [name, node] of Object.entries(fabric.nodes)) {
      if (node.role !== "internal") continue;
      for (const [ifaceName, iface] of Object.entries(node.interfaces)) {
        const here = `${fabric.name}: ${name}: ${ifaceName}`;
        const otherName = names.get(`${name}/${ifaceName}`);
        if (otherName !== undefined) {
          problems.push({ severity: "error", where: here, message: `interface ${ifaceName} of node ${name} is also defined in fabric ${otherName}; a node's interface names must differ across fabrics` });
        } else names.set(`${name}/${ifaceName}`, fabric.name);
        if (iface.listenPort === undefined) continue;
        const otherPort = ports.get(`${name}/${iface.listenPort}`);
        if (otherPort !== undefined && !otherPort.startsWith(`${fabric.name}/`)) {
          problems.push({
            severity: "error",
            where: `${here}: listenPort`,
            message: `port ${iface.listenPort} is already used on node ${name} by ${otherPort.replace("/", ": ")}; a node's listen ports must differ across fabrics`,
          });
        } else ports.set(`${name}/${iface.listenPort}`, `${fabric.name}/${ifaceName}`);
      }
    }
  }
  return problems;
}
