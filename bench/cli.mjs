/**
 * `npm run bench:cli`: wall time and peak memory of the CLI's start, median of 5 runs each (plain Node, no tsx):
 * `seqsch --help`, and `seqsch simulate` on the paper's setting (1024 Alpaca val queries, gt + VBS + FCR) —
 * the two figures issue 13 sets goals for (≤ 0.5 s and ≤ 2 s on 2 cores). The same two through tsx
 * (SEQSCH_TSX=1, the no-build fallback) are printed beside them for comparison. Run it on an idle machine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

const RUNS = Number(process.env.RUNS ?? 5);
const SIM = [
  'simulate',
  '--data',
  'data/alpaca/alpaca-val-10k.json.gz',
  '--lengths',
  'data/alpaca/alpaca-val-10k-length.json.gz',
  '--num-data',
  '1024',
  '--seed',
  '42',
  '--strategy',
  'gt',
  '--vbs',
  '--fcr',
];
const cases = [
  { name: 'seqsch --help', args: ['--help'], env: {} },
  { name: 'seqsch simulate (1024 queries, gt+VBS+FCR)', args: SIM, env: {} },
  { name: 'seqsch --help (tsx fallback)', args: ['--help'], env: { SEQSCH_TSX: '1' } },
  { name: 'seqsch simulate (tsx fallback)', args: SIM, env: { SEQSCH_TSX: '1' } },
];

const HAVE_TIME = existsSync('/usr/bin/time');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
spawnSync(process.execPath, ['bin/seqsch.js', '--help']); // dist/ up to date before timing
console.log(
  `${cpus().length} × ${cpus()[0].model}, node ${process.version}, load ${loadavg()[0].toFixed(2)}; median of ${RUNS}`,
);
console.log('| command | median (s) | min–max (s) | peak RSS (MB) |\n| --- | ---: | ---: | ---: |');
const summary = {};
for (const c of cases) {
  const secs = [];
  let rss = 0;
  for (let i = 0; i < RUNS; i++) {
    // GNU time prints the child's peak RSS (KB) as the last stderr line; without it only times are reported
    const argv = [process.execPath, 'bin/seqsch.js', ...c.args];
    const t0 = performance.now();
    const r = HAVE_TIME
      ? spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { env: { ...process.env, ...c.env }, encoding: 'utf8' })
      : spawnSync(argv[0], argv.slice(1), { env: { ...process.env, ...c.env }, encoding: 'utf8' });
    secs.push((performance.now() - t0) / 1000);
    if (r.status !== 0) throw new Error(`${c.name}: exit ${r.status}\n${r.stderr}`);
    if (HAVE_TIME) rss = Math.max(rss, Number(r.stderr.trim().split('\n').pop()) / 1024);
  }
  summary[c.name] = median(secs);
  console.log(
    `| ${c.name} | ${median(secs).toFixed(2)} | ${Math.min(...secs).toFixed(2)}–${Math.max(...secs).toFixed(2)} | ${HAVE_TIME ? rss.toFixed(0) : '—'} |`,
  );
}
console.log(JSON.stringify(summary));
