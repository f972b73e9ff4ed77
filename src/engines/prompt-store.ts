/**
 * Perception at no extra prefill: the generation prompts of a scheduling group are prefilled once — the prefill
 * generation needs anyway — and that prefill serves twice. The length probe reads its hidden states there (the
 * prediction), and every batch the scheduler then forms starts from the prompt keys/values
 * already computed (copied into the batch's cache in the batch's own padding layout, KVCache.gatherFrom) and from the
 * stored last-position logits, instead of a second prefill (generate()'s `prefilled` hook). The prefill itself is
 * generate()'s (promptLayout + prefillPrompts: shared prefix at batch 1, padded rests), so the stored keys/values are
 * what the batch's own prefill computes, up to the float rounding of a different padding width (see docs/perception.md).
 * It stores one group at a time; the LoRA adapter, if attached, is off while it prefills.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Llama } from '../model/llama.js';
import { KVCache, type GatherRun } from '../model/kvcache.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { prefillPrompts, promptLayout, type PromptHidden, type PromptLayout } from '../generation/generate.js';
import type { LengthProbe } from '../perception/probe.js';
import type { LengthPredictor } from '../core/predictor.js';

/** Prompts prefilled together (the seqsch predictor's mini-batch, upstream's lenpred_bs). */
export const PREFILL_CHUNK = 128;

interface Stored {
  /** which chunk cache and row hold it */
  chunk: KVCache;
  row: number;
  /** the chunk's layout: shared prefix P, padded rest width T0 */
  P: number;
  T0: number;
  length: number;
  /** the prompt's last-position logits (V) */
  logits: Float32Array;
}

export class PromptStore {
  private stored = new Map<string, Stored>();
  private chunks: KVCache[] = [];

  constructor(
    readonly model: Llama,
    readonly tokenizer: Tokenizer,
    readonly chunkSize = PREFILL_CHUNK,
  ) {}

  /**
   * Prefill `prompts` (full vicuna prompts; what was stored before is dropped), returning every prompt's hidden state
   * `hidden` asks for (a layer at the last position, or its mean over the prompt), (n · d) in prompt order, and the
   * seconds the forwards took.
   */
  async prefill(prompts: string[], hidden: PromptHidden): Promise<{ hidden: Float32Array; seconds: number }> {
    this.clear();
    const t0 = performance.now();
    const d = this.model.config.hiddenSize;
    const V = this.model.config.vocabSize;
    const ids = prompts.map((p) => this.tokenizer.encode(p));
    const states = new Float32Array(prompts.length * d);
    // prompts of similar length share a chunk (little padding)
    const order = ids.map((_, i) => i).sort((a, b) => ids[a].length - ids[b].length);
    const lora = this.model.lora;
    const was = lora?.enabled ?? false;
    if (lora) lora.enabled = false;
    try {
      for (let s = 0; s < order.length; s += this.chunkSize) {
        const rows = order.slice(s, s + this.chunkSize);
        const layout = promptLayout(
          rows.map((i) => ids[i]),
          this.model.config.padTokenId,
        );
        const cache = new KVCache(this.model.config.numLayers, { capacity: layout.P + layout.T0 });
        this.chunks.push(cache);
        const [lg, h] = tf.tidy(() => {
          const r = prefillPrompts(this.model, layout, cache, hidden);
          return [r.logits, r.hidden!];
        });
        const [logits, hid] = [(await lg.data()) as Float32Array, (await h.data()) as Float32Array];
        tf.dispose([lg, h]);
        rows.forEach((i, r) => {
          states.set(hid.subarray(r * d, (r + 1) * d), i * d);
          this.stored.set(prompts[i], {
            chunk: cache,
            row: r,
            P: layout.P,
            T0: layout.T0,
            length: ids[i].length,
            logits: logits.slice(r * V, (r + 1) * V),
          });
        });
      }
    } finally {
      if (lora) lora.enabled = was;
    }
    return { hidden: states, seconds: (performance.now() - t0) / 1000 };
  }

  /** Whether every one of `prompts` is stored. */
  has(prompts: string[]): boolean {
    return prompts.length > 0 && prompts.every((p) => this.stored.has(p));
  }

  /**
   * generate()'s `prefilled` hook for a batch of stored prompts (undefined when one is not stored): copies each row's
   * prompt positions from its chunk's layout into the batch's and returns the stored last-position logits (B, V).
   */
  filler(prompts: string[]): ((cache: KVCache, layout: PromptLayout) => tf.Tensor2D) | undefined {
    if (!this.has(prompts)) return undefined;
    const rows = prompts.map((p) => this.stored.get(p)!);
    return (cache, layout) => {
      const runs: GatherRun[] = [];
      rows.forEach((s, b) => {
        const n = layout.prompts[b].length;
        if (n !== s.length)
          throw new Error(`prompt store: row ${b} has ${n} tokens in the batch but ${s.length} when prefilled`);
        // prompt token j sits at j (inside the shared prefix) or at P + T0 − (n − j) (the left-padded rest)
        const src = (j: number) => (j < s.P ? j : s.P + s.T0 - (n - j));
        const dst = (j: number) => (j < layout.P ? j : layout.P + layout.T0 - (n - j));
        const cuts = [...new Set([0, Math.min(s.P, layout.P, n), Math.min(Math.max(s.P, layout.P), n), n])].sort(
          (a, c) => a - c,
        );
        for (let k = 0; k + 1 < cuts.length; k++) {
          const [j0, j1] = [cuts[k], cuts[k + 1]];
          if (j1 > j0)
            runs.push({ src: s.chunk, srcRow: s.row, srcPos: src(j0), dstRow: b, dstPos: dst(j0), count: j1 - j0 });
        }
      });
      cache.gatherFrom(runs, rows.length, layout.P + layout.T0);
      const V = this.model.config.vocabSize;
      const logits = new Float32Array(rows.length * V);
      rows.forEach((s, b) => logits.set(s.logits, b * V));
      return tf.tensor2d(logits, [rows.length, V]);
    };
  }

  /** Drop what is stored (the chunk caches' memory). */
  clear(): void {
    for (const c of this.chunks) c.dispose();
    this.chunks = [];
    this.stored.clear();
  }

  dispose(): void {
    this.clear();
  }
}

/**
 * The `probe` strategy: each group's generation prompts are prefilled once by `store` (the engine given the same store
 * then reuses that prefill), and `probe`'s total head reads the hidden states. Its `seconds` hold the prefill and the
 * head; `prefillSeconds` the prefill alone, which the benchmark counts as generation work, not prediction.
 */
export function probePredictor(store: PromptStore, probe: LengthProbe): LengthPredictor {
  probe.checkFits(store.model.config, 'strategy probe');
  return {
    name: 'probe',
    predict: async (items) => {
      const t0 = performance.now();
      const { hidden, seconds } = await store.prefill(
        items.map((it) => it.prompt),
        probe.promptHidden,
      );
      const lengths = probe.predict('total', hidden);
      return { lengths, seconds: (performance.now() - t0) / 1000, charged: false, prefillSeconds: seconds };
    },
  };
}
