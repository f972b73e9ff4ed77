/**
 * How serving results are printed: one markdown table row per run (throughput, latency percentiles, TTFT,
 * TPOT, normalized latency, queueing delay and its maximum (max wait), ETR, preemptions (recomputed ones named), peak KV, predictor seconds,
 * the scheduler's own µs per loop iteration),
 * used by the `serve` stage's
 * table.md section and by `seqsch serve-bench`. Latencies in seconds, normalized latency in ms per token.
 */
import type { ServingMetrics } from './metrics.js';
import { markdownRows } from '../util/markdown.js';

export const SERVING_COLUMNS = [
  'Thr (req/s)',
  'Tok/s',
  'Lat mean (s)',
  'p50',
  'p90',
  'p99',
  'TTFT mean',
  'TTFT p99',
  'TPOT (ms)',
  'Norm (ms/tok)',
  'Queue (s)',
  'Max wait (s)',
  'ETR (%)',
  'Preempt',
  'KV peak',
  'Predict (s)',
  'Sched (µs/it)',
];

/** Peak KV tokens and their share of the pool ('—' where the engine keeps no paged memory). */
function kvCell(m: ServingMetrics): string {
  if (m.kv_peak_tokens === null) return '—';
  const pct = m.kv_capacity_tokens ? ` (${((100 * m.kv_peak_tokens) / m.kv_capacity_tokens).toFixed(0)} %)` : '';
  return `${(m.kv_peak_tokens / 1000).toFixed(1)}k${pct}`;
}

/** Seconds shown with 3 significant decimals below 10 s, 1 above. */
const sec = (x: number) => (Number.isFinite(x) ? (Math.abs(x) < 10 ? x.toFixed(3) : x.toFixed(1)) : '—');

export function servingCells(m: ServingMetrics): string[] {
  return [
    m.throughput.toFixed(2),
    m.output_tokens_per_s.toFixed(0),
    sec(m.latency_mean),
    sec(m.latency_p50),
    sec(m.latency_p90),
    sec(m.latency_p99),
    sec(m.ttft_mean),
    sec(m.ttft_p99),
    Number.isFinite(m.tpot_mean) ? (m.tpot_mean * 1000).toFixed(1) : '—',
    (m.normalized_latency * 1000).toFixed(2),
    sec(m.queueing_delay_mean),
    sec(m.max_wait),
    (m.effective_token_ratio * 100).toFixed(1),
    m.recomputes ? `${m.preemptions} (${m.recomputes} recomp.)` : String(m.preemptions),
    kvCell(m),
    m.predictor_seconds.toFixed(2),
    m.scheduler_us_per_iteration === null ? '—' : m.scheduler_us_per_iteration.toFixed(0),
  ];
}

/** A markdown table: given leading columns, then the serving metrics. */
export function servingTable(lead: string[], rows: { lead: string[]; metrics: ServingMetrics }[]): string {
  return markdownRows(
    [...lead, ...SERVING_COLUMNS],
    lead.length,
    rows.map((r) => [...r.lead, ...servingCells(r.metrics)]),
  );
}
