#!/usr/bin/env node
// The probe's share of the oracle's gain per round of experiments/probe-rounds.yaml (or any benchmark run whose row
// labels end in " r<k>" and include vanilla, gt + VBS + FCR and seqsch-probe + VBS + FCR in each round), from the
// run folder's results.json: per round the three throughputs (samples/s), the probe's speedup over vanilla and
// share = (probe − vanilla) / (gt − vanilla); then the same from the medians of each row's throughputs.
//   node scripts/probe-rounds-share.mjs results/probe-rounds-<timestamp>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/probe-rounds-share.mjs <run folder>');
  process.exit(2);
}
const file = join(dir, 'results.json');
const rows = JSON.parse(readFileSync(file, 'utf8')).results.filter((r) => r.stage === 'benchmark');
const ROWS = { vanilla: 'vanilla', gt: 'gt + VBS + FCR', probe: 'seqsch-probe + VBS + FCR' };
const rounds = new Map(); // k → { vanilla, gt, probe } throughputs
for (const r of rows) {
  const m = /^(.*) r(\d+)$/.exec(r.label);
  const kind = m && Object.keys(ROWS).find((k) => ROWS[k] === m[1]);
  if (!kind) continue;
  if (!rounds.has(m[2])) rounds.set(m[2], {});
  rounds.get(m[2])[kind] = r.record.throughput;
}
const full = [...rounds].filter(([, t]) => Object.keys(ROWS).every((k) => typeof t[k] === 'number'));
if (full.length === 0) {
  console.error(`${file}: no round holds all of ${Object.values(ROWS).join(', ')} (labels "<row> r<k>")`);
  process.exit(1);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const line = (name, t) =>
  `| ${name} | ${t.vanilla.toFixed(2)} | ${t.gt.toFixed(2)} | ${t.probe.toFixed(2)} (${(t.probe / t.vanilla).toFixed(2)}×) | ${((100 * (t.probe - t.vanilla)) / (t.gt - t.vanilla)).toFixed(0)} % |`;
console.log(
  "| round | vanilla samples/s | gt + VBS + FCR | seqsch-probe + VBS + FCR (×) | probe's share of the oracle's gain |",
);
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (const [k, t] of full) console.log(line(k, t));
console.log(line('median', Object.fromEntries(Object.keys(ROWS).map((k) => [k, median(full.map(([, t]) => t[k]))]))));
