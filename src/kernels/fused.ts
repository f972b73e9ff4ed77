/**
 * Fused inference kernels for the `wasm` backend, run by the native addon (native/fused.cc) on the
 * wasm heap: RMSNorm (optionally after the residual add), SiLU(gate)·up, one decode-attention
 * step against an in-place KV cache (rotary on q/k, cache write, masked softmax, ·V, GQA aware), and a
 * whole decoder layer in one kernel (those three and the layer's seven products, bit-identical to them).
 *
 * Each is a custom tfjs kernel (names `Seqsch*`, registered for 'wasm' on first use) so tidy, memory
 * accounting and profiles see them as usual. They have no gradients: src/model/fused.ts calls them
 * only for inference, and only while fusedKernelsActive() (wasm, addon loaded, provider switched on).
 * This module decides no model semantics; src/model/fused.ts holds the composite equivalents.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { activeBlasAddon, blasStatus } from './blas.js';
import { threadsFor } from './blas-threads.js';
import { F_COUNT, fusedParams } from './fused-params.js';

/** The fused exports of the addon (native/fused.cc); absent in an addon built before them. */
export interface FusedAddon {
  setFusedParams(params: Float64Array): void;
  rmsNorm(heap: ArrayBuffer): void;
  swiglu(heap: ArrayBuffer): void;
  decodeAttention(heap: ArrayBuffer): void;
  decoderLayer(heap: ArrayBuffer): void;
  /** a whole decode step (src/kernels/decode-step.ts): -1, or the batch row of the first token id outside [0, V) */
  decodeModel?(heap: ArrayBuffer, layers: Float64Array): number;
  /** seconds per phase of the layer kernel since the last call, and the number of calls; resets */
  layerProfile(): Record<string, number>;
  fusedParamCount: number;
  fusedIsa: string;
  /** true when decodeAttention reads per-row cache rows and cached positions (A_ROW_SLOT / A_ROW_PAST) */
  attentionRowSlots?: boolean;
}

// Parameter slots, as the enums of native/fused.cc.
// prettier-ignore
const N_X = 0, N_RES = 1, N_W = 2, N_OUT = 3, N_SUM = 4, N_ROWS = 5, N_D = 6, N_EPS = 7;
// prettier-ignore
const G_GATE = 0, G_GATE_STRIDE = 1, G_UP = 2, G_UP_STRIDE = 3, G_OUT = 4, G_ROWS = 5, G_I = 6;
// prettier-ignore
const A_B = 0, A_NH = 1, A_NKV = 2, A_HD = 3, A_Q = 4, A_Q_STRIDE = 5, A_K = 6, A_K_STRIDE = 7, A_V = 8, A_V_STRIDE = 9,
  A_COS = 10, A_SIN = 11, A_ROPE_ROWS = 12, A_POS = 13, A_POS_B = 14, A_KCACHE = 15, A_VCACHE = 16, A_CAP = 17, A_PAST = 18,
  A_MASK = 19, A_MASK_LEN = 20, A_MASK_FLOAT = 21, A_OUT = 22, A_SCALE = 23, A_THREADS = 24, A_T = 25,
  A_ROW_SLOT = 26, A_ROW_PAST = 27, A_CACHE_ROWS = 28;
// prettier-ignore
const L_X = 32, L_OUT = 33, L_W_IN = 34, L_W_POST = 35, L_WQ = 36, L_WK = 37, L_WV = 38, L_WO = 39, L_WG = 40, L_WU = 41, L_WD = 42,
  L_LAST_ONLY = 53;
// prettier-ignore
export const L_D = 43, L_I = 44, L_EPS = 45, L_THR = 46;

export const RMS_NORM = 'SeqschRmsNorm';
export const SWIGLU = 'SeqschSwiGLU';
export const DECODE_ATTENTION = 'SeqschDecodeAttention';
export const DECODER_LAYER = 'SeqschDecoderLayer';

let addon: FusedAddon | undefined;
let params: Float64Array;
/** Runtime switch (tests and benchmarks compare fused and composite in one process). */
let fusedOn = true;
/** Threads the decode-attention kernel may use (the BLAS provider's budget: SEQSCH_THREADS or the cores available). */
let attentionThreads = 1;

