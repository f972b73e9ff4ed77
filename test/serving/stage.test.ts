/**
 * The `serve` experiment stage end to end on the simulator (Alpaca/Vicuna-7B recorded lengths, the H100 cost
 * model, 48 queries): a load sweep of two policies writes per-point timelines, the serving table and the report's
 * latency-vs-load and latency-CDF plots; the capacity a load refers to is measured once and equals the offline
 * FCFS point's throughput; a run that fails midway (a request longer than the KV budget) leaves no results
 * folder that looks complete, only the runner's `.partial-<pid>` one.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runExperiment } from '../../src/experiment/runner.js';
import { readJson } from '../../src/util/fs.js';
import { repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';

const tmp = tmpDirs('seqsch-serve-stage-');

/** A serve stage on the simulator (48 Alpaca queries, H100 cost model, 8 slots), then `extra` keys. */
const stage = (extra: string) => `  - stage: serve
    engine: sim
    data: ${repoPath('data/alpaca/alpaca-val-10k.json.gz')}
    lengths: ${repoPath('data/alpaca/alpaca-val-10k-length.json.gz')}
    cost_model: ${repoPath('data/costmodels/h100-hf-llama7b-fp16.json')}
    num_data: 48
    max_batch: 8
${extra}`;
const base = (extra: string) => `experiment: serve-test\nstages:\n${stage(extra)}`;

test('a load sweep writes timelines, the serving table and the report plots; capacity = the offline FCFS throughput', async () => {
  const dir = tmp();
  const file = join(dir, 'serve.yaml');
  writeFileSync(
    file,
    base(`    rows:
      - { label: fcfs offline }
${stage('')}    arrival: poisson
    sweep: { load: [0.5, 0.9] }
    rows:
      - { label: fcfs }
      - { label: sjf gt, policy: sjf, predictor: oracle }
      - { label: static vanilla, policy: static, predictor: vanilla }
`),
  );
  const { dir: out, results } = await runExperiment(file, { resultsRoot: dir });
  expect(results.map((r) => `${r.label}|${r.swept.load ?? ''}`)).toEqual([
    'fcfs offline|',
    'fcfs|0.5',
    'sjf gt|0.5',
    'static vanilla|0.5',
    'fcfs|0.9',
    'sjf gt|0.9',
    'static vanilla|0.9',
  ]);
  const capacity = results[0].record.throughput as number;
  for (const r of results.slice(1)) {
    expect(r.record.capacity).toBe(capacity);
    expect(r.record.rate).toBeCloseTo((r.swept.load as number) * capacity, 12);
  }
  const point = readJson<{
    records: { finish: number; arrival: number }[];
    calls: unknown[];
    metrics: { latency_mean: number };
  }>(join(out, 'serve', 'sjf_gt_load_0.9.json'));
  expect(point.records.length).toBe(48);
  expect(point.calls.length).toBeGreaterThan(48);
  expect(point.metrics.latency_mean).toBeCloseTo(point.records.reduce((s, r) => s + r.finish - r.arrival, 0) / 48, 9);
  const table = readFileSync(join(out, 'table.md'), 'utf8');
  expect(table).toContain('| Row | load | Engine | Max batch | Arrival | Rate (req/s) | Thr (req/s) |');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  expect(html).toContain('<h3>Latency vs load</h3>');
  expect(html).toContain('<h3>Latency CDF</h3>');
  expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(2);
});

test('a run that fails midway leaves no complete-looking results folder', async () => {
  const dir = tmp();
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    base(`    rows:
      - { label: fine }
      - { label: too small, kv_budget: 100 }
`),
  );
  await expect(runExperiment(file, { resultsRoot: dir })).rejects.toThrow(
    /needs \d+ KV tokens .* more than the KV budget of 100/,
  );
  // the run folder (src/experiment/run-folder.ts) removes a failed run's partial folder: nothing is left
  expect(readdirSync(dir).filter((f) => f !== 'bad.yaml')).toEqual([]);
});
