/**
 * Batched generation as the paper's engine runs it (upstream src/generate.py): left-pad the prompts,
 * one prefill forward, then one KV-cached forward per new token for the whole batch, EOS detected per
 * row, and (by default) an early stop once every row has ended. Per item it returns upstream's counts.
 *
 * What is counted (upstream semantics, kept exactly so the benchmark's numbers mean the same thing):
 * - `decodeSteps`: forward passes of the batch, the prefill included; each yields one token per row.
 *   This is upstream's loop count `i + 1`.
 * - `length` = decodeSteps + 1, the same for every row of a batch (upstream:
 *   `output_ids[i].shape[0] - l_input_ids + 1`).
 * - `numInputTokens`: the *padded* prompt length of the batch, as upstream's `len(input_ids[i])` after
 *   left padding; `promptTokens` is the row's own prompt length.
 * - `outputIds`: the row's generated tokens before its first EOS (EOS and what follows excluded), i.e.
 *   upstream's `output_ids[i][:l_input_ids + ending[i]]` minus the prompt. Upstream's
 *   `num_output_tokens` re-tokenizes the decoded answer with BOS; a caller with a tokenizer does that.
 * - `numOutputTokens`: generated tokens of the row up to and including its EOS: outputIds.length + 1
 *   when the row finished, outputIds.length when it hit the cap.
 * - `isFinished`: the row produced EOS within maxNewTokens.
 * After its EOS a row is fed the pad token (with attention mask 1, as HF does); its later tokens are
 * never reported. Text decoding is the tokenizer's job (src/tokenizer), not this module's.
 * Beyond upstream: a token prefix shared by every prompt (the system prompt: 34 of ~48 tokens on the
 * embedded default) is run once at batch 1 and its keys/values copied to every row (`sharePrefix`),
 * which changes no position, mask or count, only how often the prefix is computed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Llama } from '../model/llama.js';
import { KVCache } from '../model/kvcache.js';
import { Sampler } from './sampler.js';

export interface GenerateOptions {
  /** cap on generated tokens per row (upstream's max_length) */
  maxNewTokens: number;
  /** 0 (or < 1e-4) = greedy */
  temperature?: number;
  seed?: string | number;
  /** end-of-sequence id; default the model's; null disables EOS detection */
  eosTokenId?: number | null;
  /** stop as soon as every row has produced EOS (upstream's stream=True); default true */
  stopAtEos?: boolean;
  /** id used for left padding and fed to finished rows; default the model's */
  padTokenId?: number;
  /**
   * Compute the keys/values of a token prefix that every prompt shares (e.g. the system prompt) once, at
   * batch 1, instead of once per row; default true. The rows then hold [prefix][padding][rest] instead of
   * [padding][prefix][rest]: same positions, same attended keys, so the same answers up to float rounding.
   */
  sharePrefix?: boolean;
  /**
   * Start from prompt keys/values computed earlier instead of running the prefill (the length probe's group
   * prefill, src/engines/prompt-store.ts): called once with the empty cache and the batch's layout; it must write
   * every row's prompt positions into the cache in that layout and return the prompt's last-position logits (B, V).
   * Everything after the prefill (sampling, masks, positions, counts) is unchanged.
   */
  prefilled?: (cache: KVCache, layout: PromptLayout) => tf.Tensor2D;
}

/**
 * How a batch of prompts is laid out in the cache: a shared prefix of P tokens (computed once at batch 1), then each
 * row's rest left-padded to T0: row b holds [prefix][padding][rest_b] at positions [0, P + T0).
 */
export interface PromptLayout {
  B: number;
  P: number;
  T0: number;
  /** (B, T0) ids of the rests, left-padded with the pad id */
  ids: Int32Array;
  /** (B, P + T0) 1 = real, 0 = padding */
  mask: Int32Array;
  /** whether any row is padded (else no mask needs to be passed) */
  padded: boolean;
  /** the prompts themselves */
  prompts: number[][];
}

/** The layout generate() uses for `prompts` (sharePrefix: compute a common prefix of ≥ MIN_SHARED_PREFIX tokens once). */
export function promptLayout(prompts: number[][], pad: number, sharePrefix = true): PromptLayout {
  const B = prompts.length;
  const P = sharePrefix ? sharedPrefixLength(prompts) : 0;
  const rest = prompts.map((p) => p.slice(P));
  const T0 = Math.max(...rest.map((p) => p.length));
  const ids = new Int32Array(B * T0).fill(pad);
  const mask = new Int32Array(B * (P + T0));
  rest.forEach((p, b) => {
    ids.set(p, b * T0 + T0 - p.length);
    mask.fill(1, b * (P + T0), b * (P + T0) + P);
    mask.fill(1, (b + 1) * (P + T0) - p.length, (b + 1) * (P + T0));
  });
  return { B, P, T0, ids, mask, padded: rest.some((p) => p.length < T0), prompts };
}

