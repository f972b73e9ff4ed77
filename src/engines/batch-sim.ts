/**
 * The trace-driven engine: "generates" a batch by reading each query's recorded response length and charges
 * time from a cost model. It decides only which rows finish and how many steps the batch runs; the driver
 * does everything else exactly as for the real engine.
 *
 * What a recorded length means. Upstream records `L_t{T}` as the num_output_tokens of a stream run with
 * max_length 512: the answer re-tokenized with BOS, i.e. answer tokens + 1. A row that needs R = answer + 1
 * new tokens (the answer, then EOS) therefore finishes within a limit iff R ≤ limit, and its batch stops
 * after max over rows of R steps. A recorded R above the recording's limit (513, 514: the recording was
 * cut at 512 tokens) says the answer never ended there, so such a row never finishes here either.
 * num_output_tokens of a finished row is R; an unfinished row has generated `limit` tokens, + BOS.
 */
import type { BatchOutcome, Engine } from './batch.js';
import type { BenchItem } from '../core/query.js';
import { batchSeconds, type CostModel } from '../cost/costmodel.js';

export interface SimEngineOptions {
  /** which recorded length is the "real" one (default L_t0.0, the temperature the benchmark runs at) */
  realLengths: string;
  /** max_length of the run that recorded the lengths (upstream lenpred: 512) */
  recordedMaxLength: number;
  costModel: CostModel;
  /** prefill width when items carry no promptTokens (tokens) */
  defaultPromptTokens: number;
}

export class SimulatedEngine implements Engine {
  readonly name = 'sim';
  constructor(private readonly opts: SimEngineOptions) {}

  /** New tokens the query needs to emit EOS (Infinity if it never did in the recording). */
  neededTokens(item: BenchItem): number {
    const key = this.opts.realLengths;
    const r = item.realLengths?.[key];
    if (r === undefined || !Number.isFinite(r)) {
      throw new Error(
        `query ${item.id}: no recorded length "${key}" (lengths file keys: ${Object.keys(item.realLengths ?? {}).join(', ') || 'none'})`,
      );
    }
    return r <= this.opts.recordedMaxLength ? r : Infinity;
  }

  async generateBatch(items: BenchItem[], maxNewTokens: number): Promise<BatchOutcome> {
    const needed = items.map((it) => this.neededTokens(it));
    const decodeSteps = Math.max(0, Math.min(maxNewTokens, Math.max(...needed)));
    const rows = items.map((it, i) => {
      const finished = needed[i] <= maxNewTokens;
      return {
        numOutputTokens: finished ? it.realLengths![this.opts.realLengths] : decodeSteps + 1,
        isFinished: finished,
      };
    });
    const prompt = Math.max(...items.map((it) => it.promptTokens ?? this.opts.defaultPromptTokens));
    const cm = this.opts.costModel;
    // the prefill forward is the batch's first step: its tokens come after prefill(bs, P) + step(bs, P)
    const firstTokenSeconds =
      decodeSteps > 0 ? (cm.prefillMs(items.length, prompt) + cm.stepMs(items.length, prompt)) / 1000 : 0;
    return { rows, decodeSteps, seconds: batchSeconds(cm, items.length, prompt, decodeSteps), firstTokenSeconds };
  }
}
