/**
 * The contract between the benchmark driver and whatever generates text: a batch of queries goes in with a
 * limit on new tokens, per-row counts come out. Two engines implement it — the real tfjs generator and the
 * trace-driven simulator (batch-sim.ts) — so scheduling, FCR and metrics are written once in benchmark/driver.ts.
 */

import type { BenchItem } from '../core/query.js';

export interface BatchRow {
  /** tokens of the answer as upstream counts them: the decoded answer re-tokenized, BOS included */
  numOutputTokens: number;
  /** the row emitted EOS within the limit */
  isFinished: boolean;
  text?: string;
}

export interface BatchOutcome {
  /** one row per input item, same order */
  rows: BatchRow[];
  /** decode steps the batch ran: min(limit, steps until every row emitted EOS) */
  decodeSteps: number;
  /** wall seconds of the batch (measured, or charged by a cost model) */
  seconds: number;
  /** seconds from the batch's start until its first tokens (the prefill), when the engine knows */
  firstTokenSeconds?: number;
  /** the batch started from prompt keys/values computed with the prediction (no prefill of its own) */
  prefilled?: boolean;
}

export interface Engine {
  name: string;
  backend?: string;
  /** Generate every item at most `maxNewTokens` new tokens, stopping early once every row has finished. */
  generateBatch(items: BenchItem[], maxNewTokens: number): Promise<BatchOutcome>;
}
