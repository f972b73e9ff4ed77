/**
 * scripts/probe-rounds-share.mjs (the per-round table of experiments/probe-rounds.yaml in docs/results.md): on a
 * hand-made results.json, each round's share of the oracle's gain and the medians' row equal hand-worked values;
 * rounds missing a row are left out, and a run without a complete round is refused naming its file.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';

const tmp = tmpDirs('seqsch-rounds-');
const point = (label: string, throughput: number) => ({
  stage: 'benchmark',
  stageIndex: 0,
  label,
  swept: {},
  record: { throughput },
  config: {},
});
const run = (dir: string) =>
  spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/probe-rounds-share.mjs'), dir], { encoding: 'utf8' });

test("per round: (probe − vanilla) / (gt − vanilla); then the same from each row's median throughput", () => {
  const dir = tmp();
  writeFileSync(
    join(dir, 'results.json'),
    JSON.stringify({
      experiment: 'x',
      source: 'x.yaml',
      results: [
        point('vanilla r1', 50),
        point('gt + VBS + FCR r1', 100),
        point('seqsch-probe + VBS + FCR r1', 90), // 80 %, 1.80×
        point('vanilla r2', 60),
        point('gt + VBS + FCR r2', 110),
        point('seqsch-probe + VBS + FCR r2', 105), // 90 %, 1.75×
        point('vanilla r3', 40),
        point('gt + VBS + FCR r3', 90), // no probe row: left out
        point('seqsch + VBS + FCR r1', 70), // another row: ignored
      ],
    }),
  );
  const r = run(dir);
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines.slice(2)).toEqual([
    '| 1 | 50.00 | 100.00 | 90.00 (1.80×) | 80 % |',
    '| 2 | 60.00 | 110.00 | 105.00 (1.75×) | 90 % |',
    // medians of two: vanilla 55, gt 105, probe 97.5 → 42.5 / 50 = 85 %, 97.5 / 55 = 1.77×
    '| median | 55.00 | 105.00 | 97.50 (1.77×) | 85 % |',
  ]);
});

test('a run with no complete round is refused, naming its results.json', () => {
  const dir = tmp();
  writeFileSync(
    join(dir, 'results.json'),
    JSON.stringify({ results: [point('vanilla1', 50), point('gt1', 100), point('probe1', 90)] }),
  );
  const r = run(dir);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(
    `${join(dir, 'results.json')}: no round holds all of vanilla, gt + VBS + FCR, seqsch-probe + VBS + FCR`,
  );
});
