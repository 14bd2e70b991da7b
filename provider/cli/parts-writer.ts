import { closeSync, openSync, writevSync } from "node:fs";
import type { ConfigParts } from "../fabric";

/** How many encoded peer sections a {@link PartsWriter} keeps: a mesh's shared ones, not every overridden one. */
const MAX_ENCODED = 1 << 16;

/**
 * Writes configs from their parts without joining them: a peer section shared by many files
 * (a 1000-node mesh writes each a thousand times) is encoded once and written from that buffer.
 */
export class PartsWriter {
  private encoded = new Map<string, Buffer>();

  /** Writes `parts` to `file`, created with mode 0600 (or truncated). */
  write(file: string, parts: ConfigParts): void {
    const buffers = [Buffer.from(parts.head), ...parts.peers.map((section) => this.encode(section))];
    const length = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    const fd = openSync(file, "w", 0o600);
    try {
      // libuv writes every buffer (in IOV_MAX batches) unless the disk fails
      const written = writevSync(fd, buffers);
      if (written !== length) throw new Error(`${file}: wrote ${written} of ${length} bytes`);
    } finally {
      closeSync(fd);
    }
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