/** Set the decode-attention kernel's thread budget (for measurements); returns the previous one. */
export function setAttentionThreads(n: number): number {
  const was = attentionThreads;
  attentionThreads = Math.max(1, Math.floor(n));
  return was;
}

/** Switch the fused kernels off (composite tfjs ops run instead) or back on; returns the previous setting. */
export function setFusedEnabled(on: boolean): boolean {
  const was = fusedOn;
  fusedOn = on;
  return was;
}

/**
 * Whether the fused kernels can run now: backend wasm, the BLAS provider installed and switched on,
 * and an addon that has them. Registers the kernels on first success.
 */
export function fusedKernelsActive(): boolean {
  if (!fusedOn || tf.getBackend() !== 'wasm') return false;
  const a = activeBlasAddon() as unknown as Partial<FusedAddon> | undefined;
  // gatherRows came with the attention kernel's T slot: an addon without it reads T > 1 as a decode step, so it counts as stale
  if (
    !a ||
    typeof a.decoderLayer !== 'function' ||
    typeof (a as { gatherRows?: unknown }).gatherRows !== 'function' ||
    a.fusedParamCount !== F_COUNT
  )
    return false;
  if (!addon) {
    addon = a as FusedAddon;
    params = fusedParams(addon);
    attentionThreads = blasStatus().maxThreads ?? 1;
    register();
  }
  return true;
}

/**
 * Whether the attention kernel can run rows at different positions in one call (continuous batching:
 * per-row cache rows and cached positions); false with fused kernels off or an addon built before it.
 */
export function rowSlotAttentionActive(): boolean {
  return fusedKernelsActive() && addon!.attentionRowSlots === true;
}

/** Seconds per phase (norms, q/k/v, attention, o, gate/up, SiLU·up, down) of the layer kernel since the last call; resets. */
export function layerProfile(): Record<string, number> | undefined {
  return fusedKernelsActive() ? addon!.layerProfile() : undefined;
}

/** The instruction set the addon's attention/SwiGLU loops run with ("avx2+fma" or "baseline"), if loaded. */
export function fusedIsa(): string | undefined {
  return fusedKernelsActive() ? addon!.fusedIsa : undefined;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

export const offsetOf = (backend: BackendWasm, t: tf.TensorInfo) =>
  (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
export const heapOf = (backend: BackendWasm) =>
  (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;
export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
// Shape tests without building strings or arrays: a decode step checks ~20 shapes per layer call, and the garbage
// of `shape.join()` comparisons showed up in the batch-1 profile (docs/cpu-engine.md, "Batch 1").
export const is1 = (s: number[], a: number) => s.length === 1 && s[0] === a;
export const is2 = (s: number[], a: number, b: number) => s.length === 2 && s[0] === a && s[1] === b;
const is4 = (s: number[], a: number, b: number, c: number, d: number) =>
  s.length === 4 && s[0] === a && s[1] === b && s[2] === c && s[3] === d;
export const sameShape = (s: number[], t: number[]) => s.length === t.length && s.every((v, i) => v === t[i]);

export function requireFloat(name: string, ...ts: [string, tf.TensorInfo | undefined][]): void {
  for (const [n, t] of ts)
    if (t && t.dtype !== 'float32') throw new Error(`${name}: ${n} must be float32, got ${t.dtype}`);
}

/** x (…, d), w (d), residual like x → normed (…, d), or [normed, x + residual] with a residual. */
function rmsNormKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const be = backend as BackendWasm;
  const { x, w, residual } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; residual?: tf.TensorInfo };
  requireFloat(RMS_NORM, ['x', x], ['w', w], ['residual', residual]);
  const d = x.shape[x.shape.length - 1];
  if (w.shape.length !== 1 || w.shape[0] !== d)
    throw new Error(`${RMS_NORM}: weight has shape [${w.shape}], expected [${d}]`);
  if (residual && residual.shape.join() !== x.shape.join())
    throw new Error(`${RMS_NORM}: residual [${residual.shape}] ≠ x [${x.shape}]`);
  const out = be.makeOutput(x.shape, 'float32');
  const sum = residual ? be.makeOutput(x.shape, 'float32') : undefined;
  const p = params;
  p[N_X] = offsetOf(be, x);
  p[N_RES] = residual ? offsetOf(be, residual) : -1;
  p[N_W] = offsetOf(be, w);
  p[N_OUT] = offsetOf(be, out);
  p[N_SUM] = sum ? offsetOf(be, sum) : -1;
  p[N_ROWS] = size(x.shape) / d;
  p[N_D] = d;
  p[N_EPS] = (attrs as { eps: number }).eps;
  addon!.rmsNorm(heapOf(be));
  return sum ? [out, sum] : out;
}

/** gate, up (N, ≥ I) read from columns gateCol / upCol (they may be one fused tensor) → (N, I). */
function swigluKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const be = backend as BackendWasm;
  const { gate, up } = inputs as { gate: tf.TensorInfo; up: tf.TensorInfo };
  const { width: I, gateCol, upCol } = attrs as { width: number; gateCol: number; upCol: number };
  requireFloat(SWIGLU, ['gate', gate], ['up', up]);
  if (
    gate.shape.length !== 2 ||
    up.shape.length !== 2 ||
    gate.shape[0] !== up.shape[0] ||
    gateCol + I > gate.shape[1] ||
    upCol + I > up.shape[1]
  ) {
    throw new Error(
      `${SWIGLU}: gate [${gate.shape}] / up [${up.shape}] do not hold ${I} columns at ${gateCol} / ${upCol}`,
    );
  }
  const N = gate.shape[0];
  const out = be.makeOutput([N, I], 'float32');
  const p = params;
  p[G_GATE] = offsetOf(be, gate) + 4 * gateCol;
  p[G_GATE_STRIDE] = gate.shape[1];
  p[G_UP] = offsetOf(be, up) + 4 * upCol;
  p[G_UP_STRIDE] = up.shape[1];
  p[G_OUT] = offsetOf(be, out);
  p[G_ROWS] = N;
  p[G_I] = I;
  addon!.swiglu(heapOf(be));
  return out;
}

