#!/usr/bin/env node
// Checks that compare.mjs's metrics (metrics.mjs) equal run_vidur.py's (metrics.py) on every committed case: each
// results/<case>.csv summarized in JavaScript against results/<case>.summary.json (computed by Python from the
// unrounded times), within 2 ns per time or 1e-9 relative: the CSV keeps times to the nanosecond, so a time
// difference carries up to 1 ns of rounding from each end. Exits 1 naming the case and metric on a mismatch.
// It does not: run Vidur or our simulator.
// Usage: node validation/vidur/check_metrics.mjs
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VIDUR_COLUMNS, readCsv, summarize, vidurRequests } from './metrics.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cases = JSON.parse(readFileSync(join(here, 'cases.json'), 'utf8'));
// metrics.mjs name -> path in the summary JSON, and the JSON value's scale to the JS value
const fields = {
  'throughput (req/s)': ['throughput_rps', 1],
  'output tokens/s': ['output_tokens_per_s', 1],
  'total tokens/s': ['total_tokens_per_s', 1],
  'makespan (s)': ['makespan_s', 1],
  'e2e mean (s)': ['e2e_s.mean', 1],
  'e2e p50 (s)': ['e2e_s.p50', 1],
  'e2e p99 (s)': ['e2e_s.p99', 1],
  'TTFT mean (s)': ['ttft_s.mean', 1],
  'TTFT p50 (s)': ['ttft_s.p50', 1],
  'TTFT p99 (s)': ['ttft_s.p99', 1],
  'TBT mean (ms)': ['tbt_s.mean', 1e3],
  'TBT p50 (ms)': ['tbt_s.p50', 1e3],
  'TBT p99 (ms)': ['tbt_s.p99', 1e3],
};
let checked = 0;
let failed = 0;
for (const trace of Object.keys(cases.traces)) {
  for (const load of Object.keys(cases.loads)) {
    for (const sched of Object.keys(cases.schedulers)) {
      const name = `${trace}-${load}-${sched}`;
      const summaryPath = join(here, 'results', `${name}.summary.json`);
      if (!existsSync(summaryPath)) continue;
      const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
      const js = summarize(vidurRequests(readCsv(join(here, 'results', `${name}.csv`), VIDUR_COLUMNS)));
      for (const [metric, [path, scale]] of Object.entries(fields)) {
        const py = path.split('.').reduce((o, k) => o[k], summary) * scale;
        const diff = Math.abs(js[metric] - py);
        const rel = diff / Math.max(Math.abs(py), 1e-12);
        checked++;
        // rate metrics (per second of makespan) are relative; times absolute (2 ns, in the metric's unit)
        const ok = scale === 1 && metric.includes('/s') ? rel <= 1e-9 : diff <= 2e-9 * scale || rel <= 1e-9;
        if (!ok) {
          failed++;
          console.error(`${name}: ${metric}: metrics.mjs ${js[metric]}, metrics.py ${py} (relative ${rel})`);
        }
      }
    }
  }
}
if (checked === 0) {
  console.error('check_metrics.mjs: no results/<case>.summary.json found');
  process.exit(1);
}
console.log(`${checked - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
