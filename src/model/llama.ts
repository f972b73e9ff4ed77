/**
 * LLaMA (Touvron et al. 2023) in TensorFlow.js, written top-down: forward → decoder layer →
 * attention / MLP, numerically matching Hugging Face's LlamaForCausalLM (RMSNorm, rotary embeddings
 * in HF's rotate_half convention, SwiGLU, grouped-query attention, left-padded batches with
 * position ids = cumsum(attention_mask) − 1, a KV cache for incremental decoding).
 *
 * Weights are tf.Variables under their HF names, each projection stored transposed (in, out) so the
 * forward computes x·W with no per-step transpose (load/save convert, src/model/checkpoint.ts).
 * q/k/v and gate/up are deliberately not fused into one matmul: splitting the fused output costs more
 * than it saves on wasm, whose Slice kernel copies its whole input. LoRA adapters (src/model/lora.ts)
 * add to each projection's output exactly as PEFT does. This file does not read files or sample tokens.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import type { LlamaConfig } from './config.js';
import { countParameters } from './config.js';
import type { AttentionCache } from './kvcache.js';
import { addRmsNorm, decodeAttention, decoderLayer as decoderLayerFused, layerFused, nativeInference, prefillFused, rmsNorm, swiGLU, type DecodeStep, type Eps } from './fused.js';
import { DEFAULT_LORA, LORA_TARGETS, LoraAdapter, MODULE_PATH, loraDims as projDims, type LoraConfig, type LoraTarget } from './lora.js';
import type { TensorSource } from './safetensors.js';
import type { DecoderLayerWeights } from '../kernels/fused.js';

export interface ForwardOptions {
  /** (B, past + T), 1 = real token, 0 = padding (left padding); int32 or float32. Default: all real. */
  attentionMask?: tf.Tensor2D;
  /** (B, T) int32; default cumsum(attentionMask) − 1 over past + T (padding → 1, as HF), else past + arange(T) */
  positionIds?: tf.Tensor2D;
  /** incremental decoding: keys/values of the past are read from and this step's appended to it */
  cache?: AttentionCache;
  /** applies LoRA dropout and keeps every op on the gradient tape's variables */
  training?: boolean;
  /** return logits of the last position only, (B, 1, V): what generation needs after prefill */
  lastOnly?: boolean;
  /**
   * return logits of one position per row only, (B, 1, V): int32 (B), row b's position in [0, T) — the last real
   * token of right-padded prompts (continuous batching's prefill, src/engines/step-tfjs.ts)
   */
  logitsAt?: tf.Tensor1D;
  /**
   * forwardWithHidden: which hidden state to return beside the logits, numbered as HF's output_hidden_states:
   * 0 = the token embeddings, l = the residual stream after decoder layer l, numLayers = after the final norm
   */
  hiddenLayer?: number;
  /** forwardWithHidden with lastOnly: still return every position's hidden state (B, T, d) (for pooling over a prompt) */
  hiddenAll?: boolean;
}

/** Reads one HF-layout weight by name; must throw (naming tensor and file) if absent or of another shape. */
export type WeightReader = (name: string, shape: number[]) => Float32Array;

/** One decoder layer's weights, the fields of the layer kernel's DecoderLayerWeights ((d) norms, projections
 * transposed to (in, out)), held as trainable variables. */
type DecoderLayer = { [K in keyof DecoderLayerWeights]: tf.Variable } & Record<LoraTarget, tf.Variable>;

/** What every layer of one forward shares. */
interface ForwardContext {
  B: number;
  T: number;
  cache?: AttentionCache;
  training: boolean;
  /** small ops as native kernels (src/model/fused.ts: inference on wasm with the addon active) */
  native: boolean;
  /** composite attention: rotary angles (B|1, T, 1, hd) and the causal + padding bias (B|1, 1, T, past + T) or null */
  cos?: tf.Tensor;
  sin?: tf.Tensor;
  bias: tf.Tensor | null;
  /** set instead for native attention: a decode step (T = 1) against an in-place cache, or a prefill (T > 1) */
  decode?: DecodeStep;
  /** only the last position's logits are wanted (T > 1): the native last layer may compute only those rows */
  lastOnly: boolean;
}