/** What attention needs to know beside its inputs. */
export interface AttentionAttrs {
  /** new positions per batch row (default 1, a decode step; > 1: a prefill, causal within them) */
  T?: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** positions already in the cache; this step's keys/values go to rows [past, past + T) */
  past: number;
  /** 1/√headDim */
  scale: number;
}

export interface DecodeAttentionAttrs extends AttentionAttrs {
  /** column where q / k / v start in their (B, ·) inputs (q, k and v may be one fused tensor) */
  qCol: number;
  kCol: number;
  vCol: number;
}

/** Inputs of attention beside q/k/v: rotary tables, position ids, optional in-place caches and mask. */
export interface AttentionInfos {
  cos: tf.TensorInfo;
  sin: tf.TensorInfo;
  pos: tf.TensorInfo;
  kCache?: tf.TensorInfo;
  vCache?: tf.TensorInfo;
  mask?: tf.TensorInfo;
  /** continuous batching: int32 (B) cache row and cached positions of each batch row (the caches then hold any number of rows) */
  rowSlot?: tf.TensorInfo;
  rowPast?: tf.TensorInfo;
}

/**
 * Checks the attention inputs of B rows × T new positions against `a` and writes every attention slot except
 * q/k/v/out; the cache slots are −1 when there is no cache (then past must be 0 and the capacity is T).
 */
