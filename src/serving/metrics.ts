/**
 * Per-request timeline → the serving metrics of one run. A request's latency runs from its arrival to its last
 * token, time to first token (TTFT) to its first, queueing delay to the start of its first prefill (or batch);
 * normalized latency is latency per output token (s/token, the mean over requests, as vLLM and Orca report it).
 * Throughput is requests and output tokens per second of the whole run (first arrival at 0 to last finish).
 * The effective token ratio is the paper's: Σ num_output_tokens / Σ length, where a request's length is the
 * decode steps of the batch that produced its answer + 1 (continuous batching: its own steps + 1, no padding).
 * Time per output token (TPOT; Vidur's and others' time between tokens, TBT, per request) is (finish − first token)
 * / (tokens generated − 1) over the requests that generated at least two. KV figures come from engines with paged
 * memory (the GPU simulator): the most KV tokens in use at once, and the pool's size (null elsewhere).
 * Percentiles interpolate linearly between order statistics (numpy's default).
 * Max wait is the longest queueing delay, max over requests of (admitted − arrival): how long the worst-served
 * request waited before its first prefill started (not its TTFT, which adds its own prefill). The prediction's
 * Kendall τ_b is taken over the requests that received a prediction, against their true length (the recorded
 * `length`); a run that predicts only under contention predicts a subset. The share of requests slowed more than
 * 2× against FCFS needs a second run of the same requests (`slowdownShare`: paired by request id).
 */
import { kendallTauB, spearmanRho } from '../scoring/ranking.js';

export interface RequestRecord {
  id: string;
  index: number;
  arrival: number;
  /** prompt tokens as the workload counts them (null: not known) */
  promptTokens: number | null;
  /** predicted total length (null: the policy needed none) */
  predicted: number | null;
  /** start of the request's first prefill (continuous) or first batch (static) */
  admitted: number;
  firstToken: number;
  finish: number;
  /** upstream's count: the answer re-tokenized with BOS (real engine), the recorded length (simulator) */
  numOutputTokens: number;
  /** the paper's length: decode steps of the batch that produced the answer + 1 */
  length: number;
  /** ended with EOS within its limit */
  finished: boolean;
  /** times taken out of the decode batch: by the policy (its KV kept) or by the engine (recomputed) */
  preemptions: number;
  /** of those, by the engine when KV blocks ran out (its KV freed and computed again on re-admission) */
  recomputes: number;
}

/** A request's record when it arrives: nothing admitted, generated or finished yet (NaN times until they happen). */
export function arrivedRecord(r: {
  id: string;
  index: number;
  arrival: number;
  item?: { promptTokens?: number };
}): RequestRecord {
  return {
    id: r.id,
    index: r.index,
    arrival: r.arrival,
    promptTokens: r.item?.promptTokens ?? null,
    predicted: null,
    admitted: NaN,
    firstToken: NaN,
    finish: NaN,
    numOutputTokens: 0,
    length: 0,
    finished: false,
    preemptions: 0,
    recomputes: 0,
  };
}

export interface ServingMetrics {
  num_requests: number;
  makespan: number;
  throughput: number;
  output_tokens_per_s: number;
  latency_mean: number;
  latency_p50: number;
  latency_p90: number;
  latency_p99: number;
  ttft_mean: number;
  ttft_p50: number;
  ttft_p99: number;
  /** Spearman's rank correlation of prompt tokens and TTFT (NaN without prompt counts or with one value) */
  ttft_prompt_rank_corr: number;
  /** mean TTFT of the longest quarter of prompts ÷ that of the shortest quarter (NaN without prompt counts) */
  ttft_long_short_ratio: number;
  tpot_mean: number;
  tpot_p50: number;
  tpot_p99: number;
  normalized_latency: number;
  queueing_delay_mean: number;
  /** max over requests of (admitted − arrival), seconds: the longest wait before a first prefill */
  max_wait: number;
  /** Kendall τ_b of predicted against true length over the requests that got a prediction (NaN: fewer than 2) */
  prediction_kendall_tau: number;
  effective_token_ratio: number;
  preemptions: number;
  /** of the preemptions, the engine's when KV blocks ran out (recomputed) */
  recomputes: number;
  predictor_seconds: number;
  finished_ratio: number;
  /** most KV tokens in use at once, and the pool's size (paged memory; null where the engine keeps none) */
  kv_peak_tokens: number | null;
  kv_capacity_tokens: number | null;
  /** prompt tokens whose KV was reused instead of prefilled (GPU simulator; null elsewhere) */
  prefix_reused_tokens: number | null;
  /** the scheduler's wall seconds outside engine and predictor calls, and per loop iteration in µs (null: static) */
  scheduler_seconds: number | null;
  scheduler_us_per_iteration: number | null;
}

/** The serving loop's own time outside engine and predictor calls, and its iterations. */
export interface SchedulerTime {
  seconds: number;
  iterations: number;
}

/** What a paged-memory engine reports besides the records. */
export interface KvUse {
  peakTokens: number;
  capacityTokens: number;
  /** prompt tokens not prefilled because their KV was reused (a shared prefix, cached hash blocks) */
  reusedTokens: number;
}

/** The q-quantile (0 ≤ q ≤ 1) of xs, linear between order statistics (numpy.percentile's default). */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return lo + 1 < s.length ? s[lo] + (h - lo) * (s[lo + 1] - s[lo]) : s[lo];
}

