/**
 * The real step engine: the tfjs LLaMA running one batch whose rows sit at different positions (continuous
 * batching). New requests are prefilled in a forward of their own — prompts right-padded (causal attention
 * never lets a real token see the padding after it, so each row computes exactly what it would alone),
 * logits read at each row's last real token — straight into free rows of the slot cache (slot-cache.ts);
 * then they join the decode batch, where every step feeds each running row its last token at its own
 * position. A finished row's cache row is reused by the next request without moving any other row.
 * Greedy decoding gives each request the tokens `generate` gives it alone (test/serving/parity.test.ts).
 * Every call is timed by wall clock. The LoRA adapter, if attached, is off while generating.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Llama } from '../model/llama.js';
import { KVCache, heapView } from '../model/kvcache.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { Sampler } from '../generation/sampler.js';
import { SlotKVCache } from './slot-cache.js';
import { requireEngineMemory } from './memory-check.js';
import type { EngineCall } from '../cost/calls.js';
import { SlotEngine, type SlotEngineOptions, type SlotRow, type StepRequest } from './step.js';

/** A request for the real engine: its prompt as token ids. */
export interface TfjsStepRequest extends StepRequest {
  promptIds: number[];
}

interface TfjsRow extends SlotRow<TfjsStepRequest> {
  /** generated tokens before EOS (EOS excluded), as generate's outputIds */
  outputIds: number[];
  /** the last sampled token: the next decode step's input */
  last: number;
  /**
   * with `hiddenLayer`: that layer's state (d) at the position fed last — the prompt's last token after the
   * prefill, the previous token after a decode step — what a length probe's remaining head reads
   */
  hidden?: Float32Array;
}

export interface TfjsStepEngineOptions extends SlotEngineOptions {
  /** 0 (default) = greedy */
  temperature?: number;
  seed?: number;
  /** positions each cache row reserves at the start (default: the model's max_position_embeddings) */
  capacity?: number;
  /**
   * token ids every prompt starts with (the system prompt): computed once and copied into each new row, so a
   * prefill computes only the rest (prefix caching; causal attention makes the copied positions exactly what
   * the row would compute). Every request's prompt must start with it and hold at least one token more.
   */
  prefix?: number[];
  /**
   * keep each row's hidden state at this HF index (0 = embeddings … numLayers = after the final norm) from every
   * prefill and decode forward (the same forward: nothing recomputed), for a per-step remaining-length probe
   */
  hiddenLayer?: number;
}

export class TfjsStepEngine extends SlotEngine<TfjsStepRequest, TfjsRow> {
  readonly name = 'tfjs';
  private readonly cache: SlotKVCache;
  private readonly sampler: Sampler;
  private readonly eos: number;
  private readonly pad: number;
  /** generated tokens of requests evicted so far (their answers), by id */
  readonly outputs = new Map<string, number[]>();
  /** the shared prefix's ids and, per layer, its keys/values (nKv·P·hd), computed at the first admission */
  private readonly prefix: number[];
  private prefixKV: { keys: Float32Array[]; values: Float32Array[] } | null = null;
  private readonly hiddenLayer: number | undefined;

  constructor(
    readonly model: Llama,
    readonly tokenizer: Tokenizer,
    o: TfjsStepEngineOptions,
  ) {
    super(o);
    const c = model.config;
    if (tokenizer.vocabSize > c.vocabSize)
      throw new Error(
        `tokenizer ${tokenizer.name} has ${tokenizer.vocabSize} ids but the model's vocabulary holds ${c.vocabSize}`,
      );
    const rows = this.maxBatch + this.pausedRows;
    const capacity = o.capacity ?? c.maxPositionEmbeddings;
    // refuse a batch that cannot fit before allocating it (memory-check.ts), not inside a kernel gigabytes later
    requireEngineMemory(c, {
      rows,
      positions: capacity,
      parameters: model.numParameters(),
      backend: tf.getBackend(),
      what: `the continuous-batching KV cache (${this.maxBatch} decode rows + ${this.pausedRows} for preempted requests)`,
      lower: 'max batch (--max-batch / max_batch)',
    });
    this.cache = new SlotKVCache({
      numLayers: c.numLayers,
      rows,
      numKvHeads: c.numKvHeads,
      headDim: c.headDim,
      capacity,
    });
    this.sampler = new Sampler(o.temperature ?? 0, o.seed ?? 0);
    this.eos = tokenizer.eosId;
    this.pad = c.padTokenId;
    this.prefix = o.prefix ?? [];
    this.hiddenLayer = o.hiddenLayer;
    if (
      o.hiddenLayer !== undefined &&
      !(Number.isInteger(o.hiddenLayer) && o.hiddenLayer >= 0 && o.hiddenLayer <= c.numLayers)
    ) {
      throw new Error(
        `hiddenLayer must be an integer in [0, ${c.numLayers}] (the model's HF hidden-state indices), got ${o.hiddenLayer}`,
      );
    }
  }

