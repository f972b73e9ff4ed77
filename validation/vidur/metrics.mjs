// The validation metrics of a run from per-request times, for compare.mjs (both sides) and check_metrics.mjs.
// The same definitions as metrics.py (which run_vidur.py uses for Vidur's summaries); check_metrics.mjs checks the two
// agree on every committed case. Per request: e2e = finish − arrival; TTFT = firstToken − arrival; TBT = (finish −
// firstToken) / (D − 1) over requests with D ≥ 2, D = generated tokens including the one the prefill completes.
// Run: makespan = last finish − first arrival; throughput = requests, Σ D and Σ (prompt + D) per second of makespan.
// Percentiles interpolate linearly between order statistics (numpy's default, type 7).
// It does not: read our serve-bench JSON or decide pass/fail (compare.mjs does).
import { readFileSync } from 'node:fs';

/** Rows of a small numeric CSV with a header, as objects of numbers; names the file, row and column on bad input. */
export function readCsv(path, columns) {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  for (const c of columns) {
    if (!header.includes(c)) throw new Error(`${path}: no column ${c} (header: ${header.join(',')})`);
  }
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    const row = {};
    header.forEach((h, j) => {
      row[h] = Number(cells[j]);
      if (columns.includes(h) && !Number.isFinite(row[h])) throw new Error(`${path}: row ${i + 2}: ${h} = ${cells[j]}`);
    });
    return row;
  });
}

/** Linear interpolation between order statistics of an ascending array (numpy's default, type 7). */
export function percentile(sorted, q) {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function distribution(values) {
  const s = [...values].sort((a, b) => a - b);
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: percentile(s, 0.5), p99: percentile(s, 0.99) };
}

/**
 * requests: {arrival, firstToken, finish (s), prompt, decode (D, tokens)}; returns the metric table's values
 * (seconds, except TBT in ms), keyed by the names compare.mjs prints.
 */
export function summarize(requests) {
  if (requests.length === 0) throw new Error('summarize: no requests');
  const makespan = Math.max(...requests.map((r) => r.finish)) - Math.min(...requests.map((r) => r.arrival));
  const output = requests.reduce((s, r) => s + r.decode, 0);
  const total = output + requests.reduce((s, r) => s + r.prompt, 0);
  const tbt = requests.filter((r) => r.decode > 1).map((r) => (r.finish - r.firstToken) / (r.decode - 1));
  const e2e = distribution(requests.map((r) => r.finish - r.arrival));
  const ttft = distribution(requests.map((r) => r.firstToken - r.arrival));
  const tb = distribution(tbt);
  return {
    'throughput (req/s)': requests.length / makespan,
    'output tokens/s': output / makespan,
    'total tokens/s': total / makespan,
    'makespan (s)': makespan,
    'e2e mean (s)': e2e.mean,
    'e2e p50 (s)': e2e.p50,
    'e2e p99 (s)': e2e.p99,
    'TTFT mean (s)': ttft.mean,
    'TTFT p50 (s)': ttft.p50,
    'TTFT p99 (s)': ttft.p99,
    'TBT mean (ms)': tb.mean * 1e3,
    'TBT p50 (ms)': tb.p50 * 1e3,
    'TBT p99 (ms)': tb.p99 * 1e3,
  };
}

/** The per-request columns of results/<case>.csv, as summarize's requests. */
export const VIDUR_COLUMNS = [
  'arrived_at',
  'num_prefill_tokens',
  'num_decode_tokens',
  'prefill_completed_at',
  'completed_at',
  'num_restarts',
];

export function vidurRequests(rows) {
  return rows.map((r) => ({
    arrival: r.arrived_at,
    firstToken: r.prefill_completed_at,
    finish: r.completed_at,
    prompt: r.num_prefill_tokens,
    decode: r.num_decode_tokens,
  }));
}
