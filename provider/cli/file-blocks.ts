import { closeSync, openSync, readSync } from "node:fs";

/**
 * A file's text in blocks of whole lines, read a megabyte at a time: joined with "\n" they make
 * the text. A 1000-node mesh's fabrics.cfg (about 60 MB) is never held whole. Blocks end at a
 * line end, which UTF-8 never puts inside a character: each is decoded once, as it is.
 */
export function* fileBlocks(file: string, chunkBytes = 1 << 20): Generator<string> {
  const fd = openSync(file, "r");
  try {
    let buffer = Buffer.allocUnsafe(chunkBytes);
    // bytes of a line not finished yet, at the buffer's start
    let kept = 0;
    for (;;) {
      if (kept === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
      const read = readSync(fd, buffer, kept, buffer.length - kept, null);
      const filled = kept + read;
      if (read === 0) {
        yield buffer.toString("utf8", 0, filled);
        return;
      }
      const end = buffer.lastIndexOf(10, filled - 1);
      if (end < 0) {
        kept = filled;
        continue;
      }
      yield buffer.toString("utf8", 0, end);
      kept = buffer.copy(buffer, 0, end + 1, filled);
    }
  } finally {
    closeSync(fd);
  }
}
