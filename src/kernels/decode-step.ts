/**
 * A whole decode step of the model in one native kernel (native/fused.cc DecodeModel): token ids (B) → logits (B, V)
 * through the embedding row, every decoder layer (each as the one-layer kernel of src/kernels/fused.ts, its keys and
 * values written into its in-place cache), the final RMSNorm and the head's product. Bit-identical to running those
 * ops one by one; what it saves at batch 1 is every tfjs dispatch of the step but one (docs/cpu-engine.md, "Batch 1").
 *
 * A custom tfjs kernel (`SeqschDecodeModel`, registered for 'wasm' on first use) like the others, so tidy and memory
 * accounting see it. Inference only; src/model/paths.ts decides when a forward takes it. No model semantics here.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { blasStatus } from './blas.js';
import { threadsFor } from './blas-threads.js';
import {
  L_D,
  L_EPS,
  L_I,
  LAYER_WEIGHTS,
  attentionSlots,
  checkLayerWeights,
  fusedAddon,
  fusedKernelsActive,
  heapOf,
  is1,
  is2,
  layerThreads,
  layerWeightsOk,
  offsetOf,
  requireFloat,
  run,
  sameShape,
  type AttentionAttrs,
  type AttentionInfos,
  type DecodeAttentionInputs,
  type DecoderLayerWeights,
} from './fused.js';

export const DECODE_MODEL = 'SeqschDecodeModel';

// Slots after the layer kernel's, as native/fused.cc's ModelParam.
// prettier-ignore
const M_IDS = 54, M_EMBED = 55, M_VOCAB = 56, M_NORM = 57, M_HEAD = 58, M_HEAD_THR = 59, M_LOGITS = 60, M_LAYERS = 61;
/** Offsets per layer in the second argument: K cache, V cache, then the nine weights in LAYER_WEIGHTS' order. */
const PER_LAYER = 11;

/** The model's weights as src/model/llama.ts holds them: embedding (V, d), final norm (d), head (d, V), the layers. */
export interface ModelWeights {
  embed: tf.Tensor;
  norm: tf.Tensor;
  head: tf.Tensor;
  layers: DecoderLayerWeights[];
}

