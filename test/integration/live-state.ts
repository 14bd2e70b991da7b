/**
 * Reads what a lab node really runs (wg show all dump, ip -j addr/route/link, its config files
 * and boot units) and compares it with a model's expected state. Used by the model-based tests.
 */
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import type { Lab } from "../../lab/lab";
import { configPath, pairKeyFile } from "../../provider/fabric";
import { DEFAULT_KEY_DIR, type ApplyMode } from "../../provider/model";
import { IFACES, type ExpectedIface, type Model, type NodeAddresses, type Tunnel } from "./fabric-model";

interface ObservedPeer {
  readonly psk?: string;
  readonly endpoint?: string;
  readonly allowedIps: string[];
  readonly keepalive?: number;
}

interface ObservedIface {
  publicKey: string;
  port: number;
  peers: Map<string, ObservedPeer>;
  addresses: string[];
  routes: string[];
  mtu?: number;
  up: boolean;
}

type IpAddr = { ifname: string; addr_info: { local: string; prefixlen: number; scope: string }[] };
type IpRoute = { dst: string; dev?: string; protocol?: string };
type IpLink = { ifname: string; mtu: number; flags: string[] };

/** Every WireGuard interface a node runs, with its addresses, routes and link. */
export function observe(lab: Lab, node: string): Map<string, ObservedIface> {
  const found = new Map<string, ObservedIface>();
  // the interface lines of this dump hold private keys: they are read here and never printed
  for (const line of lab.nodeExec(node, "wg", ["show", "all", "dump"]).split("\n").filter(Boolean)) {
    const fields = line.split("\t");
    const iface = fields[0] as string;
    if (fields.length === 5) {
      found.set(iface, { publicKey: fields[2] as string, port: Number(fields[3]), peers: new Map(), addresses: [], routes: [], up: false });
    } else {
      const [, key, psk, endpoint, allowed, , , , keepalive] = fields;
      found.get(iface)?.peers.set(key as string, {
        ...(psk !== "(none)" ? { psk } : {}),
        ...(endpoint !== "(none)" ? { endpoint } : {}),
        allowedIps: allowed === "(none)" ? [] : (allowed as string).split(",").sort(),
        ...(keepalive !== "off" ? { keepalive: Number(keepalive) } : {}),
      });
    }
  }
  for (const entry of JSON.parse(lab.nodeExec(node, "ip", ["-j", "address", "show"])) as IpAddr[]) {
    const iface = found.get(entry.ifname);
    if (iface) iface.addresses = entry.addr_info.filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`);
  }
  for (const family of ["-4", "-6"]) {
    for (const route of JSON.parse(lab.nodeExec(node, "ip", ["-j", family, "route", "show", "table", "main"])) as IpRoute[]) {
      const iface = route.dev ? found.get(route.dev) : undefined;
      if (!iface || route.protocol === "kernel") continue;
      iface.routes.push(route.dst.includes("/") ? route.dst : `${route.dst}/${family === "-4" ? 32 : 128}`);
    }
  }
  for (const link of JSON.parse(lab.nodeExec(node, "ip", ["-j", "link", "show"])) as IpLink[]) {
    const iface = found.get(link.ifname);
    if (iface) Object.assign(iface, { mtu: link.mtu, up: link.flags.includes("UP") });
  }
  return found;
}

/** The endpoints a node's config file declares, by peer public key. */
function fileEndpoints(lab: Lab, node: string, iface: string, mode: ApplyMode): Map<string, string | undefined> | undefined {
  const file = configPath(mode, DEFAULT_KEY_DIR, iface);
  // a running interface without its file is a mismatch to name, not a crash of the check
  if (!existsSync(lab.nodePath(node, file))) return undefined;
  const text = lab.readNodeFile(node, file);
  const endpoints = new Map<string, string | undefined>();
  for (const section of text.split("[Peer]").slice(1)) {
    const key = /^PublicKey = (\S+)$/m.exec(section)?.[1] as string;
    endpoints.set(key, /^Endpoint = (\S+)$/m.exec(section)?.[1]);
  }
  return endpoints;
}

/**
 * Every difference between what the nodes run and what the model says, one line each. The
 * public key of `node/iface` is read from the node's own key folder.
 */
export function compareLive(lab: Lab, model: Model, expected: Map<string, ExpectedIface>, addresses: Readonly<Record<string, NodeAddresses>>): string[] {
  const problems: string[] = [];
  // a key not made yet (its node cut off in the run) is a difference that names it, not a crash
  const keyOf = (node: string, iface: string): string => {
    const file = `${DEFAULT_KEY_DIR}/${iface}.pub`;
    return existsSync(lab.nodePath(node, file)) ? lab.readNodeFile(node, file).trim() : `(no key of ${node}/${iface} on ${node})`;
  };
  for (const node of model.names) {
    const running = observe(lab, node);
    const declared = IFACES.filter((iface) => expected.has(`${node}/${iface}`));
    // the model's interface names only: another stack's interfaces on the node are not its business
    const unexpected = [...running.keys()].filter((iface) => (IFACES as readonly string[]).includes(iface) && !declared.includes(iface as never));
    if (unexpected.length > 0) problems.push(`${node}: runs ${unexpected.join(", ")}, which is not declared`);
    // a full tunnel's policy routing is there exactly while a peer takes the node's default traffic
    const gateway = Object.values(model.nodes[node]?.entries.wg0 ?? {}).some((entry) => entry.gateway) && declared.includes("wg0");
    const policy = /not from all fwmark 0x[0-9a-f]+ lookup \d+/.test(lab.nodeExec(node, "ip", ["-4", "rule", "show"]));
    if (policy !== gateway) problems.push(`${node}: a full tunnel's rules are ${policy ? "there" : "missing"}`);
    for (const iface of IFACES) {
      const unit = path.join(lab.host(node).dir, `systemd/multi-user.target.wants/wg-quick@${iface}.service`);
      if (existsSync(unit) !== (declared.includes(iface) && model.nodes[node]?.mode === "wg-quick")) problems.push(`${node}/${iface}: wg-quick@${iface} is ${existsSync(unit) ? "still" : "not"} enabled for boot`);
    }
    for (const iface of declared) {
      const id = `${node}/${iface}`;
      const want = expected.get(id) as ExpectedIface;
      const have = running.get(iface);
      if (!have) {
        problems.push(`${id}: not running`);
        continue;
      }
      const check = (what: string, actual: unknown, wanted: unknown): void => {
        if (JSON.stringify(actual) !== JSON.stringify(wanted)) problems.push(`${id}: ${what} is ${JSON.stringify(actual)}, not ${JSON.stringify(wanted)}`);
      };
      check("public key", have.publicKey, keyOf(node, iface));
      check("listen port", have.port, want.port);
      check("link up", have.up, true);
      check("MTU", have.mtu, want.mtu);
      check("addresses", have.addresses, [want.address]);
      check("routes", [...have.routes].sort(), want.routes);
      const mode = model.nodes[node]?.mode ?? "wg-quick";
      const endpoints = fileEndpoints(lab, node, iface, mode);
      if (!endpoints) {
        problems.push(`${id}: runs, but its config file ${configPath(mode, DEFAULT_KEY_DIR, iface)} is missing`);
        continue;
      }
      const pairFiles = new Set(want.peers.filter((peer) => peer.pairKey).map((peer) => pairKeyFile(iface, peer.node, iface)));
      const stale = readdirSync(lab.nodePath(node, DEFAULT_KEY_DIR)).filter((f) => f.startsWith(`${iface}@`) && f.endsWith(".psk") && !pairFiles.has(f));
      if (stale.length > 0) problems.push(`${id}: keeps pair key files of no pair: ${stale.join(", ")}`);
      const wantKeys = new Map(want.peers.map((peer) => [keyOf(peer.node, iface), peer]));
      check("peers", [...have.peers.keys()].sort(), [...wantKeys.keys()].sort());
      for (const [key, peer] of wantKeys) {
        const live = have.peers.get(key);
        if (!live) continue;
        const label = `peer ${peer.node}/${iface}`;
        if (peer.pairKey) {
          // the pair's files, compared here and never printed
          const file = (at: string, other: string) => {
            const where = `${DEFAULT_KEY_DIR}/${pairKeyFile(iface, other, iface)}`;
            return existsSync(lab.nodePath(at, where)) ? lab.readNodeFile(at, where).trim() : "";
          };
          const [mine, theirs] = [file(node, peer.node), file(peer.node, node)];
          check(`${label} pair key`, !mine ? "no file" : mine !== theirs ? "differs from its peer's" : live.psk === mine ? "both ends' file" : "another", "both ends' file");
        } else check(`${label} pre-shared key`, live.psk !== undefined ? (live.psk === peer.psk ? "declared" : "another") : "none", peer.psk ? "declared" : "none");
        check(`${label} keepalive`, live.keepalive ?? 0, peer.keepalive ?? 0);
        check(`${label} AllowedIPs`, live.allowedIps, peer.allowedIps);
        check(`${label} endpoint in the file`, endpoints.get(key), peer.endpoint?.declared);
        // WireGuard follows a peer that roams (the lab nodes answer from their primary address),
        // so a live endpoint must point at the peer's node (at the declared port when one is
        // declared; a learned one keeps the port it learned until the peer sends again)
        const hosts = peer.endpoint?.hosts ?? [(addresses[peer.node] as NodeAddresses).primary, (addresses[peer.node] as NodeAddresses).secondary];
        const liveHost = live.endpoint?.replace(/:\d+$/, "");
        const livePort = Number(live.endpoint?.replace(/^.*:/, ""));
        if (live.endpoint !== undefined && (!hosts.includes(liveHost as string) || (peer.endpoint && livePort !== peer.endpoint.port))) {
          check(`${label} endpoint`, live.endpoint, `one of ${hosts.join(", ")}${peer.endpoint ? ` at port ${peer.endpoint.port}` : ""}`);
        }
        if (peer.endpoint && live.endpoint === undefined) check(`${label} endpoint`, "none", peer.endpoint.declared);
      }
    }
  }
  return problems;
}

