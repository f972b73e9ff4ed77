/**
 * Issue 27, case 3: side files. A serve label repeated across stages (serving-smoke's real-engine rows) kept one
 * `serve/<label>.json` and lost the others; now every point's side-file name is unique in its experiment (one
 * helper, src/util/side-files.ts, for serve and benchmark) and the same in a full run and in the shards. A shard
 * folder of another configuration is refused, not replaced; `--shard -1/3` gets an error naming the flag.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runExperiment } from '../../src/experiment/runner.js';
import { runPart } from '../../src/experiment/sweep.js';
import { sideFileNames } from '../../src/util/side-files.js';
import { repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';
import { listTree, refusedLine, sha256 } from './helpers.js';

const tmp = tmpDirs('seqsch-rel-side-');

/** Two serve stages on the simulator (8 synthetic-v3 queries) whose rows repeat labels, as serving-smoke's do. */
const servingYaml = (maxBatch2: number) => `experiment: side
stages:
  - stage: serve
    engine: sim
    data: ${repoPath('data/synthetic-v3/val.json')}
    lengths: ${repoPath('data/synthetic-v3/val-length.json')}
    num_data: 8
    max_batch: 4
    rows:
      - { label: fcfs offline }
      - { label: sjf gt offline, policy: sjf, predictor: oracle }
  - stage: serve
    engine: sim
    data: ${repoPath('data/synthetic-v3/val.json')}
    lengths: ${repoPath('data/synthetic-v3/val-length.json')}
    num_data: 8
    max_batch: ${maxBatch2}
    rows:
      - { label: fcfs offline }
      - { label: sjf gt offline, policy: sjf, predictor: oracle }
      - { label: fcfs offline, seed: 1 }
`;

test('names: label and sweep values; a repeat anywhere in the experiment numbered in file order', () => {
  expect(
    sideFileNames([
      { label: 'gt + VBS', swept: { batch_size: 2 } },
      { label: 'fcfs offline', swept: {} },
      { label: 'gt + VBS', swept: { batch_size: 2 } },
      { label: 'fcfs offline', swept: {} },
      { label: 'fcfs offline', swept: {} },
      { label: '///', swept: {} },
    ]),
  ).toEqual([
    'gt_VBS_batch_size_2',
    'fcfs_offline',
    'gt_VBS_batch_size_2-2',
    'fcfs_offline-2',
    'fcfs_offline-3',
    'row',
  ]);
});

test('a serve label repeated across stages keeps one timeline per point, each holding its own config', async () => {
  const dir = tmp();
  const file = join(dir, 'side.yaml');
  writeFileSync(file, servingYaml(2));
  const { dir: run, results } = await runExperiment(file, { resultsRoot: join(dir, 'results') });
  const files = readdirSync(join(run, 'serve')).sort();
  expect(files).toEqual([
    'fcfs_offline-2.json',
    'fcfs_offline-3.json',
    'fcfs_offline.json',
    'sjf_gt_offline-2.json',
    'sjf_gt_offline.json',
  ]);
  const point = (f: string) =>
    JSON.parse(readFileSync(join(run, 'serve', f), 'utf8')) as { config: { max_batch: number; seed: number } };
  expect(['fcfs_offline', 'fcfs_offline-2', 'fcfs_offline-3'].map((n) => point(`${n}.json`).config)).toMatchObject([
    { max_batch: 4, seed: 42 },
    { max_batch: 2, seed: 42 },
    { max_batch: 2, seed: 1 },
  ]);
  expect(results).toHaveLength(5);

  // the shards of the same experiment name each point's file as the full run does
  const shards = await Promise.all(
    [0, 1].map(async (k) => {
      const p = await runPart(file, { kind: 'shard', index: k, count: 2 }, { resultsRoot: join(dir, 'sweep') });
      return readdirSync(join(p.dir, 'serve'));
    }),
  );
  expect(shards.flat().sort()).toEqual(files);
}, 60_000);

test('a shard folder of another configuration is refused naming the folder and what differs, and left as it was', async () => {
  const dir = tmp();
  const file = join(dir, 'side.yaml');
  writeFileSync(file, servingYaml(2));
  const root = join(dir, 'sweep');
  const { dir: shard } = await runPart(file, { kind: 'shard', index: 0, count: 3 }, { resultsRoot: root });
  const before = Object.fromEntries(
    listTree(shard)
      .filter((f) => !f.endsWith('/'))
      .map((f) => [f, sha256(join(shard, f))]),
  );
  writeFileSync(file, servingYaml(3)); // stages[1].max_batch edited
  await expect(runPart(file, { kind: 'shard', index: 0, count: 3 }, { resultsRoot: root })).rejects.toThrow(
    `${shard}: holds this part of another configuration (stages [1] differ; content hash`,
  );
  const after = Object.fromEntries(
    listTree(shard)
      .filter((f) => !f.endsWith('/'))
      .map((f) => [f, sha256(join(shard, f))]),
  );
  expect(after).toEqual(before);
  expect(readdirSync(root)).toEqual(['side-shard-0of3']); // no partial folder or lock left behind
  // the same configuration reruns its part (and replaces the folder, as before)
  writeFileSync(file, servingYaml(2));
  await runPart(file, { kind: 'shard', index: 0, count: 3 }, { resultsRoot: root });
}, 60_000);

test('--shard -1/3 is read as the flag value and refused naming it', () => {
  const line = refusedLine(['experiment', repoPath('experiments/serving-smoke.yaml'), '--shard', '-1/3'], '--shard');
  expect(line).toBe('seqsch: --shard -1/3: expected INDEX/COUNT, e.g. --shard 0/3 (indices start at 0)');
});
