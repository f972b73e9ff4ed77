/**
 * Which execution path a forward takes: tfjs's composite ops, the native kernels op by op, or each decoder layer
 * as one native kernel — and whether a LoRA adapter runs folded into its weights. Chosen once per forward, so
 * src/model/llama.ts reads the same on every path; the ops of each path are in src/model/fused.ts. Runtime
 * switches let a measurement compare paths in one process. This module holds no tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { decodeModelActive } from '../kernels/decode-step.js';
import { fusedKernelsActive } from '../kernels/fused.js';
import type { AttentionCache } from './kvcache.js';
import type { LoraAdapter } from './lora.js';

export interface ExecutionPath {
  /** norms and SwiGLU as native kernels */
  native: boolean;
  /** attention (rotary, cache write, softmax) as one native kernel; else composite ops */
  nativeAttention: boolean;
  /** each decoder layer as one native kernel, bit-identical to the per-op native path */
  wholeLayer: boolean;
  /** a decode step (T = 1) of the whole model as one native kernel: embedding, layers, final norm, head */
  wholeStep: boolean;
  /** each adapted projection as one matmul with a cached W + ΔW; else PEFT's x·W + s·(x·Aᵀ)·Bᵀ */
  mergedLora: boolean;
}

/**
 * The path of one forward of T new positions per row, against `cache` if any, with `lora` the enabled adapter
 * or null. The order of the tests matters: reading `cache.inPlace` fixes a fresh cache's storage mode.
 */
export function executionPath(
  training: boolean,
  T: number,
  cache: AttentionCache | undefined,
  lora: LoraAdapter | null,
): ExecutionPath {
  const noTape = tf.engine().state.gradientDepth === 0;
  // native kernels have no gradients: inference only, on wasm with the native addon active
  const native = !training && noTape && fusedKernelsActive();
  // native attention writes the keys/values into an in-place cache itself: a decode step (T = 1) needs one,
  // a prefill may also run without a cache
  const nativeAttention = native && !!(T === 1 ? cache?.inPlace : prefillSwitch.get() && (!cache || cache.inPlace));
  // a cached W + ΔW saves two matmuls, a scale and an add per projection; under a gradient tape it would cut
  // the path from the loss to A and B
  const mergedLora = lora !== null && !training && lora.mergeForInference && noTape;
  // the layer kernel takes plain weights: no unmerged adapter
  const wholeLayer = nativeAttention && layerSwitch.get() && (lora === null || mergedLora);
  const wholeStep = wholeLayer && T === 1 && stepSwitch.get() && decodeModelActive();
  return { native, nativeAttention, wholeLayer, wholeStep, mergedLora };
}

/**
 * A runtime switch, so measurements compare both settings in one process: get() the setting, set(on) it and get
 * the previous one back.
 */
function runtimeSwitch(initial: boolean): { get: () => boolean; set: (on: boolean) => boolean } {
  let value = initial;
  return {
    get: () => value,
    set: (on) => {
      const was = value;
      value = on;
      return was;
    },
  };
}

const prefillSwitch = runtimeSwitch(true),
  layerSwitch = runtimeSwitch(true),
  stepSwitch = runtimeSwitch(true),
  lastRowsSwitch = runtimeSwitch(true);

/** Switch native attention for prefills (T > 1) off (composite ops) or on; returns the previous setting. */
export const setPrefillFused = prefillSwitch.set;

/** Switch the one-kernel decoder layer off (per-op native kernels) or on; returns the previous setting. */
export const setLayerFused = layerSwitch.set;

/** Switch the one-kernel decode step off (one kernel per layer, then the head) or on; returns the previous setting. */
export const setStepFused = stepSwitch.set;

/**
 * Switch the last-rows-only last layer of a lastOnly prefill off (every row computed, then the last ones taken) or
 * on (default); returns the previous setting.
 */
export const setLastRowsOnly = lastRowsSwitch.set;
/** Whether the one-kernel last layer of a lastOnly prefill may compute each row's last position only. */
export const lastRowsOnly = lastRowsSwitch.get;
