/**
 * Output heads of the proxy length predictor: what the A numbers a model emits per query mean, their training
 * loss against L_max, and how they become one predicted length.
 *  - `buckets`: a distribution over length bins [k·cell, (k+1)·cell) (k = 0..K−1, the last bin holds max_length),
 *    trained with cross-entropy on soft labels (a Gaussian of width `sigma` tokens around L_max, so a near miss
 *    costs less than a far one), decoded by a rule chosen for the metric: `median` (minimises the expected
 *    absolute error), `mean`, or `window50`/`window100` (the length whose ±50/±100 window holds the most
 *    probability: maximises the expected Acc-50/Acc-100), `bucket50` (the top of the scheduler's most probable
 *    50-token bucket, buckit's (50(b−1), 50b]: what the paper's LoRA predictor is tuned to answer), or `q<p>` (the
 *    p-quantile, e.g. the probe's q0.4: a low quantile schedules best under VBS + FCR, docs/perception.md).
 *  - `l1`: one number, L_max ≈ CENTER + SCALE·out, trained with the absolute error (a median regressor).
 *  - `log-mse`: one number, log(1 + L_max) ≈ LOG_CENTER + out, trained with the squared error.
 * A bucket head may add a ranking term to its loss (`rank`), as schedulers consume a predictor as a ranking (Fu et
 * al. 2024): the score of a query is its expected log-length under the bin distribution, and the batch's scores are
 * trained to order the batch as the targets do — ListMLE (Plackett–Luce likelihood of the true order) or pairwise
 * (RankNet's logistic loss on pairs at least `gap` tokens apart). The cross-entropy keeps the distribution calibrated,
 * so the decode rules (and Error / Acc-50) work unchanged.
 * It does not know the encoder that produced the outputs (./model.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  DECODE_RULES,
  decodeRuleProblem,
  quantileOf,
  type DecodeRule,
  type HeadKind,
  type NamedDecodeRule,
  type RankLossKind,
} from './kinds.js';

export interface HeadConfig {
  kind: HeadKind;
  /** largest length a query can have (the generation limit the lengths were recorded with) */
  maxLength: number;
  /** buckets: bin width in tokens */
  cell: number;
  /** buckets: width (tokens) of the Gaussian soft label; 0 = one-hot */
  sigma: number;
  /** buckets: how the distribution becomes a length (regression heads ignore it) */
  decode: DecodeRule;
  /** buckets: a ranking term added to the loss, weighted by `weight` (absent: cross-entropy alone) */
  rank?: RankLoss;
}

export interface RankLoss {
  kind: RankLossKind;
  weight: number;
  /** pairwise: pairs whose targets differ by less than this many tokens are not trained on */
  gap: number;
}

// regression heads' output scaling: outputs start near 0 (small init), so the prediction starts near the
// typical length (train median ≈ 142, mean ≈ 166) and a unit of output is ~ one standard deviation (≈ 120)
const CENTER = 150;
const SCALE = 100;
const LOG_CENTER = 4.8; // ≈ log(1 + 120)

export function numBins(h: HeadConfig): number {
  return Math.floor(h.maxLength / h.cell) + 1;
}

/** How many numbers the encoder must produce per query. */
export function headOutputs(h: HeadConfig): number {
  return h.kind === 'buckets' ? numBins(h) : 1;
}

/** Soft label of one length over the bins: Gaussian mass per bin (σ > 0) or one-hot; sums to 1. (K,) */
export function softLabel(h: HeadConfig, length: number): Float32Array {
  const K = numBins(h);
  const out = new Float32Array(K);
  const y = Math.min(Math.max(length, 0), h.maxLength);
  if (h.sigma <= 0) {
    out[Math.min(Math.floor(y / h.cell), K - 1)] = 1;
    return out;
  }
  let sum = 0;
  for (let k = 0; k < K; k++) {
    const c = (k + 0.5) * h.cell;
    out[k] = Math.exp(-0.5 * ((c - y) / h.sigma) ** 2);
    sum += out[k];
  }
  for (let k = 0; k < K; k++) out[k] /= sum;
  return out;
}

