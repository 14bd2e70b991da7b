import { isUtf8 } from "node:buffer";
import { closeSync, openSync, readSync } from "node:fs";

/** Thrown for input that is not UTF-8 text (a binary file), at its first such line: its bytes are never printed. */
export class NotTextError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** Thrown for a FILE that cannot be read (missing, a folder, not allowed), naming it and why. */
export class FileReadError extends Error {}

/** Why a file cannot be read, by the system's error code. */
const UNREADABLE: Readonly<Record<string, string>> = { ENOENT: "no such file", EISDIR: "is a folder", ENOTDIR: "a part of its path is no folder", EACCES: "permission denied", ELOOP: "too many symbolic links" };

/** The system's error on reading `file` as a {@link FileReadError} when it is one of {@link UNREADABLE}'s. */
function readError(file: string, error: unknown): unknown {
  const why = UNREADABLE[(error as NodeJS.ErrnoException).code ?? ""];
  return why ? new FileReadError(`${displayName(file)} cannot be read: ${why}`) : error;
}

/** How a FILE argument is named in messages: `-` is standard input. */
export function displayName(file: string): string {
  return file === "-" ? "<stdin>" : file;
}

/**
 * A file's text in blocks of whole lines, read a megabyte at a time: joined with "\n" they make
 * the text. A 1000-node mesh's fabrics.cfg (about 60 MB) is never held whole. Blocks end at a
 * line end, which UTF-8 never puts inside a character: each is decoded once, as it is. `-` reads
 * standard input. A NUL byte or bytes that are not UTF-8 end the reading with a
 * {@link NotTextError} naming where they are; a file that cannot be read, with a {@link FileReadError}.
 */
export function* fileBlocks(file: string, chunkBytes = 1 << 20): Generator<string> {
  try {
    yield* blocksOf(file, chunkBytes);
  } catch (error) {
    throw readError(file, error);
  }
}

function* blocksOf(file: string, chunkBytes: number): Generator<string> {
  const stdin = file === "-";
  const fd = stdin ? 0 : openSync(file, "r");
  let offset = 0;
  // lines before the block, counted only when a block is not text (to say where)
  let lines = 0;
  const text = (buffer: Buffer, end: number): string => {
    const block = buffer.subarray(0, end);
    const nul = block.indexOf(0);
    const lineAt = (at: number): number => lines + 1 + countLines(block, at);
    if (nul >= 0) throw new NotTextError(`${displayName(file)} is not a text file: a NUL byte at byte ${offset + nul}; a fabrics.cfg is UTF-8 text`, lineAt(nul));
    if (!isUtf8(block)) {
      throw new NotTextError(`${displayName(file)} is not UTF-8 text on this line (saved as Latin-1 or Windows-1252?); a fabrics.cfg is UTF-8 text`, lineAt(firstLineNotUtf8(block)));
    }
    lines += countLines(block, block.length) + 1;
    offset += end + 1;
    return block.toString("utf8");
  };
  try {
    let buffer = Buffer.allocUnsafe(chunkBytes);
    // bytes of a line not finished yet, at the buffer's start
    let kept = 0;
    for (;;) {
      if (kept === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
      const read = readChunk(fd, buffer, kept);
      const filled = kept + read;
      if (read === 0) {
        yield text(buffer, filled);
        return;
      }
      const end = buffer.lastIndexOf(10, filled - 1);
      if (end < 0) {
        kept = filled;
        continue;
      }
      yield text(buffer, end);
      kept = buffer.copy(buffer, 0, end + 1, filled);
    }
  } finally {
    if (!stdin) closeSync(fd);
  }
}

/** Reads what is there into `buffer` from `at`; 0 at the end. A pipe with nothing yet (EAGAIN) is waited for. */
function readChunk(fd: number, buffer: Buffer, at: number): number {
  for (;;) {
    try {
      return readSync(fd, buffer, at, buffer.length - at, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EOF") return 0;
      if (code !== "EAGAIN") throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** How many line ends `block` has before byte `end`. */
function countLines(block: Buffer, end: number): number {
  let count = 0;
  for (let at = block.indexOf(10); at >= 0 && at < end; at = block.indexOf(10, at + 1)) count++;
  return count;
}

/** Where the first line of `block` that is not UTF-8 starts (`block` as a whole is not). */
function firstLineNotUtf8(block: Buffer): number {
  for (let start = 0; ; ) {
    const end = block.indexOf(10, start);
    if (!isUtf8(block.subarray(start, end < 0 ? block.length : end))) return start;
    if (end < 0) return start;
    start = end + 1;
  }
}