/** Additive mask value: large enough to zero a softmax weight, finite so a fully padded row gives no NaN. */
const MASKED = -1e9;

export class Llama {
  readonly embed: tf.Variable; // (V, d) model.embed_tokens.weight
  readonly layers: DecoderLayer[] = [];
  readonly norm: tf.Variable; // (d) model.norm.weight
  readonly lmHeadT: tf.Variable | null; // (d, V) = lm_head.weightᵀ; null when tied to the embedding
  /** the attached LoRA adapter, if any; `lora.enabled = false` runs the plain base model */
  lora: LoraAdapter | null = null;

  private rope!: { length: number; cos: tf.Tensor2D; sin: tf.Tensor2D }; // (P, hd) each
  private readonly rotateHalf: tf.Tensor2D; // (hd, hd): x·R = rotate_half(x) = [−x₂, x₁]
  /** inference copies W + ΔW of the adapter's projections (see mergedWeight), with the data they were made from */
  private merged: { adapter: LoraAdapter; w: Map<string, { sources: object[]; t: tf.Tensor2D }> } | null = null;
  private tiedHead: { dataId: object; t: tf.Tensor2D } | null = null; // embedᵀ (d, V) for inference, and the embedding data it was made from
  private readonly c: { eps: tf.Scalar; scale: tf.Scalar; masked: tf.Scalar; one: tf.Scalar; oneI: tf.Scalar };
  private readonly eps: Eps;

  constructor(readonly config: LlamaConfig, read: WeightReader) {
    const { hiddenSize: d, headDim: hd, vocabSize: V } = config;
    if (hd % 2 !== 0) throw new Error(`head_dim must be even for rotary embeddings, got ${hd}`);
    const variable = (t: tf.Tensor) => {
      const v = tf.variable(t, true);
      t.dispose();
      return v;
    };
    const vec = (name: string) => variable(tf.tensor1d(read(name, [d])));
    // HF (out, in) → ours (in, out)
    const linT = (name: string, out: number, inF: number) => tf.tidy(() => tf.transpose(tf.tensor2d(read(name, [out, inF]), [out, inF])));
    this.embed = variable(tf.tensor2d(read('model.embed_tokens.weight', [V, d]), [V, d]));
    for (let l = 0; l < config.numLayers; l++) {
      const p = `model.layers.${l}`;
      const inputNorm = vec(`${p}.input_layernorm.weight`);
      const proj = (t: LoraTarget) => {
        const [inF, out] = projDims(config, t);
        return variable(linT(`${p}.${MODULE_PATH[t]}.weight`, out, inF));
      };
      this.layers.push({
        inputNorm, q_proj: proj('q_proj'), k_proj: proj('k_proj'), v_proj: proj('v_proj'), o_proj: proj('o_proj'),
        postNorm: vec(`${p}.post_attention_layernorm.weight`), gate_proj: proj('gate_proj'), up_proj: proj('up_proj'), down_proj: proj('down_proj'),
      });
    }
    this.norm = vec('model.norm.weight');
    this.lmHeadT = config.tieWordEmbeddings ? null : variable(linT('lm_head.weight', V, d));

    const r = new Float32Array(hd * hd);
    const h2 = hd / 2;
    for (let i = 0; i < h2; i++) {
      r[(i + h2) * hd + i] = -1; // out[i] = −x[i + hd/2]
      r[i * hd + i + h2] = 1; // out[i + hd/2] = x[i]
    }
    this.rotateHalf = tf.keep(tf.tensor2d(r, [hd, hd]));
    this.c = tf.tidy(() => ({
      eps: tf.keep(tf.scalar(config.rmsNormEps)),
      scale: tf.keep(tf.scalar(1 / Math.sqrt(hd))),
      masked: tf.keep(tf.scalar(-MASKED)),
      one: tf.keep(tf.scalar(1)),
      oneI: tf.keep(tf.scalar(1, 'int32')),
    }));
    this.eps = { value: config.rmsNormEps, scalar: this.c.eps };
    this.buildRope(Math.max(config.maxPositionEmbeddings, 1));
    if (config.tieWordEmbeddings) this.tiedHeadT(); // made now so a forward never changes the tensor count
  }

