/**
 * Issue 16, cases 5 and 7 (silence): a failed experiment leaves no `.partial` folder, the partial folders of
 * killed runs are removed by the next run (those of live processes and other hosts are left alone), every path
 * written into results.json exists after the run (the calibrate stage's cost_model included), and an experiment
 * whose output goes to a file logs a line per point.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { runExperiment } from '../../src/experiment/runner.js';
import { tmpDirs } from '../helpers/tmp.js';
import { experimentFile, tinyBenchmarkStage, writeTinyTrace } from '../helpers/experiments.js';
import { seqsch } from './helpers.js';

const tmp = tmpDirs('seqsch-rel-left-');

/** A 6-query trace and an experiment file of simulate points over it. */
function simExperiment(dir: string, extra = ''): string {
  const { data, lengths } = writeTinyTrace(dir, [12, 3, 40, 7, 25, 9]);
  return experimentFile(
    dir,
    'sim',
    `  - stage: simulate\n    data: ${data}\n    lengths: ${lengths}\n    batch_size: 2\n    max_length: 64\n${extra}` +
      '    rows:\n      - { label: vanilla, strategy: vanilla }\n      - { label: gt, strategy: gt, vbs: true, fcr: true }\n',
  );
}

/** This host as partial-folder names carry it (src/util/leftovers.ts). */
const HOST = hostname().replace(/[^A-Za-z0-9_.-]+/g, '_');

/** The PID of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

test('a failed experiment leaves no partial folder', async () => {
  const dir = tmp();
  const results = join(dir, 'results');
  await expect(runExperiment(simExperiment(dir, '    num_data: 1000000\n'), { resultsRoot: results })).rejects.toThrow(
    /1000000/,
  );
  expect(existsSync(results) ? readdirSync(results) : []).toEqual([]);
});

test('the next run removes the partial folders of killed runs on this host, not those of live processes or other hosts', async () => {
  const dir = tmp();
  const results = join(dir, 'results');
  const dead = deadPid();
  const names = {
    killedOld: `sim-2026-01-01T00-00-00.partial-${dead}`, // the name format before the host was added
    killed: `other-2026-01-01T00-00-00.partial-${HOST}-${dead}`,
    live: `sim-2026-01-01T00-00-01.partial-${HOST}-${process.pid}`,
    elsewhere: `sim-2026-01-01T00-00-02.partial-some-other-node-${dead}`,
  };
  for (const n of Object.values(names)) mkdirSync(join(results, n, 'benchmark'), { recursive: true });
  const { dir: run } = await runExperiment(simExperiment(dir), { resultsRoot: results });
  expect(readdirSync(results).sort()).toEqual([names.live, names.elsewhere, run.slice(results.length + 1)].sort());
});

test("every path in results.json exists after the run, the calibrate stage's cost_model included", async () => {
  const dir = tmp();
  const f = experimentFile(
    dir,
    'cal',
    `${tinyBenchmarkStage(`    num_data: 8
    batch_size: 4
    group_size: 8
    max_length: 6
    rows:
      - { label: vanilla, strategy: vanilla }
      - { label: gt, strategy: gt }
`)}  - stage: calibrate
    recorded_max_length: 256
    rows:
      - { label: vanilla }
`,
  );
  const { dir: run } = await runExperiment(f, { resultsRoot: join(dir, 'results') });
  const json = JSON.parse(readFileSync(join(run, 'results.json'), 'utf8')) as {
    results: { stage: string; record: Record<string, unknown> }[];
  };
  const paths = json.results
    .flatMap((r) => Object.values(r.record))
    .filter((v): v is string => typeof v === 'string' && (isAbsolute(v) || v.includes('/')));
  const cost = json.results.find((r) => r.stage === 'calibrate')!.record.cost_model;
  expect(cost).toBe(join(run, 'costmodel-calibrated.json'));
  expect(paths.filter((p) => !existsSync(p))).toEqual([]);
});

test('an experiment whose output goes to a file logs a line per point', () => {
  const dir = tmp();
  const r = seqsch(['experiment', simExperiment(dir), '--results', join(dir, 'results')], { NODE_ENV: '' });
  expect(r.status).toBe(0);
  const points = r.stderr.split('\n').filter((l) => /sim: point \d\/2/.test(l));
  expect(points.length).toBe(4); // started and done, per point
  expect(points[0]).toMatch(/^\[\d\d:\d\d:\d\d\] sim: point 1\/2, stages\[0\] simulate "vanilla"/);
});
