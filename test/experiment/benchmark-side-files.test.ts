/**
 * The benchmark stage's per-point side files (`<run>/benchmark/*.json`: trace and per-query results): one per point,
 * named by the row label and the sweep's values, a repeated label numbered — none overwrites another (the ablation
 * experiments sweep one row over several values).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runExperiment } from '../../src/experiment/runner.js';
import { experimentFile, tinyBenchmarkStage } from '../helpers/experiments.js';
import { tmpDirs } from '../helpers/tmp.js';

const tmp = tmpDirs('seqsch-side-');

test('a swept row and a repeated label each keep their own side file, holding their own config', async () => {
  const dir = tmp();
  const f = experimentFile(
    dir,
    'side',
    tinyBenchmarkStage(`    num_data: 4
    group_size: 4
    max_length: 4
    sweep:
      batch_size: [2, 4]
    rows:
      - { label: gt + VBS, strategy: gt, vbs: true }
      - { label: gt + VBS, strategy: gt, vbs: true, fcr: true }
`),
  );
  const { dir: run } = await runExperiment(f, { resultsRoot: join(dir, 'results') });
  const files = readdirSync(join(run, 'benchmark')).sort();
  expect(files).toEqual([
    'gt_VBS_batch_size_2-2.json',
    'gt_VBS_batch_size_2.json',
    'gt_VBS_batch_size_4-2.json',
    'gt_VBS_batch_size_4.json',
  ]);
  const side = (name: string) =>
    JSON.parse(readFileSync(join(run, 'benchmark', name), 'utf8')) as {
      config: { batch_size: number; fcr: boolean };
      items: unknown[];
    };
  const configs = files
    .map((n) => side(n).config)
    .map((c) => `${c.batch_size} ${c.fcr}`)
    .sort();
  expect(configs).toEqual(['2 false', '2 true', '4 false', '4 true']);
  for (const n of files) expect(side(n).items).toHaveLength(4);
});
