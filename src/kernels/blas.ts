/**
 * The fast CPU path: tfjs `BatchMatMul` and `_FusedMatMul` for the `wasm` backend, run through a small Node addon
 * (native/blas.cc) directly on the wasm heap, without copies — by OpenBLAS `cblas_sgemm` where the addon was built
 * with it, else by the addon's own packed GEMM (native/own-gemm.h; AVX-512/AVX2+FMA/portable, chosen at load).
 *
 * The forward pass and the matmuls inside gradients go through the same two kernels, so model code
 * does not change. Cases the addon does not handle (non-float32, prelu, bias that is not rank 1)
 * go to the original wasm kernel, kept from before re-registration. This module does not build the
 * addon (scripts/build-native.mjs does, at install time) and touches no other kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadBudget, threadsFor } from './blas-threads.js';
import { installNativeGather, type GatherAddon } from './gather.js';

/** The addon's exports (native/blas.cc; the fused inference kernels of native/fused.cc are typed in ./fused.ts). */
export interface BlasAddon {
  setParams(params: Float64Array): void;
  sgemm(heap: ArrayBuffer, batchIndex?: Int32Array): void;
  info(): {
    config: string;
    corename: string;
    threads: number;
    parallel: number;
    gemmPool?: boolean;
    /** which GEMM runs the products (addons before the own GEMM: absent, always OpenBLAS) */
    gemm?: 'openblas' | 'own';
    /** the own GEMM's variant and register tile, e.g. "avx2+fma 6x16" */
    ownIsa?: string;
    /** false: built without OpenBLAS (not found at build, or SEQSCH_OPENBLAS=0) */
    openblasLinked?: boolean;
  };
  /** true: the own GEMM runs the products; false: OpenBLAS where linked. Returns whether the own GEMM now runs. */
  setGemm?(own: boolean): boolean;
  /** the own GEMM's variant, capped by what the CPU runs; returns the variant in use, e.g. "avx2+fma 6x16" */
  setGemmIsa?(isa: 'generic' | 'avx2' | 'avx512'): string;
  setThreads(n: number): void;
  /** true (default): OpenBLAS single-threaded, products split over the addon's own threads (shared with attention) */
  setGemmPool?(on: boolean): void;
  /** the pool's contention record: calls shared with workers, of them late (the caller waited), calls run solo */
  poolStats?(): PoolStats;
  /** false: the pool never goes solo after a late worker (measurements compare both in one process) */
  setPoolAdaptive?(on: boolean): void;
  paramCount: number;
}

// Slots of the parameter block shared with the addon (enum Param in native/blas.cc).
// prettier-ignore
const P_TRANS_A = 0, P_TRANS_B = 1, P_M = 2, P_N = 3, P_K = 4, P_A_OFF = 5, P_B_OFF = 6, P_C_OFF = 7,
  P_BATCH = 8, P_A_STRIDE = 9, P_B_STRIDE = 10, P_BIAS_OFF = 11, P_BIAS_LEN = 12, P_ACT = 13, P_ALPHA = 14,
  P_THREADS = 15, P_COUNT = 16;

/** Fused activations the addon applies itself (enum Act in native/blas.cc); others fall back. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 };

/** Counts of the addon's thread pool since start (native/pool.h). */
export interface PoolStats {
  shared: number;
  late: number;
  solo: number;
}

export interface BlasStatus {
  /** true when MatMul/_FusedMatMul on wasm run through the addon */
  active: boolean;
  /** one line for `seqsch env`: which path runs and why */
  note: string;
  /** the GEMM in use, when the addon loaded: "OpenBLAS (Zen)" or "own packed GEMM (avx2+fma 6x16)" */
  corename?: string;
  maxThreads?: number;
}

/** The addon's GEMM in words, for `seqsch env` and benchmark records. */
function gemmName(info: ReturnType<BlasAddon['info']>): string {
  if ((info.gemm ?? 'openblas') === 'openblas') return `OpenBLAS (${info.corename})`;
  const why = info.openblasLinked ? 'OpenBLAS linked but not used' : 'built without OpenBLAS';
  return `own packed GEMM (${info.ownIsa}; ${why})`;
}