/** Which hidden state a prefill also returns: layer `layer` at the prompt's last position, or its mean over the prompt. */
export interface PromptHidden {
  layer: number;
  pool: 'last' | 'mean';
}

/**
 * The prefill of a laid-out batch into an empty `cache`: the shared prefix at batch 1, copied to every row, then the
 * padded rests. Returns the last position's logits (B, 1, V) and, with `hidden`, one layer's hidden state (B, 1, d)
 * at the last prompt position or averaged over the prompt's positions (the shared prefix's included; the same mean
 * as an unsplit prompt gives, up to float rounding). Call inside a tidy.
 */
export function prefillPrompts(
  model: Llama,
  layout: PromptLayout,
  cache: KVCache,
  hidden?: PromptHidden,
): { logits: tf.Tensor3D; hidden?: tf.Tensor3D } {
  const { B, P, T0 } = layout;
  const mean = hidden?.pool === 'mean';
  let prefixSum: tf.Tensor | undefined; // (1, d): the prefix's hidden states summed (the same for every row)
  if (P > 0) {
    const shared = new KVCache(model.config.numLayers, { capacity: P });
    try {
      const ids = tf.tensor2d(layout.prompts[0].slice(0, P), [1, P], 'int32');
      if (mean)
        prefixSum = tf.sum(
          model.forwardWithHidden(ids, { cache: shared, lastOnly: true, hiddenLayer: hidden!.layer, hiddenAll: true })
            .hidden,
          1,
        );
      else tf.tidy(() => void model.forward(ids, { cache: shared, lastOnly: true }));
      cache.broadcastFrom(shared, B);
    } finally {
      shared.dispose();
    }
  }
  const inp = tf.tensor2d(layout.ids, [B, T0], 'int32');
  const am = layout.padded ? tf.tensor2d(layout.mask, [B, P + T0], 'int32') : undefined;
  if (!hidden) return { logits: model.forward(inp, { attentionMask: am, cache, lastOnly: true }) };
  const r = model.forwardWithHidden(inp, {
    attentionMask: am,
    cache,
    lastOnly: true,
    hiddenLayer: hidden.layer,
    hiddenAll: mean,
  });
  if (!mean) return r;
  // mean over each row's real positions: the prefix's P and its own rest (the last T0 columns of the mask)
  const restMask = new Float32Array(B * T0);
  const counts = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T0; t++) restMask[b * T0 + t] = layout.mask[b * (P + T0) + P + t];
    counts[b] = layout.prompts[b].length;
  }
  let sum = tf.sum(tf.mul(r.hidden, tf.tensor3d(restMask, [B, T0, 1])), 1); // (B, d)
  if (prefixSum) sum = tf.add(sum, prefixSum);
  return { logits: r.logits, hidden: tf.expandDims(tf.div(sum, tf.tensor2d(counts, [B, 1])), 1) as tf.Tensor3D };
}

/** A shared prefix shorter than this is computed per row (one extra forward does not pay for itself). */
export const MIN_SHARED_PREFIX = 8;

/** Tokens every prompt starts with, leaving each at least one of its own (0 if fewer than MIN_SHARED_PREFIX). */
export function sharedPrefixLength(prompts: number[][]): number {
  if (prompts.length < 2) return 0;
  const most = Math.min(...prompts.map((p) => p.length)) - 1;
  let n = 0;
  while (n < most && prompts.every((p) => p[n] === prompts[0][n])) n++;
  return n >= MIN_SHARED_PREFIX ? n : 0;
}

export interface GeneratedItem {
  outputIds: number[];
  numInputTokens: number;
  promptTokens: number;
  numOutputTokens: number;
  length: number;
  isFinished: boolean;
}

export interface GenerateResult {
  items: GeneratedItem[];
  decodeSteps: number;
  /** wall-clock seconds of the whole call (prefill + decoding) */
  seconds: number;
  /** wall-clock seconds until the prefill's tokens were on the host (time to first token) */
  firstTokenSeconds: number;
}