/** Whether the whole-step kernel can run: the fused kernels active and an addon that has it. */
export function decodeModelActive(): boolean {
  return fusedKernelsActive() && typeof fusedAddon().addon.decodeModel === 'function';
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Input names of layer l: its caches, then its weights (built once per layer count). */
const layerNames: string[][] = [];
function namesOf(l: number): string[] {
  return (layerNames[l] ??= [`k${l}`, `v${l}`, ...LAYER_WEIGHTS.map((n) => `${n}${l}`)]);
}

let layerOffsets = new Float64Array(0);

/**
 * ids int32 (B); embed (V, d), norm (d), head (d, V); per layer l the caches k{l}/v{l} (B or slot rows, nKv, cap, hd)
 * and the weights {name}{l}; cos/sin/pos/mask/rowSlot/rowPast as the attention kernel takes them, shared by every
 * layer → logits (B, V). attrs: the attention's (T = 1), eps, numLayers.
 */
function decodeModelKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const be = backend as BackendWasm;
  const a = attrs as unknown as AttentionAttrs & { eps: number; numLayers: number };
  const L = a.numLayers;
  const { ids, embed, norm, head } = inputs as Record<string, tf.TensorInfo>;
  const bad = (what: string) => new Error(`${DECODE_MODEL}: ${what}`);
  if (ids.dtype !== 'int32' || ids.shape.length !== 1)
    throw bad(`ids must be int32 (B), got ${ids.dtype} [${ids.shape}]`);
  const B = ids.shape[0];
  const [V, d] = embed.shape;
  requireFloat(DECODE_MODEL, ['embed', embed], ['norm', norm], ['head', head]);
  if (embed.shape.length !== 2 || !is1(norm.shape, d) || !is2(head.shape, d, V))
    throw bad(`embed [${embed.shape}] / norm [${norm.shape}] / head [${head.shape}], expected [V, d] / [d] / [d, V]`);
  const qW = a.numHeads * a.headDim,
    kvW = a.numKvHeads * a.headDim;
  const k0 = inputs.k0 as tf.TensorInfo | undefined;
  const gate0 = inputs.gate_proj0 as tf.TensorInfo | undefined;
  if (!Number.isInteger(L) || L < 1 || !k0 || !gate0) throw bad(`no layers, or layer 0 without caches or weights`);
  const I = gate0.shape[1];
  if (layerOffsets.length < L * PER_LAYER) layerOffsets = new Float64Array(L * PER_LAYER);
  for (let l = 0; l < L; l++) {
    const names = namesOf(l);
    const w = {} as Record<keyof DecoderLayerWeights, tf.TensorInfo>;
    LAYER_WEIGHTS.forEach((n, i) => {
      const t = inputs[names[i + 2]] as tf.TensorInfo | undefined;
      if (!t) throw bad(`layer ${l} has no ${n}`);
      w[n] = t;
    });
    const kc = inputs[names[0]] as tf.TensorInfo | undefined,
      vc = inputs[names[1]] as tf.TensorInfo | undefined;
    if (!layerWeightsOk(w, embed, d, I, qW, kvW))
      checkLayerWeights(w, embed, d, I, qW, kvW, `${DECODE_MODEL} layer ${l}`);
    if (
      !kc ||
      !vc ||
      kc.dtype !== 'float32' ||
      vc.dtype !== 'float32' ||
      !sameShape(kc.shape, k0.shape) ||
      !sameShape(vc.shape, k0.shape)
    )
      throw bad(`layer ${l}: caches [${kc?.shape}] / [${vc?.shape}] unlike layer 0's [${k0.shape}] (float32)`);
    const o = l * PER_LAYER;
    layerOffsets[o] = offsetOf(be, kc);
    layerOffsets[o + 1] = offsetOf(be, vc);
    for (let i = 0; i < LAYER_WEIGHTS.length; i++) layerOffsets[o + 2 + i] = offsetOf(be, w[LAYER_WEIGHTS[i]]);
  }
  const att = { ...(inputs as unknown as AttentionInfos), kCache: k0, vCache: inputs.v0 };
  attentionSlots(DECODE_MODEL, be, att, { ...a, T: 1 }, B, 1); // checks the caches of layer 0 (the others match them)
  const out = be.makeOutput([B, V], 'float32');
  const { addon, params: p } = fusedAddon();
  p[L_D] = d;
  p[L_I] = I;
  p[L_EPS] = a.eps;
  layerThreads(p, B, B, a, d, I);
  p[M_IDS] = offsetOf(be, ids);
  p[M_EMBED] = offsetOf(be, embed);
  p[M_VOCAB] = V;
  p[M_NORM] = offsetOf(be, norm);
  p[M_HEAD] = offsetOf(be, head);
  p[M_HEAD_THR] = threadsFor(B, V, d, blasStatus().maxThreads ?? 1); // as tf.matMul gives the head's product
  p[M_LOGITS] = offsetOf(be, out);
  p[M_LAYERS] = L;
  const row = addon.decodeModel!(heapOf(be), layerOffsets);
  if (row >= 0) {
    be.disposeData(out.dataId);
    const id = (be.readSync(ids.dataId) as Int32Array)[row];
    throw bad(`token id ${id} of batch row ${row} is outside the vocabulary [0, ${V})`);
  }
  return out;
}

/**
 * One decode step of the whole model: ids (B) int32 → logits (B, V). caches: each layer's in-place key and value
 * buffers; att: the step's rotary tables, positions, mask and row slots (src/model/fused.ts's DecodeStep).
 */
export function decodeModelNative(
  ids: tf.Tensor1D,
  w: ModelWeights,
  caches: { k: tf.Tensor; v: tf.Tensor }[],
  att: Omit<DecodeAttentionInputs, 'q' | 'k' | 'v' | 'kCache' | 'vCache'>,
  attrs: AttentionAttrs & { eps: number },
): tf.Tensor2D {
  if (!tf.getKernel(DECODE_MODEL, 'wasm'))
    tf.registerKernel({
      kernelName: DECODE_MODEL,
      backendName: 'wasm',
      kernelFunc: decodeModelKernel as unknown as tf.KernelFunc,
    });
  const inputs: Record<string, tf.Tensor | undefined> = { ids, embed: w.embed, norm: w.norm, head: w.head, ...att };
  w.layers.forEach((lw, l) => {
    const names = namesOf(l);
    inputs[names[0]] = caches[l].k;
    inputs[names[1]] = caches[l].v;
    LAYER_WEIGHTS.forEach((n, i) => (inputs[names[i + 2]] = lw[n]));
  });
  return run(DECODE_MODEL, inputs, { ...attrs, T: 1, numLayers: w.layers.length }) as tf.Tensor2D;
}