/** Gives every lab node a second address on its lab link (198.18.`subnet`.101 …), for endpoint changes. */
export function secondaryAddresses(lab: Lab, subnet: number): Record<string, NodeAddresses> {
  return Object.fromEntries(
    lab.hosts.map((host, i) => {
      const secondary = `198.18.${subnet}.${101 + i}`;
      lab.addEth0Address(host.name, `${secondary}/24`);
      return [host.name, { primary: host.ip, secondary }];
    }),
  );
}

/** What pinging every tunnel found. */
export interface TunnelCheck {
  /** Tunnels that never answered. */
  readonly dead: string[];
  /** Tunnels that answered only after a new handshake (the peer's session was reset), with the wait. */
  readonly recovered: string[];
}

/**
 * Pings every tunnel at once (3 pings). One that does not answer gets up to `graceSeconds` more:
 * where one side lost its session (a node rebooted, a peer re-added to clear its endpoint) the
 * other keeps sending on its old session until WireGuard's rekey timeout (about 15 s) makes it
 * shake hands anew.
 */
export async function checkTunnels(lab: Lab, tunnels: readonly Tunnel[], graceSeconds = 25): Promise<TunnelCheck> {
  const label = (t: Tunnel): string => `${t.from} -> ${t.to}/${t.iface} (${t.address})`;
  const first = await Promise.all(tunnels.map((t) => lab.pingInBackground(t.from, t.address, 3, 0.2)));
  const silent = tunnels.filter((_, i) => Number(/(\d+) received/.exec(first[i] ?? "")?.[1] ?? 0) === 0);
  const waits = await Promise.all(silent.map((t) => lab.pingUntilAnswer(t.from, t.address, graceSeconds)));
  return {
    dead: silent.filter((_, i) => waits[i] === undefined).map(label),
    recovered: silent.flatMap((t, i) => (waits[i] === undefined ? [] : [`${label(t)} after ${waits[i]} s`])),
  };
}

/** Packets lost by a finished background ping, from its summary. */
export function lostPackets(summary: string): number {
  const match = /(\d+) packets transmitted, (\d+) received/.exec(summary);
  return match ? Number(match[1]) - Number(match[2]) : Number.NaN;
}