/** Mean training loss of a batch: outputs (B, A), target lengths (B,). */
export function headLoss(h: HeadConfig, outputs: tf.Tensor2D, targets: number[]): tf.Scalar {
  const B = targets.length;
  return tf.tidy(() => {
    if (h.kind === 'buckets') {
      const K = numBins(h);
      const labels = new Float32Array(B * K);
      targets.forEach((y, i) => labels.set(softLabel(h, y), i * K));
      const logp = tf.logSoftmax(outputs); // (B, K)
      const ce = tf.neg(tf.mean(tf.sum(tf.mul(tf.tensor2d(labels, [B, K]), logp), 1))) as tf.Scalar;
      if (!h.rank || h.rank.weight === 0 || B < 2) return ce;
      // score: expected log-length under the bins, (B)
      const centers = tf.tensor1d(Array.from({ length: K }, (_, k) => Math.log1p((k + 0.5) * h.cell)));
      const score = tf.sum(tf.mul(tf.exp(logp), centers), 1) as tf.Tensor1D;
      return tf.add(ce, tf.mul(rankLoss(h.rank, score, targets), h.rank.weight)) as tf.Scalar;
    }
    const out = tf.reshape(outputs, [B]);
    if (h.kind === 'l1') {
      // |CENTER + SCALE·out − y| / SCALE: the absolute error in units of SCALE tokens
      const y = tf.tensor1d(targets.map((t) => (t - CENTER) / SCALE));
      return tf.mean(tf.abs(tf.sub(out, y))) as tf.Scalar;
    }
    const y = tf.tensor1d(targets.map((t) => Math.log1p(t) - LOG_CENTER));
    return tf.mean(tf.square(tf.sub(out, y))) as tf.Scalar;
  });
}

/**
 * Ranking loss of scores (B) against target lengths. ListMLE: the targets' order, longest first (ties in input order),
 * and −log of its Plackett–Luce probability, Σᵢ [log Σ_{j ≥ i} exp(s_j) − s_i] / B. Pairwise: mean of
 * log(1 + exp(−(s_i − s_j))) over ordered pairs with y_i − y_j ≥ gap (0 when the batch has none).
 */
export function rankLoss(r: RankLoss, score: tf.Tensor1D, targets: number[]): tf.Scalar {
  const B = targets.length;
  return tf.tidy(() => {
    if (r.kind === 'listmle') {
      const order = targets.map((_, i) => i).sort((a, b) => targets[b] - targets[a] || a - b);
      const s = tf.gather(score, tf.tensor1d(order, 'int32')); // (B) in true order
      const m = tf.max(s);
      const suffix = tf.cumsum(tf.exp(tf.sub(s, m)), 0, false, true); // Σ_{j ≥ i} exp(s_j − m)
      return tf.mean(tf.sub(tf.add(tf.log(suffix), m), s)) as tf.Scalar;
    }
    const sign = new Float32Array(B * B);
    let pairs = 0;
    for (let i = 0; i < B; i++)
      for (let j = 0; j < B; j++)
        if (targets[i] - targets[j] >= r.gap) {
          sign[i * B + j] = 1;
          pairs++;
        }
    if (pairs === 0) return tf.scalar(0);
    const diff = tf.sub(tf.reshape(score, [B, 1]), tf.reshape(score, [1, B])); // s_i − s_j
    return tf.div(tf.sum(tf.mul(tf.softplus(tf.neg(diff)), tf.tensor2d(sign, [B, B]))), pairs) as tf.Scalar;
  });
}

