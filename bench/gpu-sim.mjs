/**
 * `npm run bench:gpu-sim`: how long the GPU serving simulator takes for 100,000 requests with paged KV and chunked
 * prefill (issue 26's goal: ≤ 60 s on this 2-core machine). The workload is the Azure LLM inference 2023
 * conversation trace (data/traces/azure-conv-2023.csv.gz, 19,366 requests) repeated end to end — each copy shifted
 * by the trace's span — until 100,000 requests, replayed at its own times (its mean rate is ~5.4 req/s, near the
 * simulated A100's capacity) through `seqsch serve-bench` (plain Node, dist/). Prints wall time, user + system CPU
 * time (less disturbed by other processes than wall time) and peak memory, for `RUNS` runs (default 3).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const N = Number(process.env.REQUESTS ?? 100000);
const RUNS = Number(process.env.RUNS ?? 3);
const lines = gunzipSync(readFileSync('data/traces/azure-conv-2023.csv.gz')).toString('utf8').trim().split('\n');
const rows = lines.slice(1).map((l) => l.split(','));
const t = (s) => Date.parse(s.replace(' ', 'T').slice(0, 23) + 'Z') / 1000;
const t0 = t(rows[0][0]);
const span = t(rows[rows.length - 1][0]) - t0 + 1;
const out = ['timestamp,prompt_tokens,response_tokens'];
for (let k = 0; out.length <= N; k++)
  for (const r of rows) {
    if (out.length > N) break;
    out.push(`${(t(r[0]) - t0 + k * span).toFixed(3)},${r[1]},${r[2]}`);
  }
const dir = mkdtempSync(join(tmpdir(), 'gpu-sim-bench-'));
const trace = join(dir, 'trace.csv');
writeFileSync(trace, out.join('\n') + '\n');
const args = [
  'bin/seqsch.js',
  'serve-bench',
  '--engine',
  'sim',
  '--trace',
  trace,
  '--trace-requests',
  '--num-data',
  String(N),
  '--arrival',
  'trace',
  '--cost-model',
  'data/costmodels/a100-llama2-7b.json',
  '--batching',
  'chunked',
  '--max-batch',
  '256',
  '--max-length',
  '4096',
  '--recorded-max-length',
  '1000000',
  '--json',
];
console.log(
  `${N} requests (Azure conv 2023 repeated), A100 Llama-2-7B, paged KV, chunked prefill 2048; ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}`,
);
for (let i = 0; i < RUNS; i++) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', process.execPath, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`serve-bench failed: ${r.stderr}`);
  const [wall, user, sys, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  const m = JSON.parse(r.stdout);
  console.log(
    `run ${i + 1}: wall ${wall.toFixed(1)} s, CPU ${(user + sys).toFixed(1)} s, peak ${(kb / 1024).toFixed(0)} MB; ` +
      `${m.num_requests} requests, ${m.throughput.toFixed(2)} req/s simulated, preemptions ${m.preemptions}, KV peak ${m.kv_peak_tokens}`,
  );
}
rmSync(dir, { recursive: true, force: true });
