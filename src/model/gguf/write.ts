/**
 * Writing a GGUF v3 file: metadata entries (typed, see ./format.ts) and tensors, each encoded (F32, F16 or Q8_0)
 * only when its turn comes, so one tensor is held at a time. Written to a temporary file and renamed into place, so a
 * killed process leaves no complete-looking file. Which entries and tensors a LLaMA needs is ./llama.ts.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { commitTemp, tempPath } from '../../util/fs.js';
import {
  encodeTensor,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  GgufValueType,
  tensorBytes,
  type GgmlType,
  type GgufEntry,
} from './format.js';

export interface GgufTensorOut {
  name: string;
  /** row-major shape (written to the file innermost first, ggml's order) */
  shape: number[];
  type: GgmlType;
  /** float32 values, row-major; called once, when the tensor is written */
  read: () => Float32Array;
}

/** Little-endian bytes of the header, appended piece by piece. */
class Bytes {
  private parts: Buffer[] = [];
  length = 0;
  private push(b: Buffer) {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  string(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  scalar(type: GgufValueType, v: number | boolean | string, key: string) {
    const b = Buffer.alloc(8);
    switch (type) {
      case GgufValueType.STRING:
        return this.string(v as string);
      case GgufValueType.BOOL:
        b.writeUInt8(v ? 1 : 0);
        return this.push(b.subarray(0, 1));
      case GgufValueType.UINT8:
        b.writeUInt8(v as number);
        return this.push(b.subarray(0, 1));
      case GgufValueType.INT8:
        b.writeInt8(v as number);
        return this.push(b.subarray(0, 1));
      case GgufValueType.UINT16:
        b.writeUInt16LE(v as number);
        return this.push(b.subarray(0, 2));
      case GgufValueType.INT16:
        b.writeInt16LE(v as number);
        return this.push(b.subarray(0, 2));
      case GgufValueType.UINT32:
        b.writeUInt32LE(v as number);
        return this.push(b.subarray(0, 4));
      case GgufValueType.INT32:
        b.writeInt32LE(v as number);
        return this.push(b.subarray(0, 4));
      case GgufValueType.FLOAT32:
        b.writeFloatLE(v as number);
        return this.push(b.subarray(0, 4));
      case GgufValueType.UINT64:
        b.writeBigUInt64LE(BigInt(v as number));
        return this.push(b);
      case GgufValueType.INT64:
        b.writeBigInt64LE(BigInt(v as number));
        return this.push(b);
      case GgufValueType.FLOAT64:
        b.writeDoubleLE(v as number);
        return this.push(b);
      default:
        throw new Error(`GGUF key '${key}': cannot write value type ${type as number}`);
    }
  }
  pad(alignment: number) {
    const n = (alignment - (this.length % alignment)) % alignment;
    if (n) this.push(Buffer.alloc(n));
  }
  buffer = () => Buffer.concat(this.parts);
}

/** Write `entries` and `tensors` as a GGUF v3 file at `path` (alignment 32). */
export function writeGguf(path: string, entries: [string, GgufEntry][], tensors: GgufTensorOut[]): void {
  const align = GGUF_DEFAULT_ALIGNMENT;
  const h = new Bytes();
  h.u32(GGUF_MAGIC);
  h.u32(GGUF_VERSION);
  h.u64(tensors.length);
  h.u64(entries.length);
  for (const [key, e] of entries) {
    h.string(key);
    h.u32(e.type);
    if (e.type === GgufValueType.ARRAY) {
      h.u32(e.elementType);
      h.u64(e.value.length);
      for (let i = 0; i < e.value.length; i++) h.scalar(e.elementType, e.value[i], key);
    } else h.scalar(e.type, e.value, key);
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    h.string(t.name);
    h.u32(t.shape.length);
    for (const d of t.shape.slice().reverse()) h.u64(d);
    h.u32(t.type);
    h.u64(offset);
    const bytes = tensorBytes(t.type, n, t.name);
    sizes.push(bytes);
    offset += Math.ceil(bytes / align) * align;
  }
  h.pad(align);

  const tmp = tempPath(path);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, h.buffer());
    tensors.forEach((t, i) => {
      const data = t.read();
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== n)
        throw new Error(`${path}: tensor '${t.name}' gave ${data.length} values for shape [${t.shape.join(', ')}]`);
      const bytes = encodeTensor(t.type, data, t.name);
      writeSync(fd, bytes);
      const pad = Math.ceil(sizes[i] / align) * align - sizes[i];
      if (pad) writeSync(fd, new Uint8Array(pad));
    });
    closeSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  commitTemp(tmp, path);
}
