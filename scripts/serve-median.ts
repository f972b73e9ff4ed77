/**
 * The repeated-runs table of a serving experiment on the real (wall-clock) engine (issue 29; experiments/
 * serving-real-sjf.yaml): rows labelled "<row> run <k>" are the same configuration run k times at the same point,
 * interleaved with the other rows. Per point (swept values) and row it prints the median over the runs of the mean,
 * p50 and p99 latency, the queueing delay and TPOT, that median mean ÷ the FCFS row's, and the per-run ratios
 * (run k of the row ÷ run k of FCFS, the neighbouring runs); then, per row, the median and the range over the points
 * of the median ratios and how many points were at or below FCFS. It reads results.json and computes nothing else.
 *
 *   npx tsx scripts/serve-median.ts results/<run> [--fcfs "fcfs"]     markdown on stdout
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quantile } from '../src/serving/metrics.js';

interface Result {
  stageIndex: number;
  label: string;
  swept: Record<string, unknown>;
  record: Record<string, number | string | null>;
}

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--'));
if (!dir) throw new Error('usage: npx tsx scripts/serve-median.ts results/<run> [--fcfs "<row>"]');
const fcfsRow = args.includes('--fcfs') ? args[args.indexOf('--fcfs') + 1] : 'fcfs';
const file = join(dir, 'results.json');
const results = (JSON.parse(readFileSync(file, 'utf8')) as { results: Result[] }).results;
if (!Array.isArray(results)) throw new Error(`${file}: no "results" array`);

const RUN = / run (\d+)$/;
const median = (xs: number[]) => quantile(xs, 0.5); // the mean of the two middle values for an even count
const num = (r: Result, k: string) => {
  const v = r.record[k];
  if (typeof v !== 'number') throw new Error(`${file}: row "${r.label}" has no number ${k}`);
  return v;
};

// point → row → runs (by run number)
const points = new Map<string, Map<string, Map<number, Result>>>();
for (const r of results) {
  const m = RUN.exec(r.label);
  if (!m) continue;
  const point = JSON.stringify([r.stageIndex, r.swept]);
  const row = r.label.replace(RUN, '');
  if (!points.has(point)) points.set(point, new Map());
  const rows = points.get(point)!;
  if (!rows.has(row)) rows.set(row, new Map());
  rows.get(row)!.set(Number(m[1]), r);
}
if (points.size === 0) throw new Error(`${file}: no rows labelled "<row> run <k>"`);

const f3 = (x: number) => x.toFixed(3);
const f2 = (x: number) => x.toFixed(2);
const lines: string[] = [
  '| Point | Row | Runs | Lat mean (s) | ÷ FCFS | per-run ÷ FCFS | p50 | p99 | Queue (s) | TPOT (ms) |',
  '| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
];
const summary = new Map<string, number[]>();
for (const [point, rows] of points) {
  const fcfs = rows.get(fcfsRow);
  if (!fcfs) {
    console.error(`point ${point}: no "${fcfsRow} run <k>" rows, skipped`);
    continue;
  }
  const swept = Object.entries(JSON.parse(point)[1] as Record<string, unknown>)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const fcfsMean = median([...fcfs.values()].map((r) => num(r, 'latency_mean')));
  for (const [row, runs] of rows) {
    const rs = [...runs.entries()].sort((a, b) => a[0] - b[0]);
    const mean = median(rs.map(([, r]) => num(r, 'latency_mean')));
    const perRun = rs
      .filter(([k]) => fcfs.has(k))
      .map(([k, r]) => f2(num(r, 'latency_mean') / num(fcfs.get(k)!, 'latency_mean')));
    if (row !== fcfsRow) summary.set(row, [...(summary.get(row) ?? []), mean / fcfsMean]);
    lines.push(
      `| ${swept} | ${row} | ${rs.length} | ${f3(mean)} | ${f2(mean / fcfsMean)} | ${perRun.join(' / ')} | ` +
        `${f3(median(rs.map(([, r]) => num(r, 'latency_p50'))))} | ${f3(median(rs.map(([, r]) => num(r, 'latency_p99'))))} | ` +
        `${f3(median(rs.map(([, r]) => num(r, 'queueing_delay_mean'))))} | ${f2(1000 * median(rs.map(([, r]) => num(r, 'tpot_mean'))))} |`,
    );
  }
}
lines.push(
  '',
  '| Row | points | median of the per-point ratios | range | points at or below FCFS |',
  '| --- | ---: | ---: | --- | ---: |',
);
for (const [row, ratios] of summary)
  lines.push(
    `| ${row} | ${ratios.length} | ${f2(median(ratios))} | ${f2(Math.min(...ratios))}–${f2(Math.max(...ratios))} | ${ratios.filter((x) => x <= 1).length} of ${ratios.length} |`,
  );
console.log(lines.join('\n'));