  /** A randomly initialised model (HF's init: N(0, 0.02) matrices, unit norms), reproducible from `seed`. */
  static random(config: LlamaConfig, seed: string | number = 0, std = 0.02): Llama {
    return new Llama(config, (name, shape) => {
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
    });
  }

  // ==================================================================================== forward

  /** input ids (B, T) int32 → logits (B, T, V) (or (B, 1, V) with lastOnly). */
  forward(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return this.run(inputIds, { ...opts, hiddenLayer: undefined }).logits;
  }

  /**
   * The same forward, also returning the hidden state of layer `opts.hiddenLayer` (B, T, d) (or (B, 1, d) with
   * lastOnly, unless hiddenAll) — what a length probe reads, at no extra cost. Logits, cache writes and every path (native kernels or
   * composite ops) are exactly those of forward().
   */
  forwardWithHidden(inputIds: tf.Tensor2D, opts: ForwardOptions & { hiddenLayer: number }): { logits: tf.Tensor3D; hidden: tf.Tensor3D } {
    const L = this.layers.length;
    if (!Number.isInteger(opts.hiddenLayer) || opts.hiddenLayer < 0 || opts.hiddenLayer > L) {
      throw new Error(`hiddenLayer must be an integer in [0, ${L}] (0 = embeddings, ${L} = after the final norm), got ${opts.hiddenLayer}`);
    }
    const r = this.run(inputIds, opts);
    return { logits: r.logits, hidden: r.hidden! };
  }

