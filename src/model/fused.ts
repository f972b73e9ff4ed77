/**
 * The small ops of a LLaMA layer, each either one native kernel (src/kernels/fused.ts) or the composite
 * tfjs ops it replaces: RMSNorm (alone or after the residual add), SiLU(gate)·up, and attention of
 * a decode step or a prefill (against an in-place KV cache, or none); and, natively only, a whole decoder
 * layer in one kernel. `native` is src/model/paths.ts's choice: true only for inference (no gradient tape,
 * not training) on wasm with the native addon active; everywhere else the composite ops run, exactly as
 * before the native kernels existed. This module holds no weights and no state.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  addRmsNormNative,
  decodeAttentionNative,
  decoderLayerNative,
  rmsNormNative,
  swigluNative,
  type DecoderLayerWeights,
} from '../kernels/fused.js';
import { decodeModelNative, type ModelWeights } from '../kernels/decode-step.js';
import type { AttentionCache } from './kvcache.js';
import { lastRowsOnly } from './paths.js';

/** RMSNorm's epsilon as a number (native) and as the scalar tensor the composite ops use. */
export interface Eps {
  value: number;
  scalar: tf.Scalar;
}

/** RMSNorm: x / √(mean(x²) + eps) · w over the last axis; x (N, d). */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor, eps: Eps, native: boolean): tf.Tensor2D {
  if (native) return rmsNormNative(x, w, eps.value);
  const ms = tf.mean(tf.square(x), -1, true); // (N, 1)
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps.scalar))), w);
}

/** The residual add and the next norm: [x + delta, RMSNorm(x + delta)·w]; x, delta (N, d). */
export function addRmsNorm(
  x: tf.Tensor2D,
  delta: tf.Tensor2D,
  w: tf.Tensor,
  eps: Eps,
  native: boolean,
): [tf.Tensor2D, tf.Tensor2D] {
  if (native) {
    const [h, sum] = addRmsNormNative(x, delta, w, eps.value);
    return [sum, h];
  }
  const sum = tf.add(x, delta) as tf.Tensor2D;
  return [sum, rmsNorm(sum, w, eps, false)];
}

/** SwiGLU's gating: SiLU(gate)·up, (N, I) each. */
export function swiGLU(gate: tf.Tensor2D, up: tf.Tensor2D, native: boolean): tf.Tensor2D {
  if (native) return swigluNative(gate, up);
  return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor2D;
}

export interface DecodeStep {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** rotary tables (P, hd) and this step's position ids ((B or 1)·T entries, int32) */
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  pos: tf.Tensor;
  /** (B, past + T), 1 = real, 0 = padding; none = all real */
  mask?: tf.Tensor2D;
}

/**
 * What both native attention kernels read of a step and of the layer's cache slot: the rotary tables, positions,
 * padding mask and the cache buffers (tensors), and the head layout, cached length and 1/√hd scale (dims).
 */
function attentionArgs(s: DecodeStep, slot: ReturnType<AttentionCache['slot']> | undefined, T: number) {
  return {
    tensors: {
      cos: s.cos,
      sin: s.sin,
      pos: s.pos,
      kCache: slot?.k,
      vCache: slot?.v,
      mask: s.mask,
      rowSlot: slot?.rowSlot,
      rowPast: slot?.rowPast,
    },
    dims: {
      T,
      numHeads: s.numHeads,
      numKvHeads: s.numKvHeads,
      headDim: s.headDim,
      past: slot?.past ?? 0,
      scale: 1 / Math.sqrt(s.headDim),
    },
  };
}

/**
 * Layer `layer`'s attention for T new positions per row (T = 1: a decode step; T > 1: a prefill,
 * causal within them) in one native kernel: rotary on q/k, the new k/v written into the in-place
 * cache (or, without a cache, into scratch buffers), softmax(q·Kᵀ/√hd + padding bias)·V over each
 * query's prefix, grouped-query aware. q (B·T, nH·hd), k/v (B·T, nKv·hd) → (B·T, nH·hd).
 * Native only: the caller takes this path when src/model/paths.ts chose native attention.
 */
export function decodeAttention(
  cache: AttentionCache | undefined,
  layer: number,
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  s: DecodeStep,
  T = 1,
): tf.Tensor2D {
  const B = q.shape[0] / T;
  const slot = cache?.slot(layer, B, s.numKvHeads, s.headDim, T);
  const { tensors, dims } = attentionArgs(s, slot, T);
  const out = decodeAttentionNative({ q, k, v, ...tensors }, { ...dims, qCol: 0, kCol: 0, vCol: 0 });
  cache?.commit(layer, T);
  return out;
}

/**
 * Layer `layer` as one native kernel for T new positions per row: x (B·T, d) → x + attention + MLP (B·T, d),
 * with the attention of decodeAttention() (cache written in place, or scratch without a cache). Bit-identical
 * to the per-op path of src/model/llama.ts's decoderLayer; ~11 fewer tfjs dispatches per layer. lastOnly (with a
 * cache): every position's keys/values are cached, the output is each row's last position only, (B, d).
 */
export function decoderLayer(
  cache: AttentionCache | undefined,
  layer: number,
  x: tf.Tensor2D,
  w: DecoderLayerWeights,
  s: DecodeStep,
  eps: number,
  T = 1,
  lastOnly = false,
): tf.Tensor2D {
  const B = x.shape[0] / T;
  const slot = cache?.slot(layer, B, s.numKvHeads, s.headDim, T);
  // rows at their own cache rows (the serving engine's slot cache) take the full path: lastOnly's cache write
  // assumes cache row = batch row
  const rowsOwn = !!slot?.rowSlot || !!slot?.rowPast;
  const { tensors, dims } = attentionArgs(s, slot, T);
  const out = decoderLayerNative(x, w, tensors, {
    ...dims,
    eps,
    lastOnly: lastOnly && lastRowsOnly() && !!cache && !rowsOwn,
  });
  cache?.commit(layer, T);
  return out;
}

/**
 * One decode step of the whole model as one native kernel: ids (B) → logits (B, V), every layer's keys and values
 * written into its slot of `cache`. Bit-identical to the embedding gather, decoderLayer() per layer, the final
 * rmsNorm and the head's matMul; one tfjs dispatch instead of ~16 (4 layers).
 */
export function decodeModel(
  cache: AttentionCache,
  ids: tf.Tensor1D,
  w: ModelWeights,
  s: DecodeStep,
  eps: number,
): tf.Tensor2D {
  const B = ids.shape[0];
  const slots = w.layers.map((_, l) => cache.slot(l, B, s.numKvHeads, s.headDim, 1));
  const { tensors, dims } = attentionArgs(s, slots[0], 1);
  const { cos, sin, pos, mask, rowSlot, rowPast } = tensors;
  const logits = decodeModelNative(ids, w, slots, { cos, sin, pos, mask, rowSlot, rowPast }, { ...dims, eps });
  w.layers.forEach((_, l) => cache.commit(l, 1));
  return logits;
}