export function attentionSlots(
  name: string,
  be: BackendWasm,
  inp: AttentionInfos,
  a: AttentionAttrs,
  B: number,
  T: number,
): void {
  const { cos, sin, pos, kCache, vCache, mask, rowSlot, rowPast } = inp;
  const { numHeads: nH, numKvHeads: nKv, headDim: hd } = a;
  const bad = (what: string) => new Error(`${name}: ${what}`);
  if (
    cos.dtype !== 'float32' ||
    sin.dtype !== 'float32' ||
    (kCache && kCache.dtype !== 'float32') ||
    (vCache && vCache.dtype !== 'float32')
  )
    requireFloat(name, ['cos', cos], ['sin', sin], ['kCache', kCache], ['vCache', vCache]); // throws, naming it
  if (!kCache !== !vCache) throw bad('give both caches or neither');
  if (!kCache && a.past !== 0) throw bad(`past ${a.past} without a cache`);
  if ((rowSlot || rowPast) && !kCache) throw bad('rowSlot / rowPast need a cache');
  const cap = kCache ? kCache.shape[2] : T;
  // with rowSlot the caches hold any number of rows (the running batch's slots); batch row b uses row rowSlot[b]
  const rows = kCache && rowSlot ? kCache.shape[0] : B;
  if (kCache && (!is4(kCache.shape, rows, nKv, cap, hd) || !sameShape(vCache!.shape, kCache.shape)))
    throw bad(`caches [${kCache.shape}] / [${vCache!.shape}], expected [${rows}, ${nKv}, cap, ${hd}]`);
  if (rowSlot || rowPast)
    for (const [n, t] of [
      ['rowSlot', rowSlot],
      ['rowPast', rowPast],
    ] as const) {
      if (t && (t.dtype !== 'int32' || size(t.shape) !== B))
        throw bad(`${n} must be int32 of ${B} entries, got ${t.dtype} [${t.shape}]`);
    }
  if (pos.dtype !== 'int32' || (size(pos.shape) !== B * T && size(pos.shape) !== T))
    throw bad(`pos must be int32 of ${B * T} or ${T} entries, got ${pos.dtype} [${pos.shape}]`);
  if (mask && (!is2(mask.shape, B, a.past + T) || (mask.dtype !== 'int32' && mask.dtype !== 'float32')))
    throw bad(`mask [${mask.shape}] ${mask.dtype}, expected [${B}, ${a.past + T}]`);
  if (a.past + T > cap) throw bad(`cache full (past ${a.past} + ${T} new, capacity ${cap})`);
  const p = params;
  p[A_B] = B;
  p[A_T] = T;
  p[A_NH] = nH;
  p[A_NKV] = nKv;
  p[A_HD] = hd;
  p[A_COS] = offsetOf(be, cos);
  p[A_SIN] = offsetOf(be, sin);
  p[A_ROPE_ROWS] = cos.shape[0];
  p[A_POS] = offsetOf(be, pos);
  p[A_POS_B] = size(pos.shape) / T;
  p[A_KCACHE] = kCache ? offsetOf(be, kCache) : -1;
  p[A_VCACHE] = vCache ? offsetOf(be, vCache) : -1;
  p[A_CAP] = cap;
  p[A_PAST] = a.past;
  p[A_MASK] = mask ? offsetOf(be, mask) : -1;
  p[A_MASK_LEN] = a.past + T;
  p[A_MASK_FLOAT] = mask?.dtype === 'float32' ? 1 : 0;
  p[A_SCALE] = a.scale;
  p[A_THREADS] = attentionThreads;
  p[A_ROW_SLOT] = rowSlot ? offsetOf(be, rowSlot) : -1;
  p[A_ROW_PAST] = rowPast ? offsetOf(be, rowPast) : -1;
  p[A_CACHE_ROWS] = rows;
}

/**
 * q (B·T, ·), k (B·T, ·), v (B·T, ·) (rows b·T + t); cos/sin tables (P, hd); pos int32 (B·T) or (T);
 * kCache/vCache (B, nKv, cap, hd), written at rows [past, past + T) — or absent (no cache: scratch
 * buffers of T rows, freed after the call); mask (B, past + T) int32 or float32, optional
 * → attention output (B·T, nH·hd), causal within the T new positions.
 */
function decodeAttentionKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const be = backend as BackendWasm;
  const { q, k, v } = inputs as Record<string, tf.TensorInfo>;
  const inp = inputs as unknown as AttentionInfos;
  const a = attrs as unknown as DecodeAttentionAttrs;
  const { numHeads: nH, numKvHeads: nKv, headDim: hd } = a;
  const T = a.T ?? 1;
  requireFloat(DECODE_ATTENTION, ['q', q], ['k', k], ['v', v]);
  const bad = (what: string) => new Error(`${DECODE_ATTENTION}: ${what}`);
  if (!Number.isInteger(T) || T < 1 || q.shape[0] % T !== 0)
    throw bad(`q has ${q.shape[0]} rows, not a multiple of T = ${T}`);
  const B = q.shape[0] / T;
  if (
    a.qCol + nH * hd > q.shape[1] ||
    a.kCol + nKv * hd > k.shape[1] ||
    a.vCol + nKv * hd > v.shape[1] ||
    k.shape[0] !== B * T ||
    v.shape[0] !== B * T
  )
    throw bad(`q [${q.shape}] / k [${k.shape}] / v [${v.shape}] too narrow`);
  const out = be.makeOutput([B * T, nH * hd], 'float32');
  // no cache: the rotated keys and the values live in scratch buffers for this call only
  const scratch = inp.kCache
    ? []
    : [be.makeOutput([B, nKv, T, hd], 'float32'), be.makeOutput([B, nKv, T, hd], 'float32')];
  attentionSlots(DECODE_ATTENTION, be, inp, a, B, T);
  const p = params;
  if (scratch.length) [p[A_KCACHE], p[A_VCACHE]] = scratch.map((t) => offsetOf(be, t));
  p[A_Q] = offsetOf(be, q) + 4 * a.qCol;
  p[A_Q_STRIDE] = q.shape[1];
  p[A_K] = offsetOf(be, k) + 4 * a.kCol;
  p[A_K_STRIDE] = k.shape[1];
  p[A_V] = offsetOf(be, v) + 4 * a.vCol;
  p[A_V_STRIDE] = v.shape[1];
  p[A_OUT] = offsetOf(be, out);
  try {
    addon!.decodeAttention(heapOf(be));
  } finally {
    for (const t of scratch) be.disposeData(t.dataId);
  }
  return out;
}

export interface DecoderLayerAttrs extends AttentionAttrs {
  /** RMSNorm's epsilon */
  eps: number;
  /**
   * T > 1 only: write every position's keys/values to the cache (required) but compute the rest of the layer for
   * each batch row's last position only; the output is then (B, d). For a prefill's last layer.
   */
  lastOnly?: boolean;
}

/** The inputs of one decoder layer: its weights as src/model/llama.ts holds them, (in, out). */
export interface DecoderLayerWeights {
  inputNorm: tf.Tensor; // (d)
  q_proj: tf.Tensor; // (d, nH·hd)
  k_proj: tf.Tensor; // (d, nKv·hd)
  v_proj: tf.Tensor; // (d, nKv·hd)
  o_proj: tf.Tensor; // (nH·hd, d)
  postNorm: tf.Tensor; // (d)
  gate_proj: tf.Tensor; // (d, I)
  up_proj: tf.Tensor; // (d, I)
  down_proj: tf.Tensor; // (I, d)
}

/** The layer's weights have the shapes and dtype decoderLayerKernel needs (no allocation: checked every call). */
export function layerWeightsOk(
  w: Record<keyof DecoderLayerWeights, tf.TensorInfo>,
  x: tf.TensorInfo,
  d: number,
  I: number,
  qW: number,
  kvW: number,
): boolean {
  return (
    x.dtype === 'float32' &&
    is1(w.inputNorm.shape, d) &&
    is1(w.postNorm.shape, d) &&
    is2(w.q_proj.shape, d, qW) &&
    is2(w.k_proj.shape, d, kvW) &&
    is2(w.v_proj.shape, d, kvW) &&
    is2(w.o_proj.shape, qW, d) &&
    is2(w.gate_proj.shape, d, I) &&
    is2(w.up_proj.shape, d, I) &&
    is2(w.down_proj.shape, I, d) &&
    LAYER_WEIGHTS.every((n) => w[n].dtype === 'float32')
  );
}

export const LAYER_WEIGHTS: (keyof DecoderLayerWeights)[] = [
  'inputNorm',
  'postNorm',
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
];