  /**
   * The kept hidden states of admitted requests (engine option `hiddenLayer`), rows in the order of `ids`:
   * (ids.length · d) floats.
   */
  hiddenStates(ids: string[]): Float32Array {
    if (this.hiddenLayer === undefined)
      throw new Error('tfjs engine: hiddenStates() needs the engine option hiddenLayer');
    const d = this.model.config.hiddenSize;
    const out = new Float32Array(ids.length * d);
    ids.forEach((id, i) => {
      const h = this.get(id).hidden;
      if (!h) throw new Error(`tfjs engine: request ${id} has no hidden state yet (not prefilled)`);
      out.set(h, i * d);
    });
    return out;
  }

  /** A request of this engine for a prompt: tokenized, new tokens capped by the model's positions. */
  request(id: string, prompt: string, maxNewTokens: number): TfjsStepRequest {
    const promptIds = this.tokenizer.encode(prompt); // BOS first, as upstream's tokenizer(prompt)
    const maxPos = this.model.config.maxPositionEmbeddings;
    if (promptIds.length >= maxPos)
      throw new Error(
        `request ${id}: its prompt needs ${promptIds.length} positions but the model has max_position_embeddings ${maxPos}`,
      );
    if (
      this.prefix.length &&
      (promptIds.length <= this.prefix.length || this.prefix.some((t, i) => promptIds[i] !== t))
    ) {
      throw new Error(
        `request ${id}: its prompt does not start with the engine's shared prefix of ${this.prefix.length} tokens (or has nothing after it)`,
      );
    }
    return {
      id,
      promptIds,
      promptTokens: promptIds.length,
      maxNewTokens: Math.min(maxNewTokens, maxPos - promptIds.length),
    };
  }

  protected newRow(req: TfjsStepRequest, slot: number): TfjsRow {
    if (req.promptIds.length !== req.promptTokens || req.promptIds.length === 0)
      throw new Error(`request ${req.id}: promptTokens ${req.promptTokens} ≠ ${req.promptIds.length} prompt ids`);
    return { req, slot, state: 'running', generated: 0, eos: false, outputIds: [], last: this.pad };
  }

  protected released(row: TfjsRow): void {
    this.cache.release(row.slot);
    this.outputs.set(row.req.id, row.outputIds);
  }

  /** The answer's token ids of an admitted or evicted request (EOS excluded). */
  outputIds(id: string): number[] {
    return this.rows.get(id)?.outputIds ?? this.outputs.get(id) ?? [];
  }

  protected async prefill(rows: TfjsRow[]): Promise<EngineCall> {
    const t0 = performance.now();
    const n = rows.length;
    const P = this.prefix.length;
    if (P) {
      this.prefixKV ??= this.computePrefix();
      for (const r of rows) this.cache.writePrefix(r.slot, this.prefixKV.keys, this.prefixKV.values, P);
    }
    const T = Math.max(...rows.map((r) => r.req.promptTokens)) - P;
    // right padding: row b's prompt (after the prefix) at positions [P, len_b), its first token read at len_b − 1
    const ids = new Int32Array(n * T).fill(this.pad);
    rows.forEach((r, b) => ids.set(r.req.promptIds.slice(P), b * T));
    this.cache.select(rows.map((r) => r.slot));
    const [next, hidden] = this.generating(() =>
      tf.tidy(() => {
        const at = tf.tensor1d(
          rows.map((r) => r.req.promptTokens - P - 1),
          'int32',
        );
        const input = tf.tensor2d(ids, [n, T], 'int32');
        const opts = { cache: this.cache, logitsAt: at };
        if (this.hiddenLayer === undefined) return [this.sample(this.model.forward(input, opts))];
        const r = this.model.forwardWithHidden(input, { ...opts, hiddenLayer: this.hiddenLayer }); // hidden (n, T, d)
        const d = r.hidden.shape[2];
        const last = tf.gather(tf.reshape(r.hidden, [n * T, d]), tf.add(tf.range(0, n * T, T, 'int32'), at)); // (n, d)
        return [this.sample(r.logits), last];
      }),
    );
    const tokens = (await next.data()) as Int32Array;
    next.dispose();
    if (hidden) this.keepHidden(rows, hidden);
    rows.forEach((r, b) => {
      this.cache.truncate(r.slot, r.req.promptTokens);
      this.emit(r, tokens[b]);
    });
    return { kind: 'prefill', rows: n, context: T, seconds: (performance.now() - t0) / 1000 };
  }

