/**
 * The safetensors file format: an 8-byte little-endian header length, a JSON header
 * ({name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}) and the raw little-endian bytes.
 *
 * Reading opens the header once and then reads one tensor at a time from its offset (fs.readSync),
 * so a multi-gigabyte shard is never held in memory twice. F32/F16/BF16 come back as float32 (tfjs has
 * no half type), I32 as int32, I64/I16/I8/U8/BOOL as int32 when every value fits. Writing emits F32 and
 * I32 only. Every error names the file and, where one is involved, the tensor.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { commitTemp, namedFsError, tempPath } from '../util/fs.js';
import { endianness } from 'node:os';

/** A tensor held on the host, in the two dtypes the model uses. */
export type HostTensor =
  { dtype: 'float32'; shape: number[]; data: Float32Array } | { dtype: 'int32'; shape: number[]; data: Int32Array };

export interface TensorEntry {
  name: string;
  dtype: string; // safetensors dtype, e.g. 'F32', 'BF16'
  shape: number[];
  /** absolute byte range in the file */
  begin: number;
  end: number;
}

const BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
/** dtypes we can turn into float32 or int32 */
const READABLE = new Set(['F32', 'F16', 'BF16', 'F64', 'I32', 'I64', 'I16', 'I8', 'U8', 'BOOL']);
const MAX_HEADER = 100 * 1024 * 1024; // the format's own limit on the JSON header
if (endianness() !== 'LE') throw new Error('safetensors.ts assumes a little-endian host');

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** An open safetensors file: header parsed, tensors read on demand. Call close() when done. */
export class SafetensorsFile {
  readonly entries = new Map<string, TensorEntry>();
  readonly metadata: Record<string, string> = {};
  private fd: number;

