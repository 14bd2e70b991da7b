import { Client, type ClientChannel, type ExecOptions } from "ssh2";

/** Which channel bytes crossed: the host it goes to, its command, and the stream. */
export interface TappedChannel {
  readonly host: string;
  readonly command: string;
  /** `command` for the command line itself; `stdin` what is written to the channel. */
  readonly stream: "command" | "stdin" | "stdout" | "stderr";
}

/** Sees every byte that crosses an SSH channel this process opens (to prove what never does, or where it does). */
export type ChannelTap = (direction: "sent" | "received", data: Buffer, channel: TappedChannel) => void;

type ExecCallback = (error: Error | undefined, channel: ClientChannel) => void;

let channelTap: ChannelTap | undefined;
let installed = false;

/**
 * Installs (or removes, with undefined) the tap. It wraps ssh2's `Client.prototype.exec`, the
 * one way our code opens a channel, so the package itself carries no test hook: the command
 * and what is written to the channel are seen as sent, its stdout and stderr as received.
 */
export function setChannelTap(tap: ChannelTap | undefined): void {
  channelTap = tap;
  if (installed) return;
  installed = true;
  const exec = Client.prototype.exec as unknown as (this: Client, command: string, ...rest: unknown[]) => Client;
  (Client.prototype as { exec: unknown }).exec = function (this: Client, command: string, ...rest: [ExecOptions, ExecCallback] | [ExecCallback]): Client {
    const callback = rest[rest.length - 1] as ExecCallback;
    // ssh2 keeps the host it was given in its config
    const host = (this as unknown as { config?: { host?: string } }).config?.host ?? "";
    const where = (stream: TappedChannel["stream"]): TappedChannel => ({ host, command, stream });
    channelTap?.("sent", Buffer.from(command), where("command"));
    const tapped: ExecCallback = (error, channel) => {
      if (!error) {
        channel.on("data", (data: Buffer) => channelTap?.("received", data, where("stdout")));
        channel.stderr.on("data", (data: Buffer) => channelTap?.("received", data, where("stderr")));
        for (const method of ["write", "end"] as const) {
          const original = channel[method].bind(channel) as (...args: unknown[]) => unknown;
          (channel as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
            if (typeof args[0] === "string" || Buffer.isBuffer(args[0])) channelTap?.("sent", Buffer.from(args[0]), where("stdin"));
            return original(...args);
          };
        }
      }
      callback(error, channel);
    };
    return exec.call(this, command, ...rest.slice(0, -1), tapped);
  };
}
