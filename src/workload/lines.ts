/**
 * A text file's lines, read synchronously in byte chunks (fs.readSync), so that a trace of several GB never
 * becomes one JavaScript string (V8 caps a string at ~512 MiB–1 GiB; a 630 MB trace read whole fails). A line is
 * decoded from its bytes only once it is complete, so a UTF-8 character split across two chunks stays whole.
 * `*.gz` files are gunzipped first (node:zlib) into a Buffer — bytes, not a string, so the string limit does not
 * apply; Node's Buffer limit (4 GiB on Node 20) does, and a larger decompressed trace is refused naming the file.
 * It reads lines only; what a line means is the caller's (trace.ts).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** default chunk: 4 MiB */
export const LINE_CHUNK_BYTES = 4 << 20;
/** a "line" longer than this is not a line-oriented file (a trace row is ~100 B; a Mooncake row ≤ ~1 MB) */
const MAX_LINE_BYTES = 256 << 20;

/**
 * Call `onLine(line, lineNo)` for every line of `path` (lineNo from 1; "\n" or "\r\n" endings; a byte-order mark
 * at the start dropped; a last line without "\n" included). Errors name the file.
 */
export function forEachLine(
  path: string,
  onLine: (line: string, lineNo: number) => void,
  chunkBytes: number = LINE_CHUNK_BYTES,
): void {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1)
    throw new Error(`chunk size must be ≥ 1 byte, got ${chunkBytes}`);
  if (!existsSync(path)) throw new Error(`${path}: trace file not found`);
  if (statSync(path).isDirectory()) throw new Error(`${path}: is a folder, not a trace file`);
  let lineNo = 0;
  let carry: Buffer | null = null; // bytes of an unfinished line
  const emit = (bytes: Buffer, start: number, end: number) => {
    if (end > start && bytes[end - 1] === 0x0d) end--; // "\r\n"
    let line = bytes.toString('utf8', start, end);
    if (++lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    onLine(line, lineNo);
  };
  const take = (chunk: Buffer) => {
    const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
      emit(data, start, nl);
      start = nl + 1;
    }
    // copy: `chunk` is reused by the next read
    carry = start < data.length ? Buffer.from(data.subarray(start)) : null;
    if (carry && carry.length > MAX_LINE_BYTES)
      throw new Error(
        `${path}:${lineNo + 1}: a line longer than ${MAX_LINE_BYTES >> 20} MiB; not a line-per-row trace`,
      );
  };

  if (path.endsWith('.gz')) {
    let all: Buffer;
    try {
      all = gunzipSync(readFileSync(path));
    } catch (e) {
      throw new Error(
        `${path}: cannot gunzip (${(e as Error).message}); a trace larger than 4 GiB unpacked must be passed unpacked`,
      );
    }
    for (let at = 0; at < all.length; at += chunkBytes) take(all.subarray(at, Math.min(all.length, at + chunkBytes)));
  } else {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(chunkBytes);
      for (let n = readSync(fd, buf, 0, chunkBytes, null); n > 0; n = readSync(fd, buf, 0, chunkBytes, null))
        take(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }
  const rest = carry as Buffer | null;
  if (rest) emit(rest, 0, rest.length);
}
