import type { WgKey } from "../model";
import { refreshHookLines } from "./endpoint-refresh";
import { renderIfupdown2 } from "./ifupdown2";
import { wgQuickConfigPath } from "./paths";
import { proxmoxConfigParts, renderProxmoxConfig, renderProxmoxModeStanza, renderProxmoxStanza } from "./proxmox";
import { joinConfig, peerSections, type ConfigParts, type RenderContext } from "./render-context";
import { hostRoutesOf, routedPeerPrefixes, routedPrefixes, type InterfaceView, type PeerView } from "./resolve";
import { writePeerSection } from "./wg-format";

/** The config formats we write. */
export const CONFIG_FORMATS = ["wg", "wg-quick", "ifupdown2", "proxmox", "proxmox-stanza"] as const;
/** One of {@link CONFIG_FORMATS}. */
export type ConfigFormat = (typeof CONFIG_FORMATS)[number];

/** One [Peer] section, in the RFC's order: host routes, endpoint, then the node's allowed IPs. */
function renderPeer(peer: PeerView, publicKey: WgKey): string {
  return writePeerSection(peer, publicKey, hostRoutesOf(peer), peer.allowedIps);
}

function renderConfig(view: InterfaceView, context: RenderContext, extra: readonly string[]): ConfigParts {
  let head = "[Interface]\n";
  if (context.privateKey !== undefined) head += `PrivateKey = ${context.privateKey}\n`;
  if (view.listenPort !== undefined) head += `ListenPort = ${view.listenPort}\n`;
  for (const line of extra) head += `${line}\n`;
  return { head, peers: peerSections(view, context, renderPeer) };
}

/** The wg(8) `setconf` config in parts (see {@link renderWg}). */
export function wgParts(view: InterfaceView, context: RenderContext): ConfigParts {
  return renderConfig(view, context, []);
}

/**
 * The interface's config in wg(8) `setconf` format. Without a private key, the `PrivateKey`
 * line is left out: the node adds its own when writing the file.
 */
export function renderWg(view: InterfaceView, context: RenderContext): string {
  return joinConfig(wgParts(view, context));
}

/** The wg-quick(8) config in parts (see {@link renderWgQuick}). */
export function wgQuickParts(view: InterfaceView, context: RenderContext): ConfigParts {
  const extra: string[] = [];
  if (view.addresses.length > 0) extra.push(`Address = ${view.addresses.map(String).join(", ")}`);
  if (view.mtu !== undefined) extra.push(`MTU = ${view.mtu}`);
  if (view.peers.some((peer) => peer.skipRouteGeneration)) {
    extra.push("Table = off");
    for (const route of routedPrefixes(view.addresses, routedPeerPrefixes(view))) extra.push(`PostUp = ip route replace ${route.toString()} dev %i`);
  }
  extra.push(...refreshHookLines(view, "wg-quick", wgQuickConfigPath(view.iface)));
  return renderConfig(view, context, extra);
}

/**
 * The wg-quick(8) config: the `setconf` format plus `Address` and `MTU`. When a peer skips route
 * generation, wg-quick must not route every AllowedIP (`Table = off`): the others' routes are
 * `PostUp` lines instead. A peer reached by name gets its follower started and stopped with the
 * interface (see endpoint-refresh.ts).
 */
export function renderWgQuick(view: InterfaceView, context: RenderContext): string {
  return joinConfig(wgQuickParts(view, context));
}

const PARTS: Record<ConfigFormat, (view: InterfaceView, context: RenderContext) => ConfigParts> = {
  wg: wgParts,
  "wg-quick": wgQuickParts,
  ifupdown2: (view) => ({ head: renderIfupdown2(view), peers: [] }),
  proxmox: proxmoxConfigParts,
  "proxmox-stanza": (view) => ({ head: renderProxmoxStanza(view), peers: [] }),
};

/** An interface's file in `format`, in parts (a stanza is all head). */
export function renderParts(format: ConfigFormat, view: InterfaceView, context: RenderContext): ConfigParts {
  return PARTS[format](view, context);
}

/** An interface's file in `format`. */
export function renderFormat(format: ConfigFormat, view: InterfaceView, context: RenderContext): string {
  return joinConfig(renderParts(format, view, context));
}

/** What a node receives for one interface in its apply mode: the config and, for ifupdown2 and proxmox, the stanza. */
export interface NodeFiles {
  /** The WireGuard config. */
  readonly config: string;
  /** The ifupdown2 stanza (empty in wg-quick and none modes). */
  readonly stanza: string;
}

/** The files {@link InterfaceView.applyMode} needs: wg-quick format, setconf plus our stanza, or Proxmox VE's two files (the config in our folder). */
export function renderNodeFiles(view: InterfaceView, context: RenderContext): NodeFiles {
  if (view.applyMode === "ifupdown2") return { config: renderWg(view, context), stanza: renderIfupdown2(view) };
  if (view.applyMode === "proxmox") return { config: renderProxmoxConfig(view, context), stanza: renderProxmoxModeStanza(view) };
  return { config: renderWgQuick(view, context), stanza: "" };
}
