/**
 * What self-attention knows of positions, and its composite form: position ids (HF's cumsum(mask) − 1), rotary
 * embeddings in HF's rotate_half convention, the causal + padding bias, and grouped-query softmax attention in
 * tfjs ops. The native kernel (src/model/fused.ts's decodeAttention) gets the rotary tables, position ids and
 * mask and does all of it itself. Holds the rotary tables and a few constants, shared by all layers; the
 * q/k/v/o projections are the decoder layer's (src/model/llama.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LlamaConfig } from './config.js';
import type { ForwardInputs } from './forward-options.js';
import type { DecodeStep } from './fused.js';
import type { AttentionCache } from './kvcache.js';

/** Additive mask value: large enough to zero a softmax weight, finite so a fully padded row gives no NaN. */
const MASKED = -1e9;

/** The positions of one forward as attention takes them: for the native kernel, or for the composite ops. */
export interface AttentionLayout {
  /** native: rotary tables, position ids and the raw mask; the kernel rotates and masks itself */
  decode?: DecodeStep;
  /** composite: rotary angles (B|1, T, 1, hd) each */
  cos?: tf.Tensor;
  sin?: tf.Tensor;
  /** composite: causal + padding bias (B|1, 1, T, past + T), or null when nothing is masked */
  bias: tf.Tensor | null;
}

export class SelfAttention {
  private rope!: { length: number; cos: tf.Tensor2D; sin: tf.Tensor2D }; // (P, hd) each
  private readonly rotateHalf: tf.Tensor2D; // (hd, hd): x·R = rotate_half(x) = [−x₂, x₁]
  private readonly c: { scale: tf.Scalar; masked: tf.Scalar; one: tf.Scalar; oneI: tf.Scalar };

  constructor(private readonly config: LlamaConfig) {
    const hd = config.headDim;
    if (hd % 2 !== 0) throw new Error(`head_dim must be even for rotary embeddings, got ${hd}`);
    const r = new Float32Array(hd * hd);
    const h2 = hd / 2;
    for (let i = 0; i < h2; i++) {
      r[(i + h2) * hd + i] = -1; // out[i] = −x[i + hd/2]
      r[i * hd + i + h2] = 1; // out[i + hd/2] = x[i]
    }
    this.rotateHalf = tf.keep(tf.tensor2d(r, [hd, hd]));
    this.c = tf.tidy(() => ({
      scale: tf.keep(tf.scalar(1 / Math.sqrt(hd))),
      masked: tf.keep(tf.scalar(-MASKED)),
      one: tf.keep(tf.scalar(1)),
      oneI: tf.keep(tf.scalar(1, 'int32')),
    }));
    this.buildRope(Math.max(config.maxPositionEmbeddings, 1));
  }

  /**
   * The layout of T new positions per row after `past` cached ones (B rows): for the native kernel (`native`),
   * the rotary tables, position ids and mask; else rotary angles and the additive bias, shared by all layers.
   */
  layout(B: number, T: number, past: number, opts: ForwardInputs, native: boolean): AttentionLayout {
    if (past + T > this.rope.length) this.buildRope(2 * (past + T)); // positions never exceed past + T − 1
    const { numHeads, numKvHeads, headDim: hd } = this.config;
    const mask = opts.attentionMask;
    const [pos, posB] = this.positions(B, T, past, mask, opts.positionIds); // (posB·T) int32
    if (native) {
      const m = mask && mask.dtype !== 'int32' && mask.dtype !== 'float32' ? tf.cast(mask, 'int32') : mask;
      const { cos, sin } = this.rope;
      const decode = { numHeads, numKvHeads, headDim: hd, cos, sin, pos, mask: m as tf.Tensor2D | undefined };
      return { decode, bias: null };
    }
    return {
      cos: tf.reshape(tf.gather(this.rope.cos, pos), [posB, T, 1, hd]),
      sin: tf.reshape(tf.gather(this.rope.sin, pos), [posB, T, 1, hd]),
      bias: this.attentionBias(B, T, past, mask),
    };
  }