/**
 * Run the products on the addon's own GEMM (true) or on OpenBLAS (false; only where the addon links it). For tests and
 * benchmarks that compare both in one process; SEQSCH_GEMM=own at start does the same. Returns whether the own GEMM
 * runs now, or undefined when no addon (or one without the own GEMM) is loaded.
 */
export function setOwnGemm(own: boolean): boolean | undefined {
  if (!addon?.setGemm) return undefined;
  const now = addon.setGemm(own);
  if (status.active) status = { ...status, corename: gemmName(addon.info()), note: noteOf(addon) };
  return now;
}

/**
 * The own GEMM's variant ('generic' | 'avx2' | 'avx512', capped by what the CPU runs; tests check each one this CPU
 * has). Returns the variant now in use, or undefined when no addon with the own GEMM is loaded.
 */
export function setOwnGemmIsa(isa: 'generic' | 'avx2' | 'avx512'): string | undefined {
  if (!addon?.setGemmIsa) return undefined;
  const now = addon.setGemmIsa(isa);
  if (status.active) status = { ...status, corename: gemmName(addon.info()), note: noteOf(addon) };
  return now;
}

let noteRest: (pool: string) => string = () => '';
/** The `seqsch env` line of an active addon: the GEMM first, then the rest fixed at install. */
function noteOf(a: BlasAddon): string {
  const info = a.info();
  const pool =
    info.gemm === 'own'
      ? "the addon's thread pool"
      : info.gemmPool
        ? "the addon's thread pool, OpenBLAS single-threaded"
        : "OpenBLAS's threads";
  return `BLAS matmul: active — ${gemmName(info)}${noteRest(pool)}`;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where scripts/build-native.mjs puts the addon. */
export const ADDON_PATH = join(repoRoot, 'build', 'seqsch_blas.node');

let status: BlasStatus = { active: false, note: 'BLAS matmul: not initialised (the wasm backend was not started)' };
let addon: BlasAddon | undefined;
let params: Float64Array;
/** Runtime switch (tests and benchmarks compare both paths in one process). */
let enabled = false;
let maxThreads = 1;
type Kernel = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => tf.TensorInfo;
const original: { batchMatMul?: Kernel; fusedMatMul?: Kernel; identity?: Kernel } = {};
/** sgemm calls made through the addon since start (tests check the provider really ran). */
let calls = 0;

export function blasStatus(): BlasStatus {
  return status;
}

/**
 * The loaded addon while the provider is installed and switched on, else undefined: src/kernels/fused.ts
 * runs its inference kernels only then, so SEQSCH_BLAS=0 and setBlasEnabled(false) turn them off too.
 */
export function activeBlasAddon(): BlasAddon | undefined {
  return enabled && status.active ? addon : undefined;
}

/** The thread pool's counts since start, when the addon is loaded (and new enough to keep them). */
export function poolStats(): PoolStats | undefined {
  return addon?.poolStats?.();
}

/**
 * Whether the thread pool may run calls solo after a worker was late (default true; native/pool.h). For
 * measurements only: false shows what the pool did before it watched for contention. Returns the previous setting.
 */
let adaptive = true;
export function setPoolAdaptive(on: boolean): boolean {
  const was = adaptive;
  adaptive = on;
  addon?.setPoolAdaptive?.(on);
  return was;
}

/** Number of matmul kernels the addon has run since the process started. */
export function blasCallCount(): number {
  return calls;
}

/**
 * Switch between OpenBLAS and the original wasm kernels after installation (for tests and
 * benchmarks). Returns the previous setting. Has no effect when the provider is not installed.
 */
export function setBlasEnabled(on: boolean): boolean {
  const was = enabled;
  enabled = on && status.active;
  return was;
}

/** Run `fn` with the original wasm matmul kernels, restoring the previous setting afterwards. */
export function withoutBlas<T>(fn: () => T): T {
  const was = setBlasEnabled(false);
  try {
    return fn();
  } finally {
    setBlasEnabled(was);
  }
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

function loadAddon(): BlasAddon | string {
  if (!existsSync(ADDON_PATH)) {
    const log = join(repoRoot, 'build', 'native-build.log');
    return `addon not built (${relative(process.cwd(), ADDON_PATH) || ADDON_PATH} missing; run \`node scripts/build-native.mjs\`${existsSync(log) ? ', see build/native-build.log' : ''})`;
  }
  try {
    return createRequire(import.meta.url)(ADDON_PATH) as BlasAddon;
  } catch (e) {
    const msg = firstLine(e);
    if (/libopenblas/.test(msg))
      return `libopenblas missing at run time (${msg}; Debian/Ubuntu: apt-get install libopenblas0)`;
    return `addon does not load (${msg})`;
  }
}

/** Bytes offset of a tensor's data in the wasm heap. */
function offsetOf(backend: BackendWasm, t: tf.TensorInfo): number {
  return (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
}

/**
 * For batch dims that broadcast other than "same shape" or "one matrix", the (a, b) matrix index
 * of every output matrix, as tfjs's broadcasting defines it (size-1 dims repeat).
 */
function broadcastIndex(aDims: number[], bDims: number[], outDims: number[]): Int32Array {
  const rank = outDims.length;
  const pad = (d: number[]) => [...new Array(rank - d.length).fill(1), ...d];
  const ad = pad(aDims),
    bd = pad(bDims);
  const total = outDims.reduce((x, y) => x * y, 1);
  const index = new Int32Array(2 * total);
  const coord = new Array(rank).fill(0);
  for (let i = 0; i < total; i++) {
    let ai = 0,
      bi = 0;
    for (let d = 0; d < rank; d++) {
      ai = ai * ad[d] + (ad[d] === 1 ? 0 : coord[d]);
      bi = bi * bd[d] + (bd[d] === 1 ? 0 : coord[d]);
    }
    index[2 * i] = ai;
    index[2 * i + 1] = bi;
    for (let d = rank - 1; d >= 0; d--) {
      if (++coord[d] < outDims[d]) break;
      coord[d] = 0;
    }
  }
  return index;
}

interface Epilogue {
  biasOff: number;
  biasLen: number;
  act: number;
  alpha: number;
}

/**
 * out = op(a) @ op(b) (+ bias, activation) for a (..., M, K) and b (..., K, N) (before transposes),
 * batch dims broadcast; or undefined when the shapes are not ours to handle.
 */
function sgemmKernel(
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  epilogue: Epilogue | undefined,
  bias?: tf.TensorInfo,
): tf.TensorInfo | undefined {
  const ar = a.shape.length,
    br = b.shape.length;
  if (ar < 2 || br < 2) return undefined;
  const M = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const Ka = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const Kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const N = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  if (Ka !== Kb) return undefined; // the original kernel throws tfjs's own message
  const K = Ka;
  const aDims = a.shape.slice(0, -2),
    bDims = b.shape.slice(0, -2);
  const outDims = tf.broadcast_util.assertAndGetBroadcastShape(aDims, bDims);
  const aBatch = aDims.reduce((x, y) => x * y, 1),
    bBatch = bDims.reduce((x, y) => x * y, 1);
  const batch = outDims.reduce((x, y) => x * y, 1);
  // Biggest dims go to int32 in BLAS; leave anything near that to the original kernel.
  if (M * K > 2 ** 31 - 1 || K * N > 2 ** 31 - 1 || M * N * batch > 2 ** 31 - 1) return undefined;

  const out = backend.makeOutput([...outDims, M, N], 'float32');
  if (batch * M * N === 0) return out;
  // Offsets only after makeOutput: it may grow the wasm memory (the heap buffer changes, offsets not).
  const p = params;
  p[P_TRANS_A] = transposeA ? 1 : 0;
  p[P_TRANS_B] = transposeB ? 1 : 0;
  p[P_N] = N;
  p[P_K] = K;
  p[P_A_OFF] = offsetOf(backend, a);
  p[P_B_OFF] = offsetOf(backend, b);
  p[P_C_OFF] = offsetOf(backend, out);
  let index: Int32Array | undefined;
  if (bBatch === 1 && aBatch === batch && !transposeA) {
    // (batch, M, K) @ (K, N): one (batch*M, K) @ (K, N) call — decode steps and dense layers.
    p[P_M] = batch * M;
    p[P_BATCH] = 1;
    p[P_A_STRIDE] = 0;
    p[P_B_STRIDE] = 0;
  } else {
    p[P_M] = M;
    p[P_BATCH] = batch;
    if ((aBatch === batch || aBatch === 1) && (bBatch === batch || bBatch === 1)) {
      p[P_A_STRIDE] = aBatch === 1 ? 0 : M * K;
      p[P_B_STRIDE] = bBatch === 1 ? 0 : K * N;
    } else {
      index = broadcastIndex(aDims, bDims, outDims);
    }
  }
  if (epilogue && bias) {
    p[P_BIAS_OFF] = offsetOf(backend, bias);
    p[P_BIAS_LEN] = epilogue.biasLen;
  } else {
    p[P_BIAS_OFF] = -1;
    p[P_BIAS_LEN] = 0;
  }
  p[P_ACT] = epilogue?.act ?? 0;
  p[P_ALPHA] = epilogue?.alpha ?? 0;
  p[P_THREADS] = threadsFor(p[P_M], N, K, maxThreads);
  const heap = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;
  if (index) addon!.sgemm(heap, index);
  else addon!.sgemm(heap);
  calls++;
  return out;
}

function batchMatMul(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  if (enabled) {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype === 'float32' && b.dtype === 'float32') {
      const out = sgemmKernel(args.backend as BackendWasm, a, b, !!transposeA, !!transposeB, undefined);
      if (out) return out;
    }
  }
  return original.batchMatMul!(args);
}

function fusedMatMul(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  if (enabled) {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
      activation?: string;
      leakyreluAlpha?: number;
    };
    const act = ACTIVATIONS[activation ?? 'linear'];
    const N = b!.shape[transposeB ? b!.shape.length - 2 : b!.shape.length - 1];
    const biasOk =
      bias == null ||
      (bias.dtype === 'float32' && bias.shape.length === 1 && (bias.shape[0] === N || bias.shape[0] === 1));
    if (
      a!.dtype === 'float32' &&
      b!.dtype === 'float32' &&
      act !== undefined &&
      preluActivationWeights == null &&
      biasOk
    ) {
      const epilogue = { biasOff: -1, biasLen: bias ? bias.shape[0] : 0, act, alpha: leakyreluAlpha ?? 0.2 };
      const out = sgemmKernel(args.backend as BackendWasm, a!, b!, !!transposeA, !!transposeB, epilogue, bias);
      if (out) return out;
    }
  }
  return original.fusedMatMul!(args);
}

/**
 * Identity (tf.clone, and the gradient tape's pass-throughs) without a copy: the output shares the
 * input's heap data with one more reference, as the wasm Reshape and the cpu backend's Identity do.
 * tfjs tensors are immutable (variables are reassigned, never written in place), so sharing is safe;
 * the wasm kernel's copy cost ~250 MB of memcpy per LoRA step of the 5M model.
 */
function identity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (!enabled || x.dtype === 'string') return original.identity!(args);
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Replace the wasm kernel `name` by `kernelFunc`, keeping the original (and its setup) for fallback. */
function replaceKernel(name: string, kernelFunc: Kernel): Kernel {
  const cfg = tf.getKernel(name, 'wasm');
  if (!cfg) throw new Error(`wasm backend has no ${name} kernel to replace`);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    setupFunc: cfg.setupFunc,
    disposeFunc: cfg.disposeFunc,
    kernelFunc: kernelFunc as tf.KernelFunc,
  });
  return cfg.kernelFunc as unknown as Kernel;
}

