/**
 * The paper's benchmark metrics from per-query results (upstream `benchmark`): throughput = samples / seconds;
 * a query's `length` = decode steps of the batch that produced its final answer + 1; average length =
 * Σ length / N; effective token ratio (ETR) = Σ num_output_tokens / Σ length; failure ratio = queries FCR
 * collected / N. Ratios are fractions; the table printer turns them into percent.
 */

export interface ItemResult {
  id: string;
  index: number;
  predicted: number;
  /** decode steps of the final batch + 1 */
  length: number;
  numOutputTokens: number;
  isFinished: boolean;
  /** the final answer came from FCR recomputation */
  recomputed: boolean;
}

export interface Metrics {
  num_samples: number;
  average_length: number;
  effective_token_ratio: number;
  failure_ratio: number;
  seconds: number;
  throughput: number;
}

export function computeMetrics(items: ItemResult[], failed: number, seconds: number): Metrics {
  const n = items.length;
  let length = 0;
  let tokens = 0;
  for (const it of items) {
    length += it.length;
    tokens += it.numOutputTokens;
  }
  return {
    num_samples: n,
    average_length: n ? length / n : 0,
    effective_token_ratio: length ? tokens / length : 0,
    failure_ratio: n ? failed / n : 0,
    seconds,
    throughput: seconds > 0 ? n / seconds : 0,
  };
}
