/**
 * The LLaMA weights under Hugging Face's names and in this model's layout: which tensors a LlamaForCausalLM
 * checkpoint holds and in which order, their shapes, how they become the model's variables (each projection
 * transposed from HF's (out, in) to (in, out), so the forward computes x·W with no per-step transpose) and back,
 * and HF's random init. Reading and writing files is src/model/checkpoint.ts's job; the forward is llama.ts's.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import type { LlamaConfig } from './config.js';
import { LORA_TARGETS, type LoraTarget } from './lora-config.js';
import type { TensorSource } from './safetensors.js';
import type { DecoderLayerWeights } from '../kernels/fused.js';

/** Reads one HF-layout weight by name; must throw (naming tensor and file) if absent or of another shape. */
export type WeightReader = (name: string, shape: number[]) => Float32Array;

/** One decoder layer's weights as trainable variables: the layer kernel's fields, (d) norms, projections (in, out). */
export type LayerVariables = { [K in keyof DecoderLayerWeights]: tf.Variable };

/** The model's weights as variables. */
export interface LlamaWeights {
  readonly embed: tf.Variable; // (V, d) model.embed_tokens.weight
  readonly layers: LayerVariables[];
  readonly norm: tf.Variable; // (d) model.norm.weight
  readonly lmHeadT: tf.Variable | null; // (d, V) = lm_head.weightᵀ; null when tied to the embedding
}

/** HF module path of each projection inside a decoder layer. */
export const MODULE_PATH: Record<LoraTarget, string> = {
  q_proj: 'self_attn.q_proj',
  k_proj: 'self_attn.k_proj',
  v_proj: 'self_attn.v_proj',
  o_proj: 'self_attn.o_proj',
  gate_proj: 'mlp.gate_proj',
  up_proj: 'mlp.up_proj',
  down_proj: 'mlp.down_proj',
};

/** A layer's weights in HF's order (checkpoint files, and the order the variables are made in). */
const HF_ORDER = [
  'inputNorm',
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'postNorm',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;
/** A layer's weights in the order of the model's variable list (what a trainer updates, in this order). */
const VARIABLE_ORDER = ['inputNorm', ...LORA_TARGETS, 'postNorm'] as const;

/** (in, out) features of a projection. */
export function projDims(cfg: LlamaConfig, target: LoraTarget): [number, number] {
  const d = cfg.hiddenSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  switch (target) {
    case 'q_proj':
      return [d, q];
    case 'k_proj':
    case 'v_proj':
      return [d, kv];
    case 'o_proj':
      return [q, d];
    case 'gate_proj':
    case 'up_proj':
      return [d, cfg.intermediateSize];
    case 'down_proj':
      return [cfg.intermediateSize, d];
  }
}

/** HF name of weight `w` of decoder layer `l`. */
function layerName(l: number, w: keyof DecoderLayerWeights): string {
  const module = w === 'inputNorm' ? 'input_layernorm' : w === 'postNorm' ? 'post_attention_layernorm' : MODULE_PATH[w];
  return `model.layers.${l}.${module}.weight`;
}

/** HF names of every weight this config expects in a checkpoint, in HF's order. */
export function hfWeightNames(config: LlamaConfig): string[] {
  const names = ['model.embed_tokens.weight'];
  for (let l = 0; l < config.numLayers; l++) names.push(...HF_ORDER.map((w) => layerName(l, w)));
  names.push('model.norm.weight');
  if (!config.tieWordEmbeddings) names.push('lm_head.weight');
  return names;
}

/** The weights of `config` as trainable variables, each read once by HF name (projections transposed to (in, out)). */
export function loadWeights(config: LlamaConfig, read: WeightReader): LlamaWeights {
  const { hiddenSize: d, vocabSize: V } = config;
  const variable = (t: tf.Tensor) => {
    const v = tf.variable(t, true);
    t.dispose();
    return v;
  };
  const vec = (name: string) => variable(tf.tensor1d(read(name, [d])));
  // HF (out, in) → ours (in, out)
  const linT = (name: string, out: number, inF: number) =>
    variable(tf.tidy(() => tf.transpose(tf.tensor2d(read(name, [out, inF]), [out, inF]))));
  const embed = variable(tf.tensor2d(read('model.embed_tokens.weight', [V, d]), [V, d]));
  const layers: LayerVariables[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const layer: Partial<LayerVariables> = {};
    for (const w of HF_ORDER) {
      if (w === 'inputNorm' || w === 'postNorm') layer[w] = vec(layerName(l, w));
      else layer[w] = linT(layerName(l, w), projDims(config, w)[1], projDims(config, w)[0]);
    }
    layers.push(layer as LayerVariables);
  }
  const norm = vec('model.norm.weight');
  return { embed, layers, norm, lmHeadT: config.tieWordEmbeddings ? null : linT('lm_head.weight', V, d) };
}

/** Every weight variable under its HF name, in the model's variable order (projections held (in, out)). */
export function namedWeights(w: LlamaWeights): Map<string, tf.Variable> {
  const m = new Map<string, tf.Variable>([['model.embed_tokens.weight', w.embed]]);
  w.layers.forEach((L, l) => {
    for (const k of VARIABLE_ORDER) m.set(layerName(l, k), L[k]);
  });
  m.set('model.norm.weight', w.norm);
  if (w.lmHeadT) m.set('lm_head.weight', w.lmHeadT);
  return m;
}

/**
 * The weights under their HF names, in HF's order and layout ((out, in) projections), each read back only when
 * the writer asks for it (one tensor in host memory at a time).
 */
export function hfTensors(w: LlamaWeights): [string, TensorSource][] {
  const out: [string, TensorSource][] = [];
  const whole = (name: string, v: tf.Variable) =>
    out.push([name, { dtype: 'float32', shape: v.shape.slice(), read: () => v.dataSync() as Float32Array }]);
  // (in, out) back to HF's (out, in)
  const transposed = (name: string, v: tf.Variable) =>
    out.push([
      name,
      {
        dtype: 'float32',
        shape: [v.shape[1]!, v.shape[0]],
        read: () => tf.tidy(() => tf.transpose(v)).dataSync() as Float32Array,
      },
    ]);
  whole('model.embed_tokens.weight', w.embed);
  w.layers.forEach((L, l) => {
    for (const k of HF_ORDER) (k === 'inputNorm' || k === 'postNorm' ? whole : transposed)(layerName(l, k), L[k]);
  });
  whole('model.norm.weight', w.norm);
  if (w.lmHeadT) transposed('lm_head.weight', w.lmHeadT);
  return out;
}

/** HF's init as a WeightReader: N(0, std) matrices, unit norms; each tensor reproducible from (seed, its name). */
export function hfInit(seed: string | number = 0, std = 0.02): WeightReader {
  return (name, shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    if (name.endsWith('norm.weight')) return out.fill(1);
    const rng = seedrandom(`${seed}:${name}`);
    for (let i = 0; i < n; i += 2) {
      // Box–Muller: two normals per two uniforms
      const u = 1 - rng();
      const rad = std * Math.sqrt(-2 * Math.log(u));
      const th = 2 * Math.PI * rng();
      out[i] = rad * Math.cos(th);
      if (i + 1 < n) out[i + 1] = rad * Math.sin(th);
    }
    return out;
  };
}
