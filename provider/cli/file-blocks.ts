import { closeSync, openSync, readSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";

/**
 * A file's text in blocks of whole lines, read a megabyte at a time: joined with "\n" they make
 * the text. A 1000-node mesh's fabrics.cfg (about 60 MB) is never held whole.
 */
export function* fileBlocks(file: string, chunkBytes = 1 << 20): Generator<string> {
  const fd = openSync(file, "r");
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    const decoder = new StringDecoder("utf8");
    let rest = "";
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) {
      const text = rest + decoder.write(buffer.subarray(0, read));
      const end = text.lastIndexOf("\n");
      if (end < 0) {
        rest = text;
        continue;
      }
      yield text.slice(0, end);
      rest = text.slice(end + 1);
    }
    yield rest + decoder.end();
  } finally {
    closeSync(fd);
  }
}