/** Bin probabilities → one length by `rule`; density is uniform within a bin. probs (K,) */
export function decodeBins(h: HeadConfig, probs: ArrayLike<number>, rule: DecodeRule): number {
  const K = probs.length;
  const lo = (k: number) => k * h.cell;
  const hi = (k: number) => Math.min((k + 1) * h.cell, h.maxLength + 1);
  if (rule === 'mean') {
    let m = 0;
    for (let k = 0; k < K; k++) m += (probs[k] * (lo(k) + hi(k))) / 2;
    return m;
  }
  const q = rule === 'median' ? 0.5 : quantileOf(rule);
  if (q !== undefined) {
    // the length below which the distribution puts mass q (median: q = 0.5)
    let cum = 0;
    for (let k = 0; k < K; k++) {
      if (cum + probs[k] >= q) return lo(k) + ((q - cum) / Math.max(probs[k], 1e-12)) * (hi(k) - lo(k));
      cum += probs[k];
    }
    return h.maxLength;
  }
  if (rule === 'bucket50') {
    // mass of bucket b = integer lengths in (50(b − 1), 50b] (bucket 0 = {0}); ties → the smaller bucket
    const mass = new Array<number>(Math.ceil(h.maxLength / 50) + 1).fill(0);
    for (let k = 0; k < K; k++) {
      const [a, b] = [lo(k), hi(k)]; // integer lengths a … b − 1, each with probs[k] / (b − a)
      for (let L = a; L < b; L++) mass[Math.ceil(L / 50)] += probs[k] / (b - a);
    }
    let best = 0;
    for (let i = 1; i < mass.length; i++) if (mass[i] > mass[best] + 1e-12) best = i;
    return best * 50;
  }
  if (rule !== 'window50' && rule !== 'window100') throw new Error(decodeRuleProblem(rule));
  // window: argmax over integer c of P(|L − c| ≤ w); ties → the smaller c
  const w = rule === 'window50' ? 50 : 100;
  let best = 0;
  let bestMass = -1;
  for (let c = 0; c <= h.maxLength; c++) {
    const a = c - w;
    const b = c + w + 1; // integer lengths c−w..c+w ↔ [c−w, c+w+1) in the continuous bins
    let mass = 0;
    for (let k = Math.max(0, Math.floor(a / h.cell)); k < K && lo(k) < b; k++) {
      const overlap = Math.min(b, hi(k)) - Math.max(a, lo(k));
      if (overlap > 0) mass += (probs[k] * overlap) / (hi(k) - lo(k));
    }
    if (mass > bestMass + 1e-12) {
      bestMass = mass;
      best = c;
    }
  }
  return best;
}

/** Outputs (B·A values, row-major) of a buckets head → each row's bin probabilities (a softmax). */
function binProbs(h: HeadConfig, outputs: Float32Array, B: number): number[][] {
  const A = headOutputs(h);
  if (outputs.length !== B * A) throw new Error(`decode: ${outputs.length} outputs for ${B} queries × ${A}`);
  return Array.from({ length: B }, (_, i) => {
    const row = outputs.subarray(i * A, (i + 1) * A);
    const m = Math.max(...row);
    const e = Array.from(row, (x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  });
}

const clampLength = (h: HeadConfig, x: number) => Math.min(Math.max(x, 1), h.maxLength);

/** Outputs (B·A values, row-major) → predicted lengths for every named decode rule that applies. */
export function decodeAll(h: HeadConfig, outputs: Float32Array, B: number): Partial<Record<NamedDecodeRule, number[]>> {
  const A = headOutputs(h);
  if (outputs.length !== B * A) throw new Error(`decode: ${outputs.length} outputs for ${B} queries × ${A}`);
  if (h.kind === 'l1') return { median: Array.from(outputs, (o) => clampLength(h, CENTER + SCALE * o)) };
  if (h.kind === 'log-mse') return { median: Array.from(outputs, (o) => clampLength(h, Math.expm1(LOG_CENTER + o))) };
  const probs = binProbs(h, outputs, B);
  return Object.fromEntries(
    DECODE_RULES.map((rule) => [rule, probs.map((p) => clampLength(h, decodeBins(h, p, rule)))]),
  );
}

/** Outputs → predicted lengths by the head's own rule (regression heads: their one number). */
export function decode(h: HeadConfig, outputs: Float32Array, B: number): number[] {
  if (h.kind !== 'buckets') return decodeAll(h, outputs, B).median!;
  return binProbs(h, outputs, B).map((p) => clampLength(h, decodeBins(h, p, h.decode)));
}
