import * as ipaddr from "ipaddr.js";
import { z } from "zod";

/** Where a peer is reached: an IPv4/IPv6 address or a hostname, with an optional UDP port. */
export interface Endpoint {
  readonly host: string;
  readonly kind: "ipv4" | "ipv6" | "hostname";
  readonly port?: number;
}

const HOSTNAME_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** Why `port` is not a UDP port number, or undefined. */
export function portProblem(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `port ${port} is outside 1-65535`;
}

/** A UDP or TCP port: a number in 1-65535. */
export const portSchema = z.number({ error: "must be a port number, 1-65535" }).superRefine((port, ctx) => {
  const problem = portProblem(port);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

function parsePort(text: string, whole: string): number | string {
  if (!/^\d{1,5}$/.test(text)) return `"${whole}" has an invalid port "${text}"`;
  const port = Number(text);
  return portProblem(port) ? `"${whole}": ${portProblem(port)}` : port;
}

function hostKind(host: string): Endpoint["kind"] | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) return "ipv4";
  if (ipaddr.IPv6.isValid(host) && !host.includes("%")) return "ipv6";
  if (host.length > 253) return undefined;
  const labels = host.replace(/\.$/, "").split(".");
  if (!labels.every((label) => HOSTNAME_LABEL.test(label))) return undefined;
  // "192.0.2" or "1.2.3.256" look numeric but are no address; refuse rather than resolve them.
  if (/^\d+$/.test(labels[labels.length - 1] ?? "")) return undefined;
  return "hostname";
}

/**
 * Parses `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
 * Returns an error message instead of throwing.
 */
export function parseEndpoint(text: string): Endpoint | string {
  const invalid = `"${text}" is not an endpoint (host, host:port, [IPv6]:port or IPv6)`;
  let host = text;
  let port: number | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return invalid;
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return invalid;
      const parsed = parsePort(rest.slice(1), text);
      if (typeof parsed === "string") return parsed;
      port = parsed;
    }
    return hostKind(host) === "ipv6" ? { host: ipaddr.IPv6.parse(host).toString(), kind: "ipv6", port } : invalid;
  }
  const colons = text.split(":").length - 1;
  if (colons === 1) {
    const at = text.indexOf(":");
    host = text.slice(0, at);
    const parsed = parsePort(text.slice(at + 1), text);
    if (typeof parsed === "string") return parsed;
    port = parsed;
  }
  const kind = hostKind(host);
  if (!kind && colons > 1) {
    // an IPv6 address with its port and no brackets: say how to write it
    const at = text.lastIndexOf(":");
    const port = parsePort(text.slice(at + 1), text);
    if (typeof port === "number" && hostKind(text.slice(0, at)) === "ipv6") return `${invalid}; an IPv6 address with a port takes brackets: "[${text.slice(0, at)}]:${port}"`;
  }
  if (!kind || (colons === 1 && kind === "ipv6")) return invalid;
  return { host: kind === "ipv6" ? ipaddr.IPv6.parse(host).toString() : host, kind, port };
}

/** `host:port`, with brackets around IPv6; the endpoint's own port wins over `defaultPort`. */
export function formatEndpoint(endpoint: Endpoint, defaultPort?: number): string {
  const port = endpoint.port ?? defaultPort;
  const host = endpoint.kind === "ipv6" ? `[${endpoint.host}]` : endpoint.host;
  if (port === undefined) return endpoint.kind === "ipv6" ? endpoint.host : host;
  return `${host}:${port}`;
}

/** Schema for an endpoint string. */
export const endpointSchema = z.string().transform((text, ctx) => {
  const parsed = parseEndpoint(text);
  if (typeof parsed === "string") {
    ctx.addIssue({ code: "custom", message: parsed });
    return z.NEVER;
  }
  return parsed;
});
