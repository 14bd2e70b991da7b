import { Cidr } from "../../model";
import {
  cidrOf,
  DeclaredConfigError,
  isRefreshStop,
  numberOf,
  parseRefreshStart,
  readPairKeyMarker,
  readPeerKey,
  routedPrefixes,
  type DeclaredPeer,
  type EndpointRefresh,
  type PeerDraft,
} from "../../fabric";

/** What one interface's config declares: the state `wg-quick up` of that file would produce. */
export interface DeclaredInterface {
  readonly listenPort?: number;
  /** Interface addresses with prefix, host bits kept (`198.51.100.2/24`). */
  readonly addresses: readonly string[];
  readonly mtu?: number;
  readonly peers: readonly DeclaredPeer[];
  /**
   * The routes the files list themselves (a stanza's route lines, or wg-quick's `Table = off`
   * with `PostUp` routes), canonical; undefined when they are derived from the AllowedIPs.
   */
  readonly routes?: readonly string[];
  /** The follower of its endpoint names its files start (a hook line), if any. */
  readonly endpointRefresh?: EndpointRefresh;
}

/** The route a wg-quick `PostUp` line adds when `Table = off` (the one form our renderer writes). */
const POST_UP_ROUTE = /^ip route replace (\S+) dev %i$/;
/** The routes an ifupdown2 stanza adds: ours (`up ip route replace`) and Proxmox VE's (`post-up ip route add`). */
const STANZA_ROUTE = /^\s+(?:up|post-up) ip route (?:replace|add) (\S+) dev \S+\s*$/gm;

/**
 * Reads an interface config in wg(8) or wg-quick(8) format (as our renderers write it) into what
 * it declares, checking every value: a config that would not load stops here, before anything
 * is sent to the node. AllowedIPs lines add up, as in wg(8).
 */
export function parseDeclared(text: string): DeclaredInterface {
  let listenPort: number | undefined;
  let mtu: number | undefined;
  let routes: string[] | undefined;
  let endpointRefresh: EndpointRefresh | undefined;
  const addresses: string[] = [];
  const peers: PeerDraft[] = [];
  let section = "";
  text.split("\n").forEach((raw, index) => {
    const where = `line ${index + 1}`;
    const pairKey = readPairKeyMarker(raw, where);
    if (pairKey) {
      const peer = peers[peers.length - 1];
      if (section !== "[peer]" || !peer) throw new DeclaredConfigError(`${where}: a pair key outside a [Peer] section`);
      peer.pairKey = pairKey;
      return;
    }
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    if (line.startsWith("[")) {
      section = line.toLowerCase();
      if (section === "[peer]") peers.push({ allowedIps: [] });
      else if (section !== "[interface]") throw new DeclaredConfigError(`${where}: unknown section ${line}`);
      return;
    }
    const eq = line.indexOf("=");
    if (eq < 0 || section === "") throw new DeclaredConfigError(`${where}: not a "Key = value" line of a section`);
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    const list = value.split(",").map((item) => item.trim()).filter(Boolean);
    const peer = peers[peers.length - 1];
    if (section === "[interface]") {
      if (key === "listenport") listenPort = numberOf(value, `${where}: ListenPort`, 1, 65535);
      else if (key === "address") addresses.push(...list.map((item) => cidrOf(item, `${where}: Address`, false)));
      else if (key === "mtu") mtu = numberOf(value, `${where}: MTU`, 576, 65535);
      else if (key === "table") {
        if (value !== "off") throw new DeclaredConfigError(`${where}: Table must be off`);
        routes ??= [];
      } else if (key === "predown" && isRefreshStop(value)) return;
      else if (key === "postup" && parseRefreshStart(value)) endpointRefresh = parseRefreshStart(value);
      else if (key === "postup") {
        const route = POST_UP_ROUTE.exec(value);
        if (!route || !routes) throw new DeclaredConfigError(`${where}: PostUp may only add a route after Table = off, or start the follower of endpoint names`);
        routes.push(cidrOf(route[1] as string, `${where}: PostUp`, true));
      }
      else if (key === "privatekey") throw new DeclaredConfigError(`${where}: a PrivateKey must not be sent; the node adds its own`);
      else throw new DeclaredConfigError(`${where}: unknown [Interface] key ${line.slice(0, eq).trim()}`);
    } else if (peer && !readPeerKey(peer, key, value, where)) {
      throw new DeclaredConfigError(`${where}: unknown [Peer] key ${line.slice(0, eq).trim()}`);
    }
  });
  const seen = new Set<string>();
  const declared = peers.map((peer, index) => {
    if (!peer.publicKey) throw new DeclaredConfigError(`[Peer] number ${index + 1} has no PublicKey`);
    if (seen.has(peer.publicKey)) throw new DeclaredConfigError(`peer ${peer.publicKey} is listed twice`);
    seen.add(peer.publicKey);
    return { ...peer, publicKey: peer.publicKey, allowedIps: [...new Set(peer.allowedIps)] };
  });
  return { listenPort, addresses, mtu, peers: declared, ...(routes ? { routes } : {}), ...(endpointRefresh ? { endpointRefresh } : {}) };
}

/**
 * What an interface's files declare together: in ifupdown2 and proxmox modes the setconf file
 * has the peers and the stanza the addresses, MTU and routes (its `address`, `mtu` and route lines).
 */
export function parseDeclaredFiles(config: string, stanza: string): DeclaredInterface {
  const declared = parseDeclared(config);
  if (stanza.trim() === "") return declared;
  const values = (key: string): string[] => [...stanza.matchAll(new RegExp(`^\\s+${key}\\s+(\\S+)\\s*$`, "gm"))].map((match) => match[1] as string);
  const mtu = values("mtu")[0];
  const endpointRefresh = [...stanza.matchAll(/^\s+post-up (.*)$/gm)].map((match) => parseRefreshStart(match[1] as string)).find(Boolean);
  return {
    ...declared,
    ...(endpointRefresh ? { endpointRefresh } : {}),
    addresses: [...declared.addresses, ...values("address").map((text) => cidrOf(text, "stanza: address", false))],
    mtu: mtu === undefined ? declared.mtu : numberOf(mtu, "stanza: mtu", 576, 65535),
    routes: [...stanza.matchAll(STANZA_ROUTE)].map((match) => cidrOf(match[1] as string, "stanza: route", true)),
  };
}

/** The routes a declared interface needs: those its files list, else {@link routedPrefixes} of its AllowedIPs; canonical text. */
export function declaredRoutes(declared: DeclaredInterface): string[] {
  if (declared.routes) return [...new Set(declared.routes)];
  const allowed = declared.peers.flatMap((peer) => peer.allowedIps.map((text) => Cidr.of(text)));
  return routedPrefixes(declared.addresses.map((address) => Cidr.of(address)), allowed).map(String);
}