/** Throws naming the first weight of the wrong dtype or shape (the slow path after layerWeightsOk said no). */
export function checkLayerWeights(
  w: Record<keyof DecoderLayerWeights, tf.TensorInfo>,
  x: tf.TensorInfo,
  d: number,
  I: number,
  qW: number,
  kvW: number,
  name = DECODER_LAYER,
): void {
  const expect: [keyof DecoderLayerWeights, number[]][] = [
    ['inputNorm', [d]],
    ['postNorm', [d]],
    ['q_proj', [d, qW]],
    ['k_proj', [d, kvW]],
    ['v_proj', [d, kvW]],
    ['o_proj', [qW, d]],
    ['gate_proj', [d, I]],
    ['up_proj', [d, I]],
    ['down_proj', [I, d]],
  ];
  requireFloat(name, ['x', x], ...expect.map(([n]) => [n, w[n]] as [string, tf.TensorInfo]));
  for (const [n, shape] of expect)
    if (!sameShape(w[n].shape, shape)) throw new Error(`${name}: ${n} has shape [${w[n].shape}], expected [${shape}]`);
}

/**
 * x (B·T, d) → the layer's output (B·T, d): norm, q/k/v, attention (as decodeAttentionKernel, cache written in
 * place), o, residual + norm, gate/up, SiLU·up, down, residual. Each product gets the thread count tf.matMul
 * would give it (src/kernels/blas-threads.ts), so the result is bit-identical to running the ops one by one.
 */
function decoderLayerKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const be = backend as BackendWasm;
  const w = inputs as unknown as Record<keyof DecoderLayerWeights, tf.TensorInfo>;
  const x = inputs.x as tf.TensorInfo;
  const a = attrs as unknown as DecoderLayerAttrs;
  const { numHeads: nH, numKvHeads: nKv, headDim: hd } = a;
  const T = a.T ?? 1;
  const bad = (what: string) => new Error(`${DECODER_LAYER}: ${what}`);
  if (x.shape.length !== 2 || !Number.isInteger(T) || T < 1 || x.shape[0] % T !== 0)
    throw bad(`x [${x.shape}] is not (B·T, d) for T = ${T}`);
  const [N, d] = x.shape;
  const I = w.gate_proj.shape[1]!;
  if (!layerWeightsOk(w, x, d, I, nH * hd, nKv * hd)) checkLayerWeights(w, x, d, I, nH * hd, nKv * hd); // throws
  const lastOnly = (a.lastOnly ?? false) && T > 1;
  if (lastOnly && !inputs.kCache) throw bad('lastOnly needs a cache (the other positions would be lost)');
  const M = lastOnly ? N / T : N; // rows of q, attention, o, the MLP and the output
  const out = be.makeOutput([M, d], 'float32');
  attentionSlots(DECODER_LAYER, be, inputs as unknown as AttentionInfos, a, N / T, T);
  const p = params;
  p[L_X] = offsetOf(be, x);
  p[L_OUT] = offsetOf(be, out);
  p[L_W_IN] = offsetOf(be, w.inputNorm);
  p[L_W_POST] = offsetOf(be, w.postNorm);
  p[L_WQ] = offsetOf(be, w.q_proj);
  p[L_WK] = offsetOf(be, w.k_proj);
  p[L_WV] = offsetOf(be, w.v_proj);
  p[L_WO] = offsetOf(be, w.o_proj);
  p[L_WG] = offsetOf(be, w.gate_proj);
  p[L_WU] = offsetOf(be, w.up_proj);
  p[L_WD] = offsetOf(be, w.down_proj);
  p[L_D] = d;
  p[L_I] = I;
  p[L_EPS] = a.eps;
  layerThreads(p, M, N, a, d, I);
  p[L_LAST_ONLY] = lastOnly ? 1 : 0;
  addon!.decoderLayer(heapOf(be));
  return out;
}

/** The addon and its parameter block while fusedKernelsActive(); throws otherwise (a caller checked first). */
export function fusedAddon(): { addon: FusedAddon; params: Float64Array; attentionThreads: number } {
  if (!fusedKernelsActive()) throw new Error('fused kernels are not active');
  return { addon: addon!, params, attentionThreads };
}

/**
 * Writes the thread counts of the layer's q, k, v, o, gate, up, down products into slots L_THR …, each
 * (rows, K)·(K, cols) as tf.matMul would get it (threadsFor(rows, cols, K)): M rows for q and what follows
 * attention, N for k and v (all positions: the cache needs them).
 */
