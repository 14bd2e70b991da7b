import { parseEndpoint } from "../model";
import { configPath, endpointRefreshScriptPath } from "./paths";
import type { InterfaceView } from "./resolve";

/**
 * The follower of an interface's endpoint names (endpoint-refresh.sh on the node): how often it
 * looks, and the config whose [Peer] endpoints it reads. The interface's own files start and stop
 * it (wg-quick's PostUp and PreDown, a stanza's post-up and pre-down), so it lives and dies with
 * the interface at boot as live; apply starts, restarts or stops it on a running interface.
 */
export interface EndpointRefresh {
  /** Seconds between two looks. */
  readonly interval: number;
  /** The config file it reads (the interface's, where its apply mode keeps it). */
  readonly config: string;
}

/** True for an endpoint that names its host (`pve2.example.net:51820`): the ones that are followed. */
export function isNamedEndpoint(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  const parsed = parseEndpoint(endpoint);
  return typeof parsed !== "string" && parsed.kind === "hostname";
}

/**
 * What the interface's follower runs with, reading `config` (default: where its apply mode keeps
 * the config): undefined when it is off (0) or no peer is reached by name.
 */
export function endpointRefreshOf(view: InterfaceView, config = configPath(view.applyMode, view.keyDir, view.iface)): EndpointRefresh | undefined {
  if (view.endpointRefresh === 0 || !view.peers.some((peer) => isNamedEndpoint(peer.endpoint))) return undefined;
  return { interval: view.endpointRefresh, config };
}

/** The command that (re)starts the follower, as the interface's files write it. */
export function refreshStartCommand(keyDir: string, iface: string, refresh: EndpointRefresh): string {
  return `sh ${endpointRefreshScriptPath(keyDir, iface)} start ${iface} ${refresh.interval} ${refresh.config}`;
}

/** The command that stops it. */
export function refreshStopCommand(keyDir: string, iface: string): string {
  return `sh ${endpointRefreshScriptPath(keyDir, iface)} stop ${iface}`;
}

/** The lines that start and stop the follower with the interface: wg-quick's hooks, or a stanza's (whose `config` it reads). */
export function refreshHookLines(view: InterfaceView, form: "wg-quick" | "stanza", config?: string): string[] {
  const refresh = endpointRefreshOf(view, config);
  if (!refresh) return [];
  const start = refreshStartCommand(view.keyDir, view.iface, refresh);
  const stop = refreshStopCommand(view.keyDir, view.iface);
  return form === "wg-quick" ? [`PostUp = ${start}`, `PreDown = ${stop}`] : [`\tpost-up ${start}`, `\tpre-down ${stop}`];
}

// the commands above, read back: interval and config are what the plan compares
const START = /^sh \/\S+\.endpoint-refresh\.sh start \S+ (\d+) (\/\S+)$/;
const STOP = /^sh \/\S+\.endpoint-refresh\.sh stop \S+$/;

/** Reads a start command back (a declared file's hook), or undefined when `command` is none. */
export function parseRefreshStart(command: string): EndpointRefresh | undefined {
  const match = START.exec(command.trim());
  return match ? { interval: Number(match[1]), config: match[2] as string } : undefined;
}

/** True when `command` is the follower's stop command. */
export function isRefreshStop(command: string): boolean {
  return STOP.test(command.trim());
}
