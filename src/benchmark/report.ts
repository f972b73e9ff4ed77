/**
 * How benchmark results are printed: upstream's console block (Time, Throughput, Average length, Effective
 * token ratio, Failure ratio, in upstream's units and 2 decimals) and the same figures as a markdown table row.
 */
import type { BenchmarkResult } from './driver.js';
import { markdownRows } from '../util/markdown.js';

const py = (b: boolean) => (b ? 'True' : 'False');
const f2 = (x: number) => x.toFixed(2);

/**
 * The paper's figures of one benchmark row as the leading keys of its record (results.csv / results.json), in this
 * order for the simulated and the real engine alike; each job appends its time keys.
 */
export function paperRecord(r: BenchmarkResult, fcrLimit: string) {
  return {
    strategy: r.strategy,
    vbs: r.vbs,
    fcr: r.fcr,
    fcr_limit: r.fcr ? fcrLimit : 'off',
    num_samples: r.num_samples,
    average_length: r.average_length,
    effective_token_ratio: r.effective_token_ratio,
    failure_ratio: r.failure_ratio,
    num_batches: r.num_batches,
    decode_steps: r.decode_steps,
  };
}

/** Upstream's printed block (src/benchmark.py), line for line. */
export function upstreamBlock(r: BenchmarkResult, groupSize: number, batchSize: number): string {
  return [
    `Strategy: ${r.strategy}, Total samples: ${r.num_samples}`,
    `Group Size: ${groupSize}, Batch Size: ${batchSize}`,
    `VBS: ${py(r.vbs)}, FCR: ${py(r.fcr)}`,
    `Time: ${f2(r.seconds)} s`,
    `Throughput: ${f2(r.throughput)} samples/s`,
    `Average length: ${f2(r.average_length)} tokens`,
    `Effective token ratio: ${f2(r.effective_token_ratio * 100)} %`,
    `Failure ratio: ${f2(r.failure_ratio * 100)} %`,
  ].join('\n');
}

export const TABLE_METRICS = [
  'Throughput (samples/s)',
  'Average length (tokens)',
  'Effective token ratio (%)',
  'Failure ratio (%)',
];

export function metricCells(
  r: Pick<BenchmarkResult, 'throughput' | 'average_length' | 'effective_token_ratio' | 'failure_ratio'>,
): string[] {
  return [f2(r.throughput), f2(r.average_length), f2(r.effective_token_ratio * 100), f2(r.failure_ratio * 100)];
}

/** A markdown table: given leading columns, then the four upstream metrics. */
export function markdownTable(lead: string[], rows: { lead: string[]; result: BenchmarkResult }[]): string {
  return markdownRows(
    [...lead, ...TABLE_METRICS],
    lead.length,
    rows.map((r) => [...r.lead, ...metricCells(r.result)]),
  );
}