/** Spearman's ρ (scoring/ranking.ts), NaN for fewer than 2 points or a constant series. */
export function rankCorrelation(xs: number[], ys: number[]): number {
  return xs.length < 2 || xs.length !== ys.length ? NaN : spearmanRho(xs, ys);
}

/** Kendall's τ_b (scoring/ranking.ts), NaN for fewer than 2 points or a constant series. */
export function kendallTau(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  return xs.length < 2 || xs.length !== ys.length ? NaN : kendallTauB(xs, ys);
}

/** τ_b of predicted against true length over the requests that got a prediction. */
function predictionTau(records: RequestRecord[]): number {
  const p = records.filter((r) => r.predicted !== null);
  return kendallTau(
    p.map((r) => r.predicted!),
    p.map((r) => r.length),
  );
}

/**
 * The share of requests whose latency is more than `factor` times their latency in a baseline run of the same
 * requests (FCFS in the tables), paired by request id. Every request of `records` must be in the baseline.
 */
export function slowdownShare(records: RequestRecord[], baseline: RequestRecord[], factor = 2): number {
  const base = new Map(baseline.map((r) => [r.id, r.finish - r.arrival]));
  if (records.length === 0) return NaN;
  let slowed = 0;
  for (const r of records) {
    const b = base.get(r.id);
    if (b === undefined) throw new Error(`slowdown against a baseline: request ${r.id} is not in the baseline run`);
    if (r.finish - r.arrival > factor * b) slowed++;
  }
  return slowed / records.length;
}

/** Mean TTFT of the longest quarter of prompts over the shortest quarter's (by prompt tokens, ties by position). */
function longShortRatio(records: RequestRecord[]): number {
  const known = records.filter((r) => r.promptTokens !== null).sort((a, b) => a.promptTokens! - b.promptTokens!);
  const q = Math.floor(known.length / 4);
  if (q < 1) return NaN;
  const ttft = (rs: RequestRecord[]) => mean(rs.map((r) => r.firstToken - r.arrival));
  return ttft(known.slice(-q)) / ttft(known.slice(0, q));
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Answer tokens of a record: upstream's count less its BOS. */
export const outputTokens = (r: RequestRecord) => Math.max(0, r.numOutputTokens - 1);

export function servingMetrics(
  records: RequestRecord[],
  predictorSeconds: number,
  kv?: KvUse,
  scheduler?: SchedulerTime,
): ServingMetrics {
  for (const r of records) {
    if (!(r.finish >= r.firstToken && r.firstToken >= r.admitted && r.admitted >= r.arrival)) {
      throw new Error(
        `request ${r.id}: inconsistent timeline (arrival ${r.arrival}, admitted ${r.admitted}, first token ${r.firstToken}, finish ${r.finish})`,
      );
    }
  }
  const latency = records.map((r) => r.finish - r.arrival);
  const ttft = records.map((r) => r.firstToken - r.arrival);
  const makespan = records.reduce((m, r) => Math.max(m, r.finish), 0);
  const tokens = records.reduce((s, r) => s + outputTokens(r), 0);
  const length = records.reduce((s, r) => s + r.length, 0);
  // tokens generated = length − 1 (the recorded-length convention); TPOT needs two of them
  const tpot = records.filter((r) => r.length >= 3).map((r) => (r.finish - r.firstToken) / (r.length - 2));
  return {
    num_requests: records.length,
    makespan,
    throughput: makespan > 0 ? records.length / makespan : 0,
    output_tokens_per_s: makespan > 0 ? tokens / makespan : 0,
    latency_mean: mean(latency),
    latency_p50: quantile(latency, 0.5),
    latency_p90: quantile(latency, 0.9),
    latency_p99: quantile(latency, 0.99),
    ttft_mean: mean(ttft),
    ttft_p50: quantile(ttft, 0.5),
    ttft_p99: quantile(ttft, 0.99),
    ttft_prompt_rank_corr: rankCorrelation(
      records.filter((r) => r.promptTokens !== null).map((r) => r.promptTokens!),
      records.filter((r) => r.promptTokens !== null).map((r) => r.firstToken - r.arrival),
    ),
    ttft_long_short_ratio: longShortRatio(records),
    tpot_mean: mean(tpot),
    tpot_p50: quantile(tpot, 0.5),
    tpot_p99: quantile(tpot, 0.99),
    normalized_latency: mean(records.map((r, i) => latency[i] / Math.max(1, outputTokens(r)))),
    queueing_delay_mean: mean(records.map((r) => r.admitted - r.arrival)),
    max_wait: records.reduce((m, r) => Math.max(m, r.admitted - r.arrival), records.length ? 0 : NaN),
    prediction_kendall_tau: predictionTau(records),
    effective_token_ratio: length > 0 ? records.reduce((s, r) => s + r.numOutputTokens, 0) / length : 0,
    preemptions: records.reduce((s, r) => s + r.preemptions, 0),
    recomputes: records.reduce((s, r) => s + r.recomputes, 0),
    predictor_seconds: predictorSeconds,
    finished_ratio: records.length ? records.filter((r) => r.finished).length / records.length : 0,
    kv_peak_tokens: kv?.peakTokens ?? null,
    kv_capacity_tokens: kv?.capacityTokens ?? null,
    prefix_reused_tokens: kv?.reusedTokens ?? null,
    scheduler_seconds: scheduler ? scheduler.seconds : null,
    scheduler_us_per_iteration: scheduler ? (1e6 * scheduler.seconds) / Math.max(1, scheduler.iterations) : null,
  };
}