/** Largest |x - y| / max(|y|, 1e-3 * max|y|) between two float arrays. */
function maxRelDiff(x: Float32Array, y: Float32Array): number {
  let scale = 0;
  for (const v of y) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(Math.abs(y[i]), 1e-3 * scale, 1e-30));
  }
  return worst;
}

/**
 * Install the addon's matmul kernels on the (already initialised) wasm backend. Idempotent. Returns the
 * one-line note `seqsch env` prints: active with how many threads, or why plain wasm runs.
 * Disabled by SEQSCH_BLAS=0; SEQSCH_THREADS sets the threads of products and attention (default: the cores this
 * process may use, cgroup quota included; see threadBudget);
 * SEQSCH_BLAS_POOL=0 hands products to OpenBLAS's own threads instead of the addon's pool.
 */
/**
 * Printed when the addon is missing or broken. Figures: experiments/seqsch.yaml reusing the committed perception
 * outputs, SEQSCH_BLAS=0 vs the addon, same session, 2 vCPUs (AMD EPYC), 2026-12-02 (docs/results.md).
 */
const PLAIN_WASM_COST =
  'The native kernels make the main job ~5.6× faster (304 s → 54 s on 2 vCPUs); to build them (a C++ compiler ' +
  'suffices; OpenBLAS is used where installed): sudo apt-get install -y g++ make && npm rebuild';
