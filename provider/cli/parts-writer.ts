import { closeSync, openSync, writeSync } from "node:fs";
import type { ConfigParts } from "../fabric";

/** How many encoded peer sections a {@link PartsWriter} keeps: a mesh's shared ones, not every overridden one. */
const MAX_ENCODED = 1 << 16;

/**
 * Writes configs from their parts: a peer section shared by many files (a 1000-node mesh writes
 * each a thousand times) is encoded once, and each file is copied together in one buffer that
 * is reused, then written with one call.
 */
export class PartsWriter {
  private encoded = new Map<string, Buffer>();
  private scratch = Buffer.allocUnsafe(1 << 16);

  /** Writes `parts` to `file`, created with mode 0600 (or truncated). */
  write(file: string, parts: ConfigParts): void {
    let length = this.put(Buffer.from(parts.head), 0);
    for (const section of parts.peers) length = this.put(this.encode(section), length);
    const fd = openSync(file, "w", 0o600);
    try {
      for (let written = 0; written < length; ) written += writeSync(fd, this.scratch, written, length - written);
    } finally {
      closeSync(fd);
    }
  }

  /** Copies `buffer` into the scratch buffer at `offset` (growing it), and returns where it ends. */
  private put(buffer: Buffer, offset: number): number {
    const end = offset + buffer.length;
    if (end > this.scratch.length) this.scratch = Buffer.concat([this.scratch.subarray(0, offset)], Math.max(end, this.scratch.length * 2));
    this.scratch.set(buffer, offset);
    return end;
  }

  /** A peer section as written after its predecessor: a blank line, then the section. */
  private encode(section: string): Buffer {
    let buffer = this.encoded.get(section);
    if (buffer) return buffer;
    if (this.encoded.size >= MAX_ENCODED) this.encoded = new Map();
    this.encoded.set(section, (buffer = Buffer.from(`\n${section}`)));
    return buffer;
  }
}
