/**
 * tfjs `GatherV2` for the `wasm` backend as a row copy by the native addon (native/fused.cc
 * gatherRows): for float32 or int32 params, int32 indices, axis 0 and batchDims 0 — the embedding
 * lookup and the rotary-table lookups of every forward — it memcpy's whole rows on the wasm heap,
 * where tfjs-wasm's own kernel copies element by element (~30× slower on (10k, 192) lookups).
 *
 * Every other case goes to the original wasm kernel, kept from before re-registration, and so does
 * everything while the BLAS provider is off. An index outside [0, rows) throws tfjs's own message.
 * The gradient of gather (UnsortedSegmentSum, src/kernels/wasm-extra.ts) is not touched.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { fusedParams } from './fused-params.js';

/** The addon's export (native/fused.cc); absent in an addon built before it. */
export interface GatherAddon {
  setFusedParams(params: Float64Array): void;
  /** −1, or the position in the indices of the first one out of range */
  gatherRows(heap: ArrayBuffer): number;
}

// Parameter slots, as enum GatherParam of native/fused.cc (the fused kernels' parameter block).
const R_X = 0,
  R_ROWS = 1,
  R_ROW_FLOATS = 2,
  R_IDX = 3,
  R_N = 4,
  R_OUT = 5;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type Kernel = (args: KernelArgs) => tf.TensorInfo;

let original: Kernel | undefined;
/** The addon while the provider is on (blas.ts's activeBlasAddon), else undefined. */
let activeAddon: () => GatherAddon | undefined = () => undefined;
/** The addon's fused parameter block (./fused-params.ts; one kernel runs at a time). */
let params: Float64Array | undefined;
/** Row copies made natively since start (tests check the native path really ran). */
let calls = 0;

export function nativeGatherCount(): number {
  return calls;
}

/** Runtime switch (benchmarks compare both kernels in one process); returns the previous setting. */
let gatherOn = true;
export function setNativeGather(on: boolean): boolean {
  const was = gatherOn;
  gatherOn = on;
  return was;
}

const offsetOf = (backend: BackendWasm, t: tf.TensorInfo) =>
  (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;

/** Whether GatherV2 with these inputs/attrs is a plain row copy we run natively. */
function rowCopyCase(x: tf.TensorInfo, indices: tf.TensorInfo, attrs: { axis: number; batchDims: number }): boolean {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return false;
  if (indices.dtype !== 'int32' || x.shape.length < 1) return false;
  const axis = attrs.axis < 0 ? attrs.axis + x.shape.length : attrs.axis;
  return axis === 0 && (attrs.batchDims ?? 0) === 0;
}

function gatherV2(args: KernelArgs): tf.TensorInfo {
  const addon = gatherOn ? activeAddon() : undefined;
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  if (!addon || !params || !rowCopyCase(x, indices, args.attrs as unknown as { axis: number; batchDims: number }))
    return original!(args);
  const be = args.backend as BackendWasm;
  const rows = x.shape[0];
  const rowFloats = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const n = indices.shape.reduce((a, b) => a * b, 1);
  const out = be.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  if (n * rowFloats === 0) {
    if (n > 0 && rows === 0) return original!(args); // every index is out of range: tfjs's message
    return out;
  }
  // Offsets only after makeOutput: it may grow the wasm memory (the heap buffer changes, offsets not).
  params[R_X] = offsetOf(be, x);
  params[R_ROWS] = rows;
  params[R_ROW_FLOATS] = rowFloats;
  params[R_IDX] = offsetOf(be, indices);
  params[R_N] = n;
  params[R_OUT] = offsetOf(be, out);
  const bad = addon.gatherRows((be.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer);
  if (bad >= 0) {
    be.disposeData(out.dataId);
    const index = (be.typedArrayFromHeap(indices) as Int32Array)[bad];
    throw new Error(`GatherV2: the index value ${index} is not in [0, ${rows - 1}]`); // tfjs's wording
  }
  calls++;
  return out;
}

/** Largest |x − y| between two arrays (a row copy must be exact). */
function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

/**
 * Replace the wasm GatherV2 by the native row copy when `addon` has it, after a self-check against the
 * original kernel (float32 and int32 params). `active` says at each call whether the provider is on.
 * Returns a few words for the provider's status line: what runs and, if not native, why.
 */
export function installNativeGather(addon: Partial<GatherAddon>, active: () => GatherAddon | undefined): string {
  if (typeof addon.gatherRows !== 'function' || typeof addon.setFusedParams !== 'function')
    return 'GatherV2 on wasm (addon predates gatherRows)';
  if (!original) {
    const cfg = tf.getKernel(tf.GatherV2, 'wasm');
    if (!cfg) return 'GatherV2 on wasm (no wasm kernel to replace)';
    tf.unregisterKernel(tf.GatherV2, 'wasm');
    tf.registerKernel({
      kernelName: tf.GatherV2,
      backendName: 'wasm',
      setupFunc: cfg.setupFunc,
      disposeFunc: cfg.disposeFunc,
      kernelFunc: gatherV2 as tf.KernelFunc,
    });
    original = cfg.kernelFunc as unknown as Kernel;
  }
  params = fusedParams(addon as GatherAddon);
  activeAddon = active;
  const diff = tf.tidy(() => {
    const idx = tf.tensor1d([3, 0, 6, 6, 1, 5], 'int32');
    const xs = [tf.randomUniform([7, 3, 5], -1, 1, 'float32', 4), tf.randomUniform([7, 2], -1000, 1000, 'int32', 5)];
    const f = () => xs.map((x) => tf.gather(x, idx).dataSync());
    const ours = f();
    const was = activeAddon;
    activeAddon = () => undefined;
    try {
      return Math.max(...f().map((ref, i) => maxAbsDiff(ours[i], ref)));
    } finally {
      activeAddon = was;
    }
  });
  if (diff !== 0) {
    activeAddon = () => undefined;
    return `GatherV2 on wasm (native row copy failed its self-check: max diff ${diff})`;
  }
  return 'GatherV2 rows copied natively';
}