let warnedPlainWasm = false;

export async function installBlasKernels(): Promise<string> {
  if (status.active) {
    enabled = true;
    return status.note;
  }
  const off = (why: string) => {
    status = { active: false, note: `BLAS matmul: off — ${why}; matmuls run on plain wasm (XNNPACK)` };
    enabled = false;
    return status.note;
  };
  if (process.env.SEQSCH_BLAS === '0') return off('disabled by SEQSCH_BLAS=0');
  if (tf.getBackend() !== 'wasm') return off(`backend is ${tf.getBackend()}, the provider serves wasm only`);
  const loaded = loadAddon();
  if (typeof loaded === 'string') {
    // not chosen by the user (SEQSCH_BLAS=0 is silent): say once what it costs and how to get the fast path
    if (!warnedPlainWasm) console.error(`seqsch: running on plain wasm: ${loaded}. ${PLAIN_WASM_COST}`);
    warnedPlainWasm = true;
    return off(loaded);
  }
  const backend = tf.backend() as BackendWasm;
  const heap = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer;
  // Tag check, not instanceof: under jest the heap comes from another realm.
  if (Object.prototype.toString.call(heap) !== '[object ArrayBuffer]')
    return off('the wasm heap is a SharedArrayBuffer (threaded wasm build), which the addon does not read');
  if (loaded.paramCount !== P_COUNT)
    return off(
      `addon is stale (parameter block ${loaded.paramCount} ≠ ${P_COUNT}); rebuild with \`node scripts/build-native.mjs\``,
    );
  addon = loaded;
  params = new Float64Array(P_COUNT);
  addon.setParams(params);
  const budget = threadBudget();
  maxThreads = budget.threads;
  addon.setThreads(maxThreads);
  // SEQSCH_BLAS_POOL=0: OpenBLAS's own threads (whose idle worker spins on a core the attention kernel's thread needs)
  addon.setGemmPool?.(process.env.SEQSCH_BLAS_POOL !== '0');

  original.batchMatMul = replaceKernel(tf.BatchMatMul, batchMatMul);
  original.fusedMatMul = replaceKernel(tf._FusedMatMul, fusedMatMul);
  original.identity = replaceKernel(tf.Identity, identity);
  status = { active: true, note: '' };

  // Self-check on a small product (with transposes and bias) against the original kernels before use.
  enabled = true;
  const diff = tf.tidy(() => {
    const a = tf.randomUniform([3, 5, 7], -1, 1, 'float32', 1);
    const b = tf.randomUniform([7, 6], -1, 1, 'float32', 2);
    const bias = tf.randomUniform([6], -1, 1, 'float32', 3);
    const f = () => [
      tf.matMul(a, b),
      tf.matMul(b, a, true, true),
      tf.fused.matMul({ a: a.reshape([15, 7]), b, bias, activation: 'relu' }),
    ];
    const ours = f().map((t) => t.dataSync() as Float32Array);
    const ref = withoutBlas(f).map((t) => t.dataSync() as Float32Array);
    return Math.max(...ours.map((o, i) => maxRelDiff(o, ref[i])));
  });
  if (!(diff < 1e-4)) {
    status = { active: false, note: '' };
    return off(`self-check failed (max rel. diff ${diff} against the wasm kernel)`);
  }
  const gather = installNativeGather(
    addon as Partial<GatherAddon>,
    () => activeBlasAddon() as unknown as GatherAddon | undefined,
  );
  const info = addon.info();
  noteRest = (pool) =>
    ` via ${relative(process.cwd(), ADDON_PATH) || ADDON_PATH}, up to ${maxThreads} threads (${budget.why}; ${pool}); MatMul/_FusedMatMul on wasm use it, Identity shares data; ${gather}`;
  status = { active: true, corename: gemmName(info), maxThreads, note: noteOf(addon) };
  return status.note;
}
