/**
 * Issue 16, acceptance: SIGKILL at several points of `seqsch train`, of a rerun on a finished folder and of
 * `seqsch experiment`, each followed by the next run. After every kill: no log lost, nothing half-written that
 * looks complete (a train_done.json always vouches for files that match it; a results folder without `.partial`
 * in its name always holds every file); after the next run: the work finished and no `.partial`, `.next-`,
 * `.prev`, temporary or checkpoint leftovers. Kill points are conditions on the files (polled every 10 ms);
 * where the process ended before one held, the invariants are checked all the same.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALPACA } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';
import { tinyTrainArgs } from '../helpers/cli.js';
import { killWhen, listTree, loggedSteps, seqsch, sha256 } from './helpers.js';

const tmp = tmpDirs('seqsch-rel-kill-');
const STEPS = 8;
const train = (out: string, extra: string[] = []) => [
  ...tinyTrainArgs(2 * STEPS),
  '--save-every',
  '2',
  '--out',
  out,
  '--skip-if-done',
  ...extra,
];

/** A train_done.json, when present, vouches for its files: every recorded sha256 matches and the log holds every step once. */
function checkDone(out: string): boolean {
  const file = join(out, 'train_done.json');
  if (!existsSync(file)) return false;
  const done = JSON.parse(readFileSync(file, 'utf8')) as { outputs: Record<string, string> };
  for (const [f, h] of Object.entries(done.outputs)) expect([f, sha256(join(out, f))]).toEqual([f, h]);
  expect(loggedSteps(join(out, 'log.csv'))).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
  return true;
}

/** An unfinished run's log holds steps 1..k once each, in order. */
function checkLog(csv: string): number {
  const steps = loggedSteps(csv);
  expect(steps).toEqual(steps.map((_, i) => i + 1));
  return steps.length;
}

const leftovers = (parent: string) =>
  listTree(parent).filter((p) => /\.partial|\.next-|\.prev|\.tmp-|checkpoint-/.test(p));

test('kill -9 during seqsch train (twice) and during a rerun on the finished folder (three times); each next run resumes; the last finishes clean', async () => {
  const parent = tmp();
  const out = join(parent, 'lora');
  const rows = () => loggedSteps(join(out, 'log.csv')).length;
  const outcomes: string[] = [];
  const points = [
    () => existsSync(join(out, 'checkpoint-2')),
    () => existsSync(join(out, 'adapter_model.safetensors')) || rows() >= STEPS - 1,
  ];
  for (const when of points) {
    const r = await killWhen(train(out), when);
    outcomes.push(r.outcome);
    if (!checkDone(out)) checkLog(join(out, 'log.csv')); // steps 1..k of the weights on disk (a resume cuts back to its checkpoint)
    if (r.outcome === 'exited') expect([r.status, r.stderr]).toEqual([0, r.stderr]);
  }
  expect(outcomes).toEqual(['killed', 'killed']); // the kills did land mid-run
  const last = seqsch(train(out));
  expect([last.status, last.stderr]).toEqual([0, last.stderr]);
  expect(checkDone(out)).toBe(true);
  expect(leftovers(parent)).toEqual([]);

  // ---- a rerun with other options on the finished folder: OUT stays the old result until the new one swaps in
  const before = Object.fromEntries(readdirSync(out).map((f) => [f, sha256(join(out, f))]));
  const staged = () => readdirSync(parent).find((n) => n.startsWith('lora.next-'));
  const stagedRows = () => (staged() ? loggedSteps(join(parent, staged()!, 'log.csv')).length : 0);
  const rerun = train(out, ['--lr', '2e-3']);
  for (const when of [
    () => stagedRows() >= 2,
    () => stagedRows() >= 6,
    () =>
      existsSync(`${out}.prev`) || (staged() !== undefined && existsSync(join(parent, staged()!, 'train_done.json'))),
  ]) {
    const r = await killWhen(rerun, when);
    outcomes.push(r.outcome);
    expect(existsSync(out) || existsSync(`${out}.prev`)).toBe(true); // mid-swap at worst: the next run finishes the swap
    if (existsSync(out)) {
      const now = Object.fromEntries(readdirSync(out).map((f) => [f, sha256(join(out, f))]));
      if (JSON.stringify(now) !== JSON.stringify(before)) expect(checkDone(out)).toBe(true); // the old result, or the new one complete
    }
    if (r.outcome === 'exited') expect([r.status, r.stderr]).toEqual([0, r.stderr]);
  }
  expect(outcomes.slice(2).filter((o) => o === 'killed').length).toBeGreaterThanOrEqual(2);
  const fin = seqsch(rerun);
  expect([fin.status, fin.stderr]).toEqual([0, fin.stderr]);
  expect(checkDone(out)).toBe(true);
  expect(JSON.parse(readFileSync(join(out, 'train_done.json'), 'utf8')).config.lr).toBe(2e-3);
  expect(leftovers(parent)).toEqual([]);
});

test('kill -9 during seqsch experiment (running points; writing the results files): no complete-looking half result; the next run leaves no .partial or .lock', async () => {
  const dir = tmp();
  const results = join(dir, 'results');
  const yaml = join(dir, 'sim.yaml');
  writeFileSync(
    yaml,
    `experiment: sim\nstages:\n  - stage: simulate\n    data: ${ALPACA.valData}\n    lengths: ${ALPACA.valLengths}\n    num_data: 1024\n` +
      '    rows:\n      - { label: vanilla, strategy: vanilla }\n      - { label: gt, strategy: gt, vbs: true, fcr: true }\n',
  );
  const outcomes: string[] = [];
  const partial = () => (existsSync(results) ? readdirSync(results).find((n) => n.includes('.partial-')) : undefined);
  const inPartial = (f: string) => partial() !== undefined && existsSync(join(results, partial()!, f));
  const FILES = ['config.yaml', 'provenance.json', 'report.html', 'results.csv', 'results.json', 'table.md'];
  // run folders: a killed run also leaves its folder's lock (`<run>.lock`, src/util/lock.ts) until the next run
  const complete = () =>
    existsSync(results) ? readdirSync(results).filter((n) => !n.includes('.partial-') && !n.endsWith('.lock')) : [];
  for (const when of [() => partial() !== undefined, () => inPartial('results.json')]) {
    const r = await killWhen(['experiment', yaml, '--results', results], when);
    outcomes.push(r.outcome);
    for (const run of complete()) expect([run, readdirSync(join(results, run)).sort()]).toEqual([run, FILES]);
    if (r.outcome === 'exited') expect([r.status, r.stderr]).toEqual([0, r.stderr]);
  }
  expect(outcomes).toEqual(['killed', 'killed']);
  const last = seqsch(['experiment', yaml, '--results', results]);
  expect([last.status, last.stderr]).toEqual([0, last.stderr]);
  expect(readdirSync(results).filter((n) => n.includes('.partial') || n.endsWith('.lock'))).toEqual([]);
  for (const run of complete()) expect(readdirSync(join(results, run)).sort()).toEqual(FILES);
});
