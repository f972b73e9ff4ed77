/**
 * The GGUF file format (version 3, little-endian), the parts this project reads and writes: the value types of the
 * metadata, the tensor types F32, F16, BF16 (read only) and Q8_0, and the conversions between them and float32.
 * Layout: magic "GGUF", u32 version, u64 tensor count, u64 metadata count, the metadata (key string, u32 type,
 * value), the tensor infos (name, u32 n_dims, u64 dims innermost first, u32 type, u64 offset into the data), padding
 * to `general.alignment` (default 32), then the tensor data, each tensor starting at an aligned offset.
 * Source of the layout: ggml's docs/gguf.md (MIT). It knows nothing about LLaMA (./llama.ts) or tokenizers.
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (gguf_type). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** A metadata value as read: numbers (u64/i64 as number when exact, else bigint), strings, arrays of them. */
export type GgufScalar = number | bigint | boolean | string;
export type GgufValue = GgufScalar | GgufScalar[];

/** A metadata entry to write: the value and the type to write it as (arrays: the element type). */
export type GgufEntry =
  | { type: GgufValueType.STRING; value: string }
  | { type: GgufValueType.BOOL; value: boolean }
  | { type: Exclude<GgufValueType, GgufValueType.STRING | GgufValueType.BOOL | GgufValueType.ARRAY>; value: number }
  | { type: GgufValueType.ARRAY; elementType: GgufValueType.STRING; value: string[] }
  | {
      type: GgufValueType.ARRAY;
      elementType: GgufValueType.FLOAT32 | GgufValueType.INT32 | GgufValueType.UINT32;
      value: ArrayLike<number>;
    };

/** Tensor types (ggml_type) this project handles. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q8_0 = 8,
  BF16 = 30,
}

/** general.file_type (llama_ftype) for a file whose matrices are all of one type. */
export const FILE_TYPE: Record<'f32' | 'f16' | 'q8_0', number> = { f32: 0, f16: 1, q8_0: 7 };

/** Q8_0: blocks of 32 values, each an f16 scale d then 32 int8 quants; value = d · q. */
export const Q8_0_BLOCK = 32;
export const Q8_0_BYTES = 2 + Q8_0_BLOCK;

/** Bytes of `n` elements of `type` (n a multiple of the block size for block types). */
export function tensorBytes(type: GgmlType, n: number, name: string): number {
  switch (type) {
    case GgmlType.F32:
      return 4 * n;
    case GgmlType.F16:
    case GgmlType.BF16:
      return 2 * n;
    case GgmlType.Q8_0:
      if (n % Q8_0_BLOCK !== 0) throw new Error(`tensor '${name}': ${n} elements is not a multiple of 32 (Q8_0)`);
      return (n / Q8_0_BLOCK) * Q8_0_BYTES;
    default:
      throw new Error(`tensor '${name}': ggml type ${type as number} is not supported (F32, F16, BF16, Q8_0 are)`);
  }
}

export function typeName(type: number): string {
  return GgmlType[type] ?? `type ${type}`;
}

// ---- half precision -------------------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float → IEEE half, round to nearest even (as numpy's astype(float16) and ggml's FP32_TO_FP16). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflows to ±0
    mant |= 0x800000; // subnormal half: shift the implicit bit in
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** IEEE half → float (exact). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

// ---- encode / decode ------------------------------------------------------------------------------------------

/** `data` (float32, row-major) as the bytes of a tensor of `type`. */
export function encodeTensor(type: GgmlType, data: Float32Array, name: string): Uint8Array {
  const out = new Uint8Array(tensorBytes(type, data.length, name));
  const view = new DataView(out.buffer);
  switch (type) {
    case GgmlType.F32:
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return out;
    case GgmlType.F16:
      for (let i = 0; i < data.length; i++) view.setUint16(2 * i, floatToHalf(data[i]), true);
      return out;
    case GgmlType.Q8_0:
      // per block: d = max|x| / 127, q = round(x / d) (ggml's reference quantize_row_q8_0, re-derived)
      for (let b = 0; b < data.length / Q8_0_BLOCK; b++) {
        let amax = 0;
        for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(data[b * Q8_0_BLOCK + j]));
        const d = Math.fround(amax / 127);
        const id = d ? Math.fround(1 / d) : 0;
        view.setUint16(b * Q8_0_BYTES, floatToHalf(d), true);
        for (let j = 0; j < Q8_0_BLOCK; j++) {
          const v = Math.fround(data[b * Q8_0_BLOCK + j] * id);
          // roundf: half away from zero
          view.setInt8(b * Q8_0_BYTES + 2 + j, Math.sign(v) * Math.round(Math.abs(v)));
        }
      }
      return out;
    default:
      throw new Error(`tensor '${name}': cannot write ggml type ${typeName(type)}`);
  }
}

/** The bytes of a tensor of `type` and `n` elements as float32. */
export function decodeTensor(type: GgmlType, bytes: Uint8Array, n: number, name: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (type) {
    case GgmlType.F32:
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    case GgmlType.F16:
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    case GgmlType.BF16:
      for (let i = 0; i < n; i++) {
        u32[0] = view.getUint16(2 * i, true) << 16;
        out[i] = f32[0];
      }
      return out;
    case GgmlType.Q8_0:
      for (let b = 0; b < n / Q8_0_BLOCK; b++) {
        const d = halfToFloat(view.getUint16(b * Q8_0_BYTES, true));
        for (let j = 0; j < Q8_0_BLOCK; j++) out[b * Q8_0_BLOCK + j] = d * view.getInt8(b * Q8_0_BYTES + 2 + j);
      }
      return out;
    default:
      throw new Error(`tensor '${name}': ggml type ${typeName(type)} is not supported (F32, F16, BF16, Q8_0 are)`);
  }
}