  /**
   * Composite self-attention of layer `l`: q (B·T, nH·hd), k/v (B·T, nKv·hd) → (B·T, nH·hd), softmax(q·Kᵀ/√hd
   * + bias)·V over the cached and new positions; appends this step's keys/values to the cache.
   */
  attend(
    l: number,
    q: tf.Tensor2D,
    k: tf.Tensor2D,
    v: tf.Tensor2D,
    at: AttentionLayout,
    B: number,
    T: number,
    cache?: AttentionCache,
  ): tf.Tensor2D {
    const { numHeads: nH, numKvHeads: nKv, headDim: hd } = this.config;
    const { cos, sin, bias } = at;
    // (B, nH, T, hd) · 1/√hd
    const qh = tf.mul(toHeads(this.applyRope(tf.reshape(q, [B, T, nH, hd]), cos!, sin!)), this.c.scale);
    let kh = toHeads(this.applyRope(tf.reshape(k, [B, T, nKv, hd]), cos!, sin!)); // (B, nKv, T, hd)
    let vh = toHeads(tf.reshape(v, [B, T, nKv, hd])); // (B, nKv, T, hd)
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
    return fromHeads(tf.reshape(ctx, [B, nH, T, hd])); // (B·T, nH·hd)
  }

  dispose(): void {
    this.rope.cos.dispose();
    this.rope.sin.dispose();
    this.rotateHalf.dispose();
    for (const s of Object.values(this.c)) s.dispose();
  }

  /** Rotary embedding, HF convention: x·cos + rotate_half(x)·sin; x (B, T, H, hd), cos/sin (B|1, T, 1, hd). */
  private applyRope(x: tf.Tensor4D, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor4D {
    const [B, T, H, hd] = x.shape;
    // rotate_half as one matmul with a ±1 permutation matrix: exact, and one op instead of slice/neg/concat
    const rot = tf.reshape(tf.matMul(tf.reshape(x, [B * T * H, hd]), this.rotateHalf), [B, T, H, hd]);
    return tf.add(tf.mul(x, cos), tf.mul(rot, sin));
  }

  /** Flat position ids (posB·T) int32 and posB (B, or 1 when every row has the same positions). */
  private positions(
    B: number,
    T: number,
    past: number,
    mask?: tf.Tensor2D,
    given?: tf.Tensor2D,
  ): [tf.Tensor1D, number] {
    if (given) return [tf.reshape(tf.cast(given, 'int32'), [B * T]), B];
    if (!mask) return [tf.range(past, past + T, 1, 'int32') as tf.Tensor1D, 1];
    // HF: position_ids = cumsum(mask) − 1, padding positions set to 1; only the last T are new
    const m = tf.cast(mask, 'int32'); // (B, past + T)
    const p = tf.add(tf.mul(tf.sub(tf.cumsum(m, 1), this.c.oneI), m), tf.sub(this.c.oneI, m));
    return [tf.reshape(past ? tf.slice(p, [0, past], [B, T]) : p, [B * T]), B];
  }

  /** Additive attention bias (B|1, 1, T, past + T): causal (T > 1) plus padding (when a mask is given). */
  private attentionBias(B: number, T: number, past: number, mask?: tf.Tensor2D): tf.Tensor | null {
    let bias: tf.Tensor | null = T > 1 ? causalBias(T, past) : null;
    if (mask) {
      // 1 → 0, 0 → MASKED: (mask − 1)·1e9
      const pad = tf.reshape(tf.mul(tf.sub(tf.cast(mask, 'float32'), this.c.one), this.c.masked), [B, 1, 1, past + T]);
      bias = bias ? tf.add(bias, pad) : pad;
    }
    return bias;
  }

  /** cos/sin tables (P, hd) in HF's float32 arithmetic: inv_freq = 1/θ^(2i/hd), angle = pos·inv_freq, [f, f]. */
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
}

/**
 * (1, 1, T, past + T): 0 where key j ≤ past + i, MASKED after. Only prefill/training (T > 1) needs it,
 * once per forward, so it is built on the host rather than cached (no model-held tensors that grow).
 */
function causalBias(T: number, past: number): tf.Tensor4D {
  const Tk = past + T;
  const data = new Float32Array(T * Tk);
  for (let i = 0; i < T; i++) data.fill(MASKED, i * Tk + past + i + 1, (i + 1) * Tk);
  return tf.tensor4d(data, [1, 1, T, Tk]);
}

/** (B, T, H, hd) → (B, H, T, hd); a free reshape when T = 1 (decoding). */
function toHeads(x: tf.Tensor4D): tf.Tensor4D {
  const [B, T, H, hd] = x.shape;
  return T === 1 ? tf.reshape(x, [B, H, 1, hd]) : tf.transpose(x, [0, 2, 1, 3]);
}

/** (B, H, T, hd) → (B·T, H·hd). */
function fromHeads(x: tf.Tensor4D): tf.Tensor2D {
  const [B, H, T, hd] = x.shape;
  return tf.reshape(T === 1 ? x : tf.transpose(x, [0, 2, 1, 3]), [B * T, H * hd]);
}
