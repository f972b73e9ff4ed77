/**
 * The fairness tables of a serving experiment run (issue 29): reads the run's per-point side files
 * (`<run>/serve/*.json`: every request's timeline, written by the serve stage), pairs each point with the FCFS point of
 * the same workload (trace or data file, arrival, load and max batch) and prints, per workload, one markdown row per point:
 * latency mean (and ÷ FCFS's), p50, p99, TTFT mean and p99, TPOT, max wait (max admitted − arrival), the share of
 * requests slowed more than 2× against FCFS (metrics.ts slowdownShare: same request id, its latency in this point
 * over its latency in the FCFS point), preemptions, the scheduler's own µs per iteration and the prediction's Kendall
 * τ_b over the requests that were predicted. It computes nothing the serve records do not hold except the paired
 * share; a workload without an FCFS point is named and skipped.
 *
 *   npx tsx scripts/serve-fairness.ts results/<run>     markdown on stdout
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { slowdownShare, type RequestRecord, type ServingMetrics } from '../src/serving/metrics.js';

interface Side {
  label: string;
  swept: Record<string, unknown>;
  config: Record<string, unknown> & { policy: string; predictor: string };
  metrics: ServingMetrics;
  records: RequestRecord[];
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: npx tsx scripts/serve-fairness.ts results/<run>');
const serveDir = join(dir, 'serve');
const sides: Side[] = readdirSync(serveDir)
  .filter((f) => f.endsWith('.json'))
  // in the order the points ran (each side file is written when its point ends)
  .sort((a, b) => statSync(join(serveDir, a)).mtimeMs - statSync(join(serveDir, b)).mtimeMs)
  .map((f) => {
    const s = JSON.parse(readFileSync(join(serveDir, f), 'utf8')) as Side;
    if (!s.config || !s.metrics || !Array.isArray(s.records))
      throw new Error(`${join(serveDir, f)}: not a serve side file`);
    return s;
  });

/** What must match for two points to serve the same requests at the same times. */
const workloadKey = (s: Side) =>
  JSON.stringify([
    s.config.trace ?? s.config.data,
    s.config.num_data,
    s.config.arrival,
    s.config.load ?? s.config.rate,
    s.config.max_batch,
  ]);
const groups = new Map<string, Side[]>();
for (const s of sides) groups.set(workloadKey(s), [...(groups.get(workloadKey(s)) ?? []), s]);

const sec = (x: number) => (Number.isFinite(x) ? (Math.abs(x) < 10 ? x.toFixed(2) : x.toFixed(1)) : '—');
const header = [
  'Load',
  'Row',
  'Lat mean (s)',
  '÷ FCFS',
  'p50',
  'p99',
  'TTFT mean',
  'TTFT p99',
  'TPOT (ms)',
  'Max wait (s)',
  'Slowed > 2× (%)',
  'Preempt',
  'Sched (µs/it)',
  'τ_b pred',
];
const byTrace = new Map<string, string[][]>();
const traceOf = (s: Side) => basename(String(s.config.trace ?? s.config.data));
// traces whose points differ in max batch: their Load column names it
const batches = new Map<string, Set<unknown>>();
for (const s of sides) batches.set(traceOf(s), (batches.get(traceOf(s)) ?? new Set()).add(s.config.max_batch));
const sweptBatch = new Set([...batches].filter(([, b]) => b.size > 1).map(([t]) => t));
for (const [key, pts] of groups) {
  const fcfs = pts.find((p) => p.config.policy === 'fcfs' && p.config.predictor === 'none');
  if (!fcfs) {
    console.error(`no fcfs point for workload ${key}: skipped (${pts.map((p) => p.label).join(', ')})`);
    continue;
  }
  const trace = traceOf(fcfs);
  const rows = byTrace.get(trace) ?? [];
  for (const p of pts) {
    const m = p.metrics;
    rows.push([
      // the load, and the max batch where the trace's points sweep it
      `${p.config.load ?? p.config.rate ?? '—'}${sweptBatch.has(trace) ? ` (max ${p.config.max_batch})` : ''}`,
      p.label,
      sec(m.latency_mean),
      (m.latency_mean / fcfs.metrics.latency_mean).toFixed(3),
      sec(m.latency_p50),
      sec(m.latency_p99),
      sec(m.ttft_mean),
      sec(m.ttft_p99),
      (m.tpot_mean * 1000).toFixed(1),
      sec(m.max_wait),
      (100 * slowdownShare(p.records, fcfs.records, 2)).toFixed(1),
      String(m.preemptions),
      m.scheduler_us_per_iteration === null ? '—' : m.scheduler_us_per_iteration.toFixed(0),
      Number.isFinite(m.prediction_kendall_tau) ? m.prediction_kendall_tau.toFixed(3) : '—',
    ]);
  }
  byTrace.set(trace, rows);
}
for (const [trace, rows] of byTrace) {
  console.log(`\n${trace}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}
