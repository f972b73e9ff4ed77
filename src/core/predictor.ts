/**
 * The length-predictor contract both loops call: the benchmark's driver once per group, the serving harness once
 * per set of requests that arrived (or compete for slots). `predict(queries)` gives one predicted response length
 * per query and the seconds it took; optionally `remaining` re-estimates running requests after a decode step
 * (serving only: a probe on the serving model's hidden states, as TRAIL). Types only; the predictors themselves
 * live in perception/predictor.ts (no model), perception/model-predictors.ts (seqsch, po), engines/prompt-store.ts
 * (probe) and serving/predictors.ts (cost models, per-step refinement).
 */
import type { BenchItem } from './query.js';

export interface Prediction {
  /** predicted response length per query (tokens: the answer + EOS, as the recorded lengths count) */
  lengths: number[];
  seconds: number;
  /**
   * the seconds did not pass in this process (read from a file, or charged by a cost model): a serving clock adds
   * them. The benchmark counts the seconds either way, as upstream does.
   */
  charged: boolean;
  /** the part of `seconds` spent on a prompt prefill that generation then reuses instead of its own (the probe's) */
  prefillSeconds?: number;
}

/** A running (or paused) request, as a per-step remaining-length estimator sees it. */
export interface RunningQuery {
  id: string;
  item: BenchItem;
  /** tokens generated so far (EOS included once emitted) */
  generated: number;
  /** the predicted total made at arrival */
  predicted: number;
}

export interface RemainingEstimate {
  /** tokens each row still needs */
  remaining: number[];
  seconds: number;
  charged: boolean;
}

export interface LengthPredictor {
  /** the strategy or serving predictor name (`vanilla`, `gt`, `seqsch`, …; perception/predictor.ts) */
  readonly name: string;
  predict(queries: BenchItem[]): Promise<Prediction>;
  /** optional: tokens each running request still needs, re-estimated after a decode step */
  remaining?(rows: RunningQuery[]): Promise<RemainingEstimate>;
}