export async function generate(model: Llama, prompts: number[][], opts: GenerateOptions): Promise<GenerateResult> {
  const t0 = performance.now();
  const B = prompts.length;
  if (B === 0) return { items: [], decodeSteps: 0, seconds: 0, firstTokenSeconds: 0 };
  const maxNew = opts.maxNewTokens;
  if (!Number.isInteger(maxNew) || maxNew < 1)
    throw new Error(`maxNewTokens must be a positive integer, got ${maxNew}`);
  const eos = opts.eosTokenId === undefined ? model.config.eosTokenId : opts.eosTokenId;
  const pad = opts.padTokenId ?? model.config.padTokenId;
  const stopAtEos = opts.stopAtEos ?? true;
  const V = model.config.vocabSize;
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`prompt ${i} is empty`);
    for (const t of p)
      if (!Number.isInteger(t) || t < 0 || t >= V)
        throw new Error(`prompt ${i} holds token id ${t}, outside [0, ${V})`);
  });

  // ---- shared prefix (P tokens, cached once), then left padding of the rest: ids (B, T0), mask (B, P + T0)
  const layout = promptLayout(prompts, pad, opts.sharePrefix !== false);
  const { P, T0, padded } = layout;
  let mask = layout.mask;
  // position id of each row's latest token (cumsum(mask) − 1, as HF); the token fed at decode step s sits one further
  const lastPos = Int32Array.from(prompts, (p) => p.length - 1);

  const sampler = new Sampler(opts.temperature ?? 0, opts.seed ?? 0);
  // room for the prompt and every new token: the in-place cache (native path) then never grows
  const cache = new KVCache(model.config.numLayers, { capacity: P + T0 + maxNew });
  const outputs: number[][] = prompts.map(() => []);
  const finished = new Array<boolean>(B).fill(false);
  let steps = 0;
  let tokens: Int32Array | null = null; // last sampled ids, (B)
  let firstTokenSeconds = 0;
  try {
    while (steps < maxNew) {
      const Tk = steps === 0 ? P + T0 : cache.length + 1; // positions attended this step
      let picked: Int32Array | null = null; // greedy ids read on the host (Sampler.pickOnHost), else `next`
      const next = tf.tidy((): tf.Tensor1D | void => {
        let logits: tf.Tensor3D;
        if (steps === 0) {
          // prefill: (B, T0) → last position's logits (B, 1, V); positions from the mask (or the prompt's KV given)
          logits = opts.prefilled
            ? (tf.reshape(opts.prefilled(cache, layout), [B, 1, V]) as tf.Tensor3D)
            : prefillPrompts(model, layout, cache).logits;
        } else {
          // decode: one token per row against the cache
          const inp = tf.tensor2d(tokens!, [B, 1], 'int32');
          const am = padded ? tf.tensor2d(mask, [B, Tk], 'int32') : undefined;
          for (let b = 0; b < B; b++) lastPos[b]++;
          const pos = padded ? tf.tensor2d(lastPos.slice(), [B, 1], 'int32') : undefined; // a copy: lastPos changes next step
          logits = model.forward(inp, { attentionMask: am, positionIds: pos, cache });
        }
        const last = tf.reshape(logits, [B, V]) as tf.Tensor2D;
        picked = sampler.pickOnHost(last);
        if (!picked) return sampler.sample(last); // (B) int32
      });
      const sampled = picked ?? ((await (next as tf.Tensor1D).data()) as Int32Array);
      if (next) next.dispose();
      if (steps === 0) firstTokenSeconds = (performance.now() - t0) / 1000;
      steps++;
      for (let b = 0; b < B; b++) {
        if (finished[b]) {
          sampled[b] = pad;
          continue;
        }
        if (eos !== null && sampled[b] === eos) finished[b] = true;
        else outputs[b].push(sampled[b]);
      }
      tokens = sampled;
      if (steps >= maxNew || (stopAtEos && finished.every(Boolean))) break;
      // the next step attends to every position so far plus the new token (mask 1, as HF)
      if (padded) {
        const grown = new Int32Array(B * (Tk + 1));
        for (let b = 0; b < B; b++) {
          grown.set(mask.subarray(b * Tk, (b + 1) * Tk), b * (Tk + 1));
          grown[b * (Tk + 1) + Tk] = 1;
        }
        mask = grown;
      }
    }
  } finally {
    cache.dispose();
    sampler.dispose();
  }

  const items = outputs.map((out, b) => ({
    outputIds: out,
    numInputTokens: P + T0,
    promptTokens: prompts[b].length,
    numOutputTokens: out.length + (finished[b] ? 1 : 0),
    length: steps + 1,
    isFinished: finished[b],
  }));
  return { items, decodeSteps: steps, seconds: (performance.now() - t0) / 1000, firstTokenSeconds };
}
