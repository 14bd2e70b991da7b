import { writeSync } from "node:fs";

/**
 * Writes all of `data` to a file descriptor (1 or 2) without Node's stream machinery, which
 * costs a few milliseconds of start-up to load; retried while a non-blocking pipe is full.
 */
export function writeAll(fd: number, data: string | Buffer): void {
  const buffer = typeof data === "string" ? Buffer.from(data) : data;
  for (let at = 0; at < buffer.length; ) {
    try {
      at += writeSync(fd, buffer, at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    }
  }
}

/** A line on standard output. */
export const printLine = (line: string): void => writeAll(1, `${line}\n`);

/** A line on standard error. */
export const printError = (line: string): void => writeAll(2, `${line}\n`);