  private run(inputIds: tf.Tensor2D, opts: ForwardOptions): { logits: tf.Tensor3D; hidden?: tf.Tensor3D } {
    const { hiddenSize: d, headDim: hd, vocabSize: V } = this.config;
    const [B, T] = inputIds.shape;
    const cache = opts.cache;
    const past = cache ? cache.pastLength() : 0;
    const mask = opts.attentionMask;
    if (mask && (mask.shape[0] !== B || mask.shape[1] !== past + T)) {
      throw new Error(`attentionMask has shape [${mask.shape}], expected [${B}, ${past + T}] (batch, past + new positions)`);
    }
    if (opts.positionIds && (opts.positionIds.shape[0] !== B || opts.positionIds.shape[1] !== T)) {
      throw new Error(`positionIds has shape [${opts.positionIds.shape}], expected [${B}, ${T}]`);
    }
    if (inputIds.dtype !== 'int32') throw new Error(`inputIds must be int32, got ${inputIds.dtype}`);
    const training = opts.training ?? false;
    if (past + T > this.rope.length) this.buildRope(2 * (past + T)); // positions never exceed past + T − 1
    const lastOnly = (opts.lastOnly ?? false) && T > 1 && !opts.logitsAt; // logitsAt names the rows itself
    if (opts.logitsAt && (opts.logitsAt.shape[0] !== B || opts.logitsAt.dtype !== 'int32')) {
      throw new Error(`logitsAt has shape [${opts.logitsAt.shape}] ${opts.logitsAt.dtype}, expected int32 [${B}] (one position per row)`);
    }
    const native = nativeInference(training);
    return tf.tidy(() => {
      const [pos, posB] = this.positions(B, T, past, mask, opts.positionIds); // (posB·T) int32
      // the last layer computes each row's last position only (lastOnly), unless every position's final state is asked for
      const hiddenAllFinal = opts.hiddenLayer === this.layers.length && (opts.hiddenAll ?? false);
      const f: ForwardContext = { B, T, cache, training, native, bias: null, lastOnly: lastOnly && !hiddenAllFinal };
      if (native && (T === 1 ? cache?.inPlace : prefillFused() && (!cache || cache.inPlace))) {
        // ---- decode step or prefill in native kernels: rotary tables + position ids and the raw mask go to the kernel
        const { numHeads, numKvHeads } = this.config;
        const m = mask && mask.dtype !== 'int32' && mask.dtype !== 'float32' ? tf.cast(mask, 'int32') : mask;
        f.decode = { numHeads, numKvHeads, headDim: hd, cos: this.rope.cos, sin: this.rope.sin, pos, mask: m as tf.Tensor2D | undefined };
      } else {
        // ---- rotary angles (shared by all layers): cos/sin (B or 1, T, 1, hd)
        f.cos = tf.reshape(tf.gather(this.rope.cos, pos), [posB, T, 1, hd]);
        f.sin = tf.reshape(tf.gather(this.rope.sin, pos), [posB, T, 1, hd]);
        // ---- causal + padding bias (shared by all layers): (B or 1, 1, T, past + T), or none
        f.bias = this.attentionBias(B, T, past, mask);
      }
      // ---- token embeddings: (B·T, d)
      let x = tf.gather(this.embed, tf.reshape(inputIds, [B * T])) as tf.Tensor2D;
      const L = this.layers.length;
      let hidden = opts.hiddenLayer === 0 ? x : undefined; // (B·T, d) when asked for
      for (let l = 0; l < L; l++) {
        x = this.decoderLayer(l, x, f);
        if (opts.hiddenLayer === l + 1 && l + 1 < L) hidden = x;
      }
      // ---- final norm and LM head. logitsAt: row b·T + at_b of each row (right-padded prefill). lastOnly: the rows
      // b·T + T − 1 (left padding: the last column is real) — already all x holds when the last layer kept only
      // those; else a row copy (slicing (B, T, d) took 20 ms in a 128 × 80 prefill) before the norm of B rows only.
      // The norm is row-wise, so norming before or after taking rows gives the same rows.
      const lastRows = (h: tf.Tensor2D): tf.Tensor2D => (h.shape[0] === B * T ? tf.gather(h, tf.range(T - 1, B * T, T, 'int32')) : h); // (B, d)
      const pick = (h: tf.Tensor2D): tf.Tensor2D =>
        opts.logitsAt ? (tf.gather(h, tf.add(tf.range(0, B * T, T, 'int32'), opts.logitsAt)) as tf.Tensor2D) : lastOnly ? lastRows(h) : h;
      const Tout = lastOnly || opts.logitsAt ? 1 : T;
      if (opts.hiddenLayer === L) {
        hidden = rmsNorm(x, this.norm, this.eps, native); // every row x holds
        x = pick(hidden);
      } else {
        x = rmsNorm(pick(x), this.norm, this.eps, native); // (B·Tout, d)
      }
      const logits = tf.reshape(this.lmHead(x, training), [B, Tout, V]) as tf.Tensor3D; // (B, Tout, V)
      if (!hidden) return { logits };
      const allPositions = !lastOnly || (opts.hiddenAll ?? false);
      return { logits, hidden: tf.reshape(allPositions ? hidden : lastRows(hidden), [B, allPositions ? T : 1, d]) as tf.Tensor3D };
    });
  }

