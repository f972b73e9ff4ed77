/**
 * Reading a GGUF file: the header, metadata and tensor infos are parsed once (`GgufFile.open`), then each tensor is
 * read on demand from its offset and returned as float32 (F32, F16, BF16, Q8_0 dequantized), so a large model is
 * never held twice. Errors name the file and the key or tensor. What the tensors mean is ./llama.ts's business.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  decodeTensor,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufValueType,
  tensorBytes,
  typeName,
  type GgmlType,
  type GgufScalar,
  type GgufValue,
} from './format.js';

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension; the row-major shape is dims reversed */
  dims: number[];
  type: GgmlType;
  /** absolute byte offset in the file */
  begin: number;
  bytes: number;
}

const MAX_STRING = 1 << 30;

/** A cursor over the header bytes, growing its window from the file as it reads. */
class HeaderReader {
  pos = 0;
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly file: string,
  ) {}

  private need(n: number): Buffer {
    if (this.pos + n > this.size) throw new Error(`${this.file}: truncated GGUF header (needs byte ${this.pos + n})`);
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) {
      const len = Math.min(this.size - this.pos, Math.max(n, 1 << 20));
      this.buf = Buffer.alloc(len);
      readSync(this.fd, this.buf, 0, len, this.pos);
      this.bufStart = this.pos;
    }
    const off = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }
  u8 = () => this.need(1).readUInt8(0);
  u32 = () => this.need(4).readUInt32LE(0);
  u64(): number | bigint {
    const v = this.need(8).readBigUInt64LE(0);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  count(what: string): number {
    const v = this.u64();
    if (typeof v === 'bigint') throw new Error(`${this.file}: ${what} ${v} is too large`);
    return v;
  }
  string(): string {
    const n = this.count('string length');
    if (n > MAX_STRING) throw new Error(`${this.file}: string of ${n} bytes at byte ${this.pos}`);
    return this.need(n).toString('utf8');
  }
  scalar(type: GgufValueType, key: string): GgufScalar {
    switch (type) {
      case GgufValueType.UINT8:
        return this.u8();
      case GgufValueType.INT8:
        return this.need(1).readInt8(0);
      case GgufValueType.UINT16:
        return this.need(2).readUInt16LE(0);
      case GgufValueType.INT16:
        return this.need(2).readInt16LE(0);
      case GgufValueType.UINT32:
        return this.u32();
      case GgufValueType.INT32:
        return this.need(4).readInt32LE(0);
      case GgufValueType.FLOAT32:
        return this.need(4).readFloatLE(0);
      case GgufValueType.BOOL:
        return this.u8() !== 0;
      case GgufValueType.STRING:
        return this.string();
      case GgufValueType.UINT64:
        return this.u64();
      case GgufValueType.INT64: {
        const v = this.need(8).readBigInt64LE(0);
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case GgufValueType.FLOAT64:
        return this.need(8).readDoubleLE(0);
      default:
        throw new Error(`${this.file}: key '${key}' has unknown value type ${type as number}`);
    }
  }
  value(key: string): GgufValue {
    const type = this.u32() as GgufValueType;
    if (type !== GgufValueType.ARRAY) return this.scalar(type, key);
    const el = this.u32() as GgufValueType;
    if (el === GgufValueType.ARRAY) throw new Error(`${this.file}: key '${key}' is a nested array (not supported)`);
    const n = this.count(`key '${key}': array length`);
    const out: GgufScalar[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.scalar(el, key);
    return out;
  }
}

/** An open GGUF file: metadata and tensor infos parsed, tensors read on demand. Call close() when done. */
export class GgufFile {
  readonly metadata = new Map<string, GgufValue>();
  readonly tensors = new Map<string, GgufTensorInfo>();
  version = 0;
  private fd: number;

  private constructor(readonly file: string) {
    this.fd = openSync(file, 'r');
  }

  static open(file: string): GgufFile {
    const g = new GgufFile(file);
    try {
      g.parse();
    } catch (e) {
      g.close();
      throw e;
    }
    return g;
  }

  private parse(): void {
    const size = fstatSync(this.fd).size;
    const r = new HeaderReader(this.fd, size, this.file);
    if (size < 24 || r.u32() !== GGUF_MAGIC) throw new Error(`${this.file}: not a GGUF file (no 'GGUF' magic)`);
    this.version = r.u32();
    if (this.version !== 2 && this.version !== 3)
      throw new Error(`${this.file}: GGUF version ${this.version} is not supported (2 and 3 are)`);
    const nTensors = r.count('tensor count');
    const nKv = r.count('metadata count');
    for (let i = 0; i < nKv; i++) {
      const key = r.string();
      this.metadata.set(key, r.value(key));
    }
    const infos: Omit<GgufTensorInfo, 'begin' | 'bytes'>[] = [];
    const offsets: number[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = r.string();
      const nDims = r.u32();
      if (nDims < 1 || nDims > 4) throw new Error(`${this.file}: tensor '${name}' has ${nDims} dimensions`);
      const dims = Array.from({ length: nDims }, () => r.count(`tensor '${name}': dimension`));
      const type = r.u32() as GgmlType;
      infos.push({ name, dims, type });
      offsets.push(r.count(`tensor '${name}': offset`));
    }
    const alignment = this.metadata.get('general.alignment') ?? GGUF_DEFAULT_ALIGNMENT;
    if (typeof alignment !== 'number' || alignment <= 0 || alignment % 8 !== 0)
      throw new Error(`${this.file}: key 'general.alignment' must be a positive multiple of 8, got ${alignment}`);
    const dataStart = Math.ceil(r.pos / alignment) * alignment;
    infos.forEach((info, i) => {
      const n = info.dims.reduce((a, b) => a * b, 1);
      let bytes: number;
      try {
        bytes = tensorBytes(info.type, n, info.name);
      } catch (e) {
        throw new Error(`${this.file}: ${(e as Error).message}`);
      }
      const begin = dataStart + offsets[i];
      if (begin + bytes > size)
        throw new Error(`${this.file}: tensor '${info.name}' (${typeName(info.type)}) runs past the end of the file`);
      if (this.tensors.has(info.name)) throw new Error(`${this.file}: tensor '${info.name}' appears twice`);
      this.tensors.set(info.name, { ...info, begin, bytes });
    });
  }

  /** The row-major shape of a tensor (ggml dims reversed). */
  shape(name: string): number[] {
    return this.info(name).dims.slice().reverse();
  }

  info(name: string): GgufTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.file}: missing tensor '${name}'`);
    return t;
  }

  /** A tensor's values as float32, row-major (dequantized from F16/BF16/Q8_0). */
  read(name: string): Float32Array {
    const t = this.info(name);
    const buf = Buffer.alloc(t.bytes);
    readSync(this.fd, buf, 0, t.bytes, t.begin);
    try {
      return decodeTensor(
        t.type,
        buf,
        t.dims.reduce((a, b) => a * b, 1),
        name,
      );
    } catch (e) {
      throw new Error(`${this.file}: ${(e as Error).message}`);
    }
  }

  /** A metadata value, checked: throws naming the file and key when absent (unless `fallback`) or of another kind. */
  get<K extends 'number' | 'string' | 'boolean' | 'array'>(
    key: string,
    kind: K,
    fallback?: K extends 'number' ? number : K extends 'string' ? string : K extends 'boolean' ? boolean : GgufScalar[],
  ): K extends 'number' ? number : K extends 'string' ? string : K extends 'boolean' ? boolean : GgufScalar[] {
    type R = K extends 'number' ? number : K extends 'string' ? string : K extends 'boolean' ? boolean : GgufScalar[];
    const v = this.metadata.get(key);
    if (v === undefined) {
      if (fallback !== undefined) return fallback as R;
      throw new Error(`${this.file}: missing key '${key}'`);
    }
    const ok = kind === 'array' ? Array.isArray(v) : typeof v === kind;
    if (!ok)
      throw new Error(`${this.file}: key '${key}' must be a ${kind}, got ${Array.isArray(v) ? 'an array' : typeof v}`);
    return v as R;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