export function layerThreads(p: Float64Array, M: number, N: number, a: AttentionAttrs, d: number, I: number): void {
  const { numHeads: nH, numKvHeads: nKv, headDim: hd } = a;
  const max = blasStatus().maxThreads ?? 1;
  p[L_THR] = threadsFor(M, nH * hd, d, max);
  p[L_THR + 1] = p[L_THR + 2] = threadsFor(N, nKv * hd, d, max);
  p[L_THR + 3] = threadsFor(M, d, nH * hd, max);
  p[L_THR + 4] = p[L_THR + 5] = threadsFor(M, I, d, max);
  p[L_THR + 6] = threadsFor(M, d, I, max);
}

function register(): void {
  for (const [kernelName, kernelFunc] of [
    [RMS_NORM, rmsNormKernel],
    [SWIGLU, swigluKernel],
    [DECODE_ATTENTION, decodeAttentionKernel],
    [DECODER_LAYER, decoderLayerKernel],
  ] as const) {
    if (!tf.getKernel(kernelName, 'wasm'))
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}

/** Run a custom kernel through the engine (tidy, memory accounting, profiles); absent optional inputs dropped. */
export function run(name: string, inputs: Record<string, tf.Tensor | undefined>, attrs: object) {
  const given: tf.NamedTensorMap = {};
  for (const k in inputs) if (inputs[k]) given[k] = inputs[k]!;
  return tf.engine().runKernel(name, given, attrs as tf.NamedAttrMap);
}

/** RMSNorm of x (…, d) with weight w (d): x / √(mean(x²) + eps) · w. */
export function rmsNormNative<T extends tf.Tensor>(x: T, w: tf.Tensor, eps: number): T {
  return run(RMS_NORM, { x, w }, { eps }) as T;
}

/** [RMSNorm(x + residual) · w, x + residual] in one kernel. */
export function addRmsNormNative<T extends tf.Tensor>(x: T, residual: T, w: tf.Tensor, eps: number): [T, T] {
  return run(RMS_NORM, { x, w, residual }, { eps }) as unknown as [T, T];
}

/** SiLU(gate)·up for gate/up (N, I), or for one fused (N, ≥ 2I) tensor with gate at gateCol and up at upCol. */
export function swigluNative(
  gate: tf.Tensor2D,
  up: tf.Tensor2D,
  width = gate.shape[1],
  gateCol = 0,
  upCol = 0,
): tf.Tensor2D {
  return run(SWIGLU, { gate, up }, { width, gateCol, upCol }) as tf.Tensor2D;
}

export interface DecodeAttentionInputs {
  q: tf.Tensor2D;
  k: tf.Tensor2D;
  v: tf.Tensor2D;
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  pos: tf.Tensor;
  /** none: no cache (past must be 0) */
  kCache?: tf.Tensor4D;
  vCache?: tf.Tensor4D;
  mask?: tf.Tensor2D;
  /** continuous batching: int32 (B) cache row of each batch row (the caches may hold more rows) … */
  rowSlot?: tf.Tensor1D;
  /** … and its cached positions (attrs.past is then their maximum); needs rowSlotAttentionActive() */
  rowPast?: tf.Tensor1D;
}

/**
 * Attention of T new positions (attrs.T, default 1: one decode step) for every batch row, causal
 * among them; writes their rotated k and v into the caches (in place) when given.
 */
export function decodeAttentionNative(inputs: DecodeAttentionInputs, attrs: DecodeAttentionAttrs): tf.Tensor2D {
  return run(DECODE_ATTENTION, inputs as unknown as Record<string, tf.Tensor>, attrs) as tf.Tensor2D;
}

/**
 * One whole decoder layer for T new positions per row (attrs.T, default 1): x (B·T, d) → (B·T, d) — (B, d) with
 * attrs.lastOnly — writing the layer's rotated keys and values into the caches (in place) when given.
 * Bit-identical to the per-op kernels (lastOnly: up to float rounding of the B rows it keeps).
 */
export function decoderLayerNative(
  x: tf.Tensor2D,
  w: DecoderLayerWeights,
  att: Omit<DecodeAttentionInputs, 'q' | 'k' | 'v'>,
  attrs: DecoderLayerAttrs,
): tf.Tensor2D {
  return run(DECODER_LAYER, { x, ...w, ...att } as Record<string, tf.Tensor | undefined>, attrs) as tf.Tensor2D;
}