  /** The shared prefix's keys and values, per layer (nKv·P·hd), from one forward at batch 1 (adapter off). */
  private computePrefix(): { keys: Float32Array[]; values: Float32Array[] } {
    const P = this.prefix.length;
    const c = new KVCache(this.model.config.numLayers, { capacity: P });
    try {
      this.generating(() =>
        tf.tidy(() => {
          this.model.forward(tf.tensor2d(this.prefix, [1, P], 'int32'), { cache: c, lastOnly: true });
        }),
      );
      const keys: Float32Array[] = [],
        values: Float32Array[] = [];
      for (let l = 0; l < this.model.config.numLayers; l++) {
        tf.tidy(() => {
          const [k, v] = c.filled(l); // (1, nKv, P, hd)
          keys.push(heapView(k).slice());
          values.push(heapView(v).slice());
        });
      }
      return { keys, values };
    } finally {
      c.dispose();
    }
  }

  protected async decode(rows: TfjsRow[]): Promise<EngineCall> {
    const t0 = performance.now();
    const B = rows.length;
    this.cache.select(rows.map((r) => r.slot));
    const lens = rows.map((r) => this.cache.length(r.slot)); // each row's next position = its cached positions
    const W = Math.max(...lens) + 1;
    const [next, hidden] = this.generating(() =>
      tf.tidy(() => {
        const inp = tf.tensor2d(
          Int32Array.from(rows, (r) => r.last),
          [B, 1],
          'int32',
        );
        const pos = tf.tensor2d(Int32Array.from(lens), [B, 1], 'int32');
        let mask: tf.Tensor2D | undefined;
        if (!this.cache.inPlace) {
          // composite attention sees every row cut to the longest: row b attends to its own [0, len_b] only
          const m = new Int32Array(B * W);
          lens.forEach((l, b) => m.fill(1, b * W, b * W + l + 1));
          mask = tf.tensor2d(m, [B, W], 'int32');
        }
        const opts = { cache: this.cache, positionIds: pos, attentionMask: mask };
        if (this.hiddenLayer === undefined) return [this.sample(this.model.forward(inp, opts))];
        const r = this.model.forwardWithHidden(inp, { ...opts, hiddenLayer: this.hiddenLayer }); // hidden (B, 1, d)
        return [this.sample(r.logits), r.hidden];
      }),
    );
    const tokens = (await next.data()) as Int32Array;
    next.dispose();
    if (hidden) this.keepHidden(rows, hidden);
    rows.forEach((r, b) => this.emit(r, tokens[b]));
    // attended positions per row: prompt + generated before this step (the fed token included)
    return {
      kind: 'decode',
      rows: B,
      context: lens.reduce((s, l) => s + l + 1, 0) / B,
      seconds: (performance.now() - t0) / 1000,
    };
  }

  /** Greedy / sampled next tokens of one position's logits per row: (B, 1, V) → (B) */
  private sample(logits: tf.Tensor3D): tf.Tensor1D {
    return this.sampler.sample(tf.reshape(logits, [logits.shape[0], logits.shape[2]]) as tf.Tensor2D);
  }

  /** Store each row's hidden state, (rows, d) or (rows, 1, d), and free the tensor. */
  private keepHidden(rows: TfjsRow[], hidden: tf.Tensor): void {
    const data = hidden.dataSync() as Float32Array;
    hidden.dispose();
    const d = this.model.config.hiddenSize;
    rows.forEach((r, b) => (r.hidden = data.slice(b * d, (b + 1) * d)));
  }

  /** Record a sampled token: EOS ends the row (not part of the answer), anything else is the next input. */
  private emit(row: TfjsRow, token: number): void {
    row.generated++;
    if (token === this.eos) row.eos = true;
    else row.outputIds.push(token);
    row.last = token;
  }

  /** Run `f` with the LoRA adapter (the length predictor) off: generation uses the base model. */
  private generating<T>(f: () => T): T {
    const lora = this.model.lora;
    const was = lora?.enabled ?? false;
    if (lora) lora.enabled = false;
    try {
      return f();
    } finally {
      if (lora) lora.enabled = was;
    }
  }

  dispose(): void {
    this.cache.dispose();
    this.sampler.dispose();
  }
}