  /** One pre-norm decoder layer on the residual stream x (B·T, d). */
  private decoderLayer(l: number, x: tf.Tensor2D, f: ForwardContext): tf.Tensor2D {
    const L = this.layers[l];
    const lora = this.lora?.enabled ? this.lora : null;
    // input (N, in) → (N, out) through a projection, plus its LoRA update when one is attached
    // In inference an enabled adapter is folded into a cached copy of the weight (one matmul instead of
    // three matmuls, a scale and an add per projection); training, and any forward under a gradient tape (a cached
    // copy would cut the path from the loss to A and B), keep PEFT's separate path.
    const merge = lora !== null && !f.training && lora.mergeForInference && tf.engine().state.gradientDepth === 0;
    const proj = (target: LoraTarget, input: tf.Tensor2D): tf.Tensor2D => {
      if (!lora?.has(l, target)) return tf.matMul(input, L[target]);
      if (merge) return tf.matMul(input, this.mergedWeight(lora, l, target));
      return tf.add(tf.matMul(input, L[target]), lora.delta(l, target, input, f.training)) as tf.Tensor2D;
    };
    if (f.decode && layerFused() && (!lora || merge)) {
      // native inference: the whole layer below in one kernel, bit-identical (src/model/fused.ts)
      const W = (t: LoraTarget) => (lora?.has(l, t) ? this.mergedWeight(lora, l, t) : L[t]);
      const w: DecoderLayerWeights = {
        inputNorm: L.inputNorm, postNorm: L.postNorm, q_proj: W('q_proj'), k_proj: W('k_proj'), v_proj: W('v_proj'), o_proj: W('o_proj'),
        gate_proj: W('gate_proj'), up_proj: W('up_proj'), down_proj: W('down_proj'),
      };
      return decoderLayerFused(f.cache, l, x, w, f.decode, this.eps.value, f.T, f.lastOnly && l === this.layers.length - 1);
    }

    // ---- self-attention
    const h = rmsNorm(x, L.inputNorm, this.eps, f.native); // (B·T, d)
    const q = proj('q_proj', h); // (B·T, nH·hd)
    const k = proj('k_proj', h); // (B·T, nKv·hd)
    const v = proj('v_proj', h); // (B·T, nKv·hd)
    const o = f.decode ? decodeAttention(f.cache, l, q, k, v, f.decode, f.T) : this.attention(l, q, k, v, f); // (B·T, nH·hd)
    let h2: tf.Tensor2D;
    [x, h2] = addRmsNorm(x, proj('o_proj', o), L.postNorm, this.eps, f.native); // x + attention, its norm (B·T, d)

    // ---- SwiGLU MLP
    const act = swiGLU(proj('gate_proj', h2), proj('up_proj', h2), f.native); // SiLU(gate)·up (B·T, I)
    return tf.add(x, proj('down_proj', act)); // (B·T, d)
  }

  /** Composite self-attention of one layer: q (B·T, nH·hd), k/v (B·T, nKv·hd) → (B·T, nH·hd); appends k/v to the cache. */
  private attention(l: number, q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, f: ForwardContext): tf.Tensor2D {
    const { numHeads: nH, numKvHeads: nKv, headDim: hd } = this.config;
    const { B, T, cos, sin, bias, cache } = f;
    const qh = tf.mul(this.toHeads(this.applyRope(tf.reshape(q, [B, T, nH, hd]), cos!, sin!)), this.c.scale); // (B, nH, T, hd) · 1/√hd
    let kh = this.toHeads(this.applyRope(tf.reshape(k, [B, T, nKv, hd]), cos!, sin!)); // (B, nKv, T, hd)
    let vh = this.toHeads(tf.reshape(v, [B, T, nKv, hd])); // (B, nKv, T, hd)
    if (cache) [kh, vh] = cache.append(l, kh, vh); // (B, nKv, past + T, hd)
    const Tk = kh.shape[2];
    // Grouped-query attention: query heads kv·g … kv·g + g − 1 share key/value head kv, so the query
    // heads (B, nH, T, hd) are viewed as (B, nKv, g·T, hd) and no key/value is repeated.
    const g = nH / nKv;
    let scores = tf.matMul(tf.reshape(qh, [B, nKv, g * T, hd]), kh, false, true); // (B, nKv, g·T, Tk)
    scores = tf.reshape(scores, [B, nH, T, Tk]);
    if (bias) scores = tf.add(scores, bias);
    const probs = tf.softmax(scores); // (B, nH, T, Tk)
    const ctx = tf.matMul(tf.reshape(probs, [B, nKv, g * T, Tk]), vh); // (B, nKv, g·T, hd)
    return this.fromHeads(tf.reshape(ctx, [B, nH, T, hd])); // (B·T, nH·hd)
  }