  private constructor(readonly file: string) {
    if (!existsSync(file)) throw new Error(`${file}: file not found`);
    this.fd = openSync(file, 'r');
    try {
      this.parseHeader();
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  static open(file: string): SafetensorsFile {
    return new SafetensorsFile(file);
  }

  private parseHeader(): void {
    const f = this.file;
    const size = fstatSync(this.fd).size;
    if (size < 8) throw new Error(`${f}: truncated safetensors file (${size} bytes, no header length)`);
    const lenBuf = Buffer.alloc(8);
    readSync(this.fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER)
      throw new Error(`${f}: corrupt safetensors header (header length ${headerLen} bytes exceeds the 100 MB limit)`);
    if (8 + headerLen > size)
      throw new Error(
        `${f}: truncated safetensors header (needs ${headerLen} bytes, file has ${size - 8} after the length)`,
      );
    const hbuf = Buffer.alloc(headerLen);
    readSync(this.fd, hbuf, 0, headerLen, 8);
    let header: unknown;
    try {
      header = JSON.parse(hbuf.toString('utf8'));
    } catch (e) {
      throw new Error(`${f}: corrupt safetensors header (not valid JSON: ${(e as Error).message})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header))
      throw new Error(`${f}: corrupt safetensors header (not a JSON object)`);
    const dataStart = 8 + headerLen;
    const dataSize = size - dataStart;
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        Object.assign(this.metadata, raw as Record<string, string>);
        continue;
      }
      const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const bad = (why: string) => new Error(`${f}: corrupt safetensors header for tensor '${name}' (${why})`);
      if (typeof e !== 'object' || e === null) throw bad('entry is not an object');
      if (typeof e.dtype !== 'string') throw bad('dtype missing');
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0))
        throw bad('shape must be a list of non-negative integers');
      const off = e.data_offsets;
      if (
        !Array.isArray(off) ||
        off.length !== 2 ||
        !off.every((o) => Number.isInteger(o) && o >= 0) ||
        off[0] > off[1]
      ) {
        throw bad('data_offsets must be [begin, end] with 0 <= begin <= end');
      }
      if (off[1] > dataSize) {
        throw new Error(
          `${f}: tensor '${name}' data offsets [${off[0]}, ${off[1]}] are out of range (data section has ${dataSize} bytes; file truncated?)`,
        );
      }
      const bytes = BYTES[e.dtype];
      if (bytes !== undefined && numel(e.shape as number[]) * bytes !== off[1] - off[0]) {
        throw bad(
          `shape [${(e.shape as number[]).join(', ')}] of ${e.dtype} needs ${numel(e.shape as number[]) * bytes} bytes, data_offsets span ${off[1] - off[0]}`,
        );
      }
      this.entries.set(name, {
        name,
        dtype: e.dtype,
        shape: e.shape as number[],
        begin: dataStart + off[0],
        end: dataStart + off[1],
      });
    }
    this.checkLayout(dataStart, dataSize);
  }

  /**
   * The reference loader's layout rule (safetensors' `Metadata::validate`): sorted by offset, the tensors tile the
   * data section exactly — the first starts at 0, each starts where the one before ends (no overlap, no gap),
   * and the last ends at the end of the file. A header that lies about where a tensor is fails here, naming it.
   */
  private checkLayout(dataStart: number, dataSize: number): void {
    const f = this.file;
    const sorted = [...this.entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
    const offs = (e: TensorEntry) => `[${e.begin - dataStart}, ${e.end - dataStart}]`;
    let prev: TensorEntry | null = null;
    let at = 0; // bytes of the data section claimed so far
    for (const e of sorted) {
      const begin = e.begin - dataStart;
      if (begin < at)
        throw new Error(
          `${f}: tensor '${e.name}' data_offsets ${offs(e)} overlap tensor '${prev!.name}' ${offs(prev!)}`,
        );
      if (begin > at)
        throw new Error(
          `${f}: tensor '${e.name}' data_offsets ${offs(e)} leave bytes [${at}, ${begin}) unclaimed ${prev ? `after tensor '${prev.name}'` : 'at the start of the data section'} (offsets must be contiguous)`,
        );
      at = e.end - dataStart;
      prev = e;
    }
    if (at !== dataSize)
      throw new Error(
        `${f}: the tensors end at byte ${at} of the data section, which holds ${dataSize} bytes${prev ? ` (last tensor '${prev.name}')` : ''}: trailing bytes no tensor claims`,
      );
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.file}: no tensor '${name}'`);
    return e;
  }

  /** Read one tensor's bytes from disk and convert to float32 / int32. */
  read(name: string): HostTensor {
    const e = this.entry(name);
    if (!READABLE.has(e.dtype))
      throw new Error(
        `${this.file}: tensor '${name}' has unsupported dtype ${e.dtype} (supported: ${[...READABLE].join(', ')})`,
      );
    const nbytes = e.end - e.begin;
    const buf = new ArrayBuffer(nbytes);
    const view = new Uint8Array(buf);
    // readSync reads at most 2 GiB per call
    for (let done = 0; done < nbytes;) {
      const n = readSync(this.fd, view, done, Math.min(nbytes - done, 1 << 30), e.begin + done);
      if (n <= 0)
        throw new Error(`${this.file}: tensor '${name}' could not be read (file shorter than its header says)`);
      done += n;
    }
    return decode(buf, e, this.file);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function decode(buf: ArrayBuffer, e: TensorEntry, file: string): HostTensor {
  const n = numel(e.shape);
  const shape = e.shape.slice();
  switch (e.dtype) {
    case 'F32':
      return { dtype: 'float32', shape, data: new Float32Array(buf) };
    case 'F64':
      return { dtype: 'float32', shape, data: Float32Array.from(new Float64Array(buf)) };
    case 'BF16': {
      // bfloat16 is the top half of a float32
      const src = new Uint16Array(buf);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] << 16;
      return { dtype: 'float32', shape, data: new Float32Array(out.buffer) };
    }
    case 'F16': {
      const src = new Uint16Array(buf);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(src[i]);
      return { dtype: 'float32', shape, data: out };
    }
    case 'I32':
      return { dtype: 'int32', shape, data: new Int32Array(buf) };
    case 'I64': {
      const src = new BigInt64Array(buf);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = src[i];
        if (v > 2147483647n || v < -2147483648n)
          throw new Error(`${file}: tensor '${e.name}' (I64) holds ${v}, outside the int32 range`);
        out[i] = Number(v);
      }
      return { dtype: 'int32', shape, data: out };
    }
    case 'I16':
      return { dtype: 'int32', shape, data: Int32Array.from(new Int16Array(buf)) };
    case 'I8':
      return { dtype: 'int32', shape, data: Int32Array.from(new Int8Array(buf)) };
    case 'U8':
    case 'BOOL':
      return { dtype: 'int32', shape, data: Int32Array.from(new Uint8Array(buf)) };
    default:
      throw new Error(`${file}: tensor '${e.name}' has unsupported dtype ${e.dtype}`);
  }
}

/** IEEE half → float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return s * frac * 2 ** -24; // subnormal
  if (exp === 31) return frac ? NaN : s * Infinity;
  return s * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Read every tensor of a (small) file. */
export function readSafetensors(file: string): Map<string, HostTensor> {
  const st = SafetensorsFile.open(file);
  try {
    return new Map(st.names().map((n) => [n, st.read(n)]));
  } finally {
    st.close();
  }
}

/** A tensor to write: held, or produced on demand (one weight at a time, e.g. read back from a backend). */
export type TensorSource =
  HostTensor | { dtype: 'float32' | 'int32'; shape: number[]; read: () => Float32Array | Int32Array };

/**
 * Write tensors (F32 / I32) in the given order. The header is built from shapes alone, then each tensor
 * is produced and streamed in turn into a temporary file that is renamed at the end, so at most one
 * tensor is held and a killed process never leaves a complete-looking half file.
 */
export function writeSafetensors(
  file: string,
  tensors: Iterable<[string, TensorSource]>,
  metadata: Record<string, string> = { format: 'pt' },
): void {
  const list = [...tensors];
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of list) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32')
      throw new Error(`${file}: tensor '${name}' has dtype ${String(t.dtype)}; only float32 and int32 are written`);
    const nbytes = numel(t.shape) * 4;
    header[name] = {
      dtype: t.dtype === 'float32' ? 'F32' : 'I32',
      shape: t.shape,
      data_offsets: [offset, offset + nbytes],
    };
    offset += nbytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // data starts 8-byte aligned
  const hbytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hbytes.length));
  const tmp = tempPath(file);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, hbytes);
    for (const [name, t] of list) {
      const data = 'data' in t ? t.data : t.read();
      if (data.length !== numel(t.shape))
        throw new Error(`${file}: tensor '${name}' has shape [${t.shape.join(', ')}] but ${data.length} values`);
      if ((t.dtype === 'float32') !== data instanceof Float32Array)
        throw new Error(`${file}: tensor '${name}' data does not match dtype ${t.dtype}`);
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      for (let done = 0; done < bytes.length;)
        done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
    }
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw namedFsError(file, 'write the safetensors file', e); // ENOSPC etc. name the file; our checks pass through
  }
  closeSync(fd);
  commitTemp(tmp, file);
}