  /** Rotary embedding, HF convention: x·cos + rotate_half(x)·sin; x (B, T, H, hd), cos/sin (B|1, T, 1, hd). */
  private applyRope(x: tf.Tensor4D, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor4D {
    const [B, T, H, hd] = x.shape;
    // rotate_half as one matmul with a ±1 permutation matrix: exact, and one op instead of slice/neg/concat
    const rot = tf.reshape(tf.matMul(tf.reshape(x, [B * T * H, hd]), this.rotateHalf), [B, T, H, hd]);
    return tf.add(tf.mul(x, cos), tf.mul(rot, sin));
  }

  /** (B, T, H, hd) → (B, H, T, hd); a free reshape when T = 1 (decoding). */
  private toHeads(x: tf.Tensor4D): tf.Tensor4D {
    const [B, T, H, hd] = x.shape;
    return T === 1 ? tf.reshape(x, [B, H, 1, hd]) : tf.transpose(x, [0, 2, 1, 3]);
  }

  /** (B, H, T, hd) → (B·T, H·hd). */
  private fromHeads(x: tf.Tensor4D): tf.Tensor2D {
    const [B, H, T, hd] = x.shape;
    return tf.reshape(T === 1 ? x : tf.transpose(x, [0, 2, 1, 3]), [B * T, H * hd]);
  }

  /** Logits of hidden states x (N, d) → (N, V). */
  private lmHead(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    if (this.lmHeadT) return tf.matMul(x, this.lmHeadT);
    // Tied: under a gradient tape use the embedding itself; for inference a cached transpose keeps the
    // matmul on XNNPACK's fast path (the wasm backend only takes it without transposes).
    if (training || tf.engine().state.gradientDepth > 0) return tf.matMul(x, this.embed, false, true);
    return tf.matMul(x, this.tiedHeadT());
  }

  /** embedᵀ (d, V), rebuilt when the embedding changed (Variable.assign gives it a new dataId). */
  /**
   * W + scaling·Aᵀ·Bᵀ (in, out) of one projection for inference, cached and rebuilt whenever the base weight or
   * either adapter matrix holds new data (a trainer's update or a reload replaces a variable's dataId).
   */
  private mergedWeight(lora: LoraAdapter, l: number, target: LoraTarget): tf.Tensor2D {
    const key = `${l}.${target}`;
    const sources = [this.layers[l][target].dataId, lora.aT.get(key)!.dataId, lora.bT.get(key)!.dataId];
    if (this.merged?.adapter !== lora) this.disposeMerged(lora);
    const hit = this.merged!.w.get(key);
    if (hit && hit.sources.every((d, i) => d === sources[i])) return hit.t;
    hit?.t.dispose();
    const t = tf.tidy(() => tf.keep(tf.add(this.layers[l][target], lora.denseDeltaT(l, target)) as tf.Tensor2D));
    this.merged!.w.set(key, { sources, t });
    return t;
  }

  /** Drop the merged-weight cache (and start an empty one for `adapter`, if given). */
  private disposeMerged(adapter: LoraAdapter | null = null): void {
    for (const { t } of this.merged?.w.values() ?? []) t.dispose();
    this.merged = adapter ? { adapter, w: new Map() } : null;
  }

  private tiedHeadT(): tf.Tensor2D {
    if (!this.tiedHead || this.tiedHead.dataId !== this.embed.dataId) {
      this.tiedHead?.t.dispose();
      this.tiedHead = { dataId: this.embed.dataId, t: tf.keep(tf.transpose(this.embed as tf.Tensor2D)) };
    }
    return this.tiedHead.t;
  }

  /** Flat position ids (posB·T) int32 and posB (B, or 1 when every row has the same positions). */
  private positions(B: number, T: number, past: number, mask?: tf.Tensor2D, given?: tf.Tensor2D): [tf.Tensor1D, number] {
    if (given) return [tf.reshape(tf.cast(given, 'int32'), [B * T]), B];
    if (!mask) return [tf.range(past, past + T, 1, 'int32') as tf.Tensor1D, 1];
    // HF: position_ids = cumsum(mask) − 1, padding positions set to 1; only the last T are new
    const m = tf.cast(mask, 'int32'); // (B, past + T)
    const p = tf.add(tf.mul(tf.sub(tf.cumsum(m, 1), this.c.oneI), m), tf.sub(this.c.oneI, m));
    return [tf.reshape(past ? tf.slice(p, [0, past], [B, T]) : p, [B * T]), B];
  }

  /** Additive attention bias (B|1, 1, T, past + T): causal (T > 1) plus padding (when a mask is given). */
  private attentionBias(B: number, T: number, past: number, mask?: tf.Tensor2D): tf.Tensor | null {
    let bias: tf.Tensor | null = T > 1 ? this.causalBias(T, past) : null;
    if (mask) {
      // 1 → 0, 0 → MASKED: (mask − 1)·1e9
      const pad = tf.reshape(tf.mul(tf.sub(tf.cast(mask, 'float32'), this.c.one), this.c.masked), [B, 1, 1, past + T]);
      bias = bias ? tf.add(bias, pad) : pad;
    }
    return bias;
  }

  /**
   * (1, 1, T, past + T): 0 where key j ≤ past + i, MASKED after. Only prefill/training (T > 1) needs it,
   * once per forward, so it is built on the host rather than cached (no model-held tensors that grow).
   */
  private causalBias(T: number, past: number): tf.Tensor4D {
    const Tk = past + T;
    const data = new Float32Array(T * Tk);
    for (let i = 0; i < T; i++) data.fill(MASKED, i * Tk + past + i + 1, (i + 1) * Tk);
    return tf.tensor4d(data, [1, 1, T, Tk]);
  }

  /** cos/sin tables (P, hd) in HF's float32 arithmetic: inv_freq = 1/θ^(2i/hd), angle = pos·inv_freq, emb = [f, f]. */
  private buildRope(P: number): void {
    const { headDim: hd, ropeTheta } = this.config;
    const f = Math.fround;
    const invFreq = new Float32Array(hd / 2);
    for (let i = 0; i < hd / 2; i++) invFreq[i] = f(1 / f(Math.pow(ropeTheta, f((2 * i) / hd))));
    const cos = new Float32Array(P * hd);
    const sin = new Float32Array(P * hd);
    for (let p = 0; p < P; p++) {
      for (let i = 0; i < hd / 2; i++) {
        const a = f(p * invFreq[i]);
        cos[p * hd + i] = cos[p * hd + i + hd / 2] = Math.cos(a);
        sin[p * hd + i] = sin[p * hd + i + hd / 2] = Math.sin(a);
      }
    }
    if (this.rope) {
      this.rope.cos.dispose();
      this.rope.sin.dispose();
    }
    this.rope = { length: P, cos: tf.keep(tf.tensor2d(cos, [P, hd])), sin: tf.keep(tf.tensor2d(sin, [P, hd])) };
  }

  // ================================================================================= weights

  /** Base weight variables under their HF names; projections and lm_head are held transposed, (in, out). */
  namedVariables(): Map<string, tf.Variable> {
    const m = new Map<string, tf.Variable>([['model.embed_tokens.weight', this.embed]]);
    this.layers.forEach((L, l) => {
      const p = `model.layers.${l}`;
      m.set(`${p}.input_layernorm.weight`, L.inputNorm);
      for (const t of LORA_TARGETS) m.set(`${p}.${MODULE_PATH[t]}.weight`, L[t]);
      m.set(`${p}.post_attention_layernorm.weight`, L.postNorm);
    });
    m.set('model.norm.weight', this.norm);
    if (this.lmHeadT) m.set('lm_head.weight', this.lmHeadT);
    return m;
  }

  /** Every base weight variable (what full fine-tuning would update). */
  baseVariables(): tf.Variable[] {
    return [...this.namedVariables().values()];
  }

  /** What a trainer should update: the LoRA variables when an adapter is attached (base frozen), else the base. */
  trainableVariables(): tf.Variable[] {
    return this.lora ? this.lora.variables() : this.baseVariables();
  }

  /** Attach a fresh adapter (A random, B zero) and freeze the base. */
  attachLora(config: Partial<LoraConfig> = {}, seed: string | number = 0): LoraAdapter {
    return this.setLora(new LoraAdapter(this.config, { ...DEFAULT_LORA, ...config }, seed));
  }

  /** Attach `adapter` (or detach with null: the adapter is disposed). The base is frozen while one is attached. */
  setLora(adapter: LoraAdapter | null): LoraAdapter {
    if (this.lora && this.lora !== adapter) this.lora.dispose();
    if (this.merged && this.merged.adapter !== adapter) this.disposeMerged();
    this.lora = adapter;
    for (const v of this.baseVariables()) v.trainable = adapter === null;
    return adapter as LoraAdapter;
  }

  /** Fold the adapter into the base weights (W += scaling·B·A) and detach it. */
  mergeLora(): void {
    const lora = this.lora;
    if (!lora) throw new Error('mergeLora: no LoRA adapter attached');
    this.layers.forEach((L, l) => {
      for (const t of lora.config.targetModules) {
        tf.tidy(() => L[t].assign(tf.add(L[t], lora.denseDeltaT(l, t)))); // (in, out) += scaling·Aᵀ·Bᵀ
      }
    });
    this.setLora(null);
  }

  /**
   * The base weights under their HF names, in HF layout ((out, in) projections), each read back only
   * when the writer asks for it (one tensor in host memory at a time).
   */
  hfWeights(): [string, TensorSource][] {
    const out: [string, TensorSource][] = [];
    const whole = (name: string, v: tf.Variable) => out.push([name, { dtype: 'float32', shape: v.shape.slice(), read: () => v.dataSync() as Float32Array }]);
    // (in, out) back to HF's (out, in)
    const transposed = (name: string, v: tf.Variable) =>
      out.push([name, { dtype: 'float32', shape: [v.shape[1]!, v.shape[0]], read: () => tf.tidy(() => tf.transpose(v)).dataSync() as Float32Array }]);
    whole('model.embed_tokens.weight', this.embed);
    this.layers.forEach((L, l) => {
      const p = `model.layers.${l}`;
      whole(`${p}.input_layernorm.weight`, L.inputNorm);
      for (const t of ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const) transposed(`${p}.${MODULE_PATH[t]}.weight`, L[t]);
      whole(`${p}.post_attention_layernorm.weight`, L.postNorm);
      for (const t of ['gate_proj', 'up_proj', 'down_proj'] as const) transposed(`${p}.${MODULE_PATH[t]}.weight`, L[t]);
    });
    whole('model.norm.weight', this.norm);
    if (this.lmHeadT) transposed('lm_head.weight', this.lmHeadT);
    return out;
  }

  /** HF names of every weight this config expects in a checkpoint. */
  static hfWeightNames(config: LlamaConfig): string[] {
    const names = ['model.embed_tokens.weight'];
    for (let l = 0; l < config.numLayers; l++) {
      const p = `model.layers.${l}`;
      names.push(`${p}.input_layernorm.weight`, ...['q', 'k', 'v', 'o'].map((x) => `${p}.self_attn.${x}_proj.weight`),
        `${p}.post_attention_layernorm.weight`, ...['gate', 'up', 'down'].map((x) => `${p}.mlp.${x}_proj.weight`));
    }
    names.push('model.norm.weight');
    if (!config.tieWordEmbeddings) names.push('lm_head.weight');
    return names;
  }

  numParameters(): number {
    return countParameters(this.config);
  }

  dispose(): void {
    for (const v of this.baseVariables()) v.dispose();
    this.lora?.dispose();
    this.lora = null;
    this.disposeMerged();
    this.rope.cos.dispose();
    this.rope.sin.dispose();
    this.rotateHalf.dispose();
    this.tiedHead?.t.dispose();
    this.tiedHead = null;
    for (const s of Object.values(this.c)) s.dispose();
  }
}
