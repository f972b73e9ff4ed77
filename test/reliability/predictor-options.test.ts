/**
 * Issue 15's flags in the option tables (issue 16's rules): train-predictor's ranking term (--rank-loss,
 * --rank-weight, --rank-gap) and the probe command/stage are refused at the boundary, naming the flag on the CLI and
 * the file, key and line in YAML, before anything is written.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperiment } from '../../src/experiment/config.js';
import { rankTerm } from '../../src/jobs/train-predictor.js';
import { ALPACA } from '../helpers/paths.js';
import { refusedLine } from './helpers.js';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'seqsch-predopt-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TRAIN_PRED = (out: string) => [
  'train-predictor',
  '--data',
  ALPACA.trainData,
  '--lengths',
  ALPACA.trainLengths,
  '--out',
  out,
  '--num-data',
  '64',
  '--backend',
  'wasm',
];
const PROBE = (out: string) => [
  'probe',
  '--model',
  'ckpts/tiny-v3',
  '--data',
  'data/synthetic-v3/train.json',
  '--lengths',
  'data/synthetic-v3/train-length.json',
  '--val-data',
  'data/synthetic-v3/val.json',
  '--val-lengths',
  'data/synthetic-v3/val-length.json',
  '--out',
  out,
  '--predictions',
  join(out, 'p.json'),
  '--backend',
  'wasm',
];

test.each([
  [['--rank-weight', '-1', '--rank-loss', 'listmle'], '--rank-weight', 'expected a number ≥ 0, got -1'],
  [['--rank-loss', 'ranknet'], 'rank-loss', 'Given: "ranknet", Choices: "listmle", "pairwise"'], // yargs' words for choices
  [['--rank-weight', '2'], '--rank-weight', '--rank-weight needs --rank-loss'],
  [
    ['--rank-loss', 'listmle', '--rank-gap', '50'],
    '--rank-gap',
    '--rank-gap applies to --rank-loss pairwise only, got listmle',
  ],
])('train-predictor %j is refused naming the flag, writing nothing', (extra, flag, words) => {
  const out = join(dir, `tp-${flag.replace(/-/g, '')}-${extra[1]}`);
  expect(refusedLine([...TRAIN_PRED(out), ...extra], flag)).toContain(words);
  expect(existsSync(out)).toBe(false);
});

test('the ranking term: defaults, and the stage names its keys', () => {
  expect(rankTerm(undefined, undefined, undefined)).toEqual({});
  expect(rankTerm('listmle', undefined, undefined)).toEqual({ rank: { kind: 'listmle', weight: 1, gap: 16 } });
  expect(rankTerm('pairwise', 0.5, 50)).toEqual({ rank: { kind: 'pairwise', weight: 0.5, gap: 50 } });
  expect(() => rankTerm(undefined, 2, undefined, (k) => k.replace(/-/g, '_'))).toThrow('rank_weight needs rank_loss');
});

test.each([
  [['--folds', '1'], '--folds', 'expected an integer ≥ 2, got 1'],
  [['--layers', '1,x'], '--layers', 'item 2: expected an integer ≥ 0, got "x"'],
  [['--pool', 'max'], 'pool', 'Given: "max", Choices: "last", "mean"'],
  [
    ['--decode', 'q1.2'],
    '--decode',
    'decode rule "q1.2" is not one of median, mean, window50, window100, bucket50 or q<p> with 0 < p < 1',
  ],
])('probe %j is refused naming the flag, writing nothing', (extra, flag, words) => {
  const out = join(dir, `probe-${flag.replace(/-/g, '')}`);
  expect(refusedLine([...PROBE(out), ...extra], flag)).toContain(words);
  expect(existsSync(out)).toBe(false);
});

test('the probe and train-predictor stages: a bad key is refused with its file and line', () => {
  const f = join(dir, 'probe.yaml');
  writeFileSync(
    f,
    `experiment: p\nstages:\n  - stage: probe\n    model: ckpts/tiny-v3\n    data: a.json\n    lengths: b.json\n    val_data: c.json\n    val_lengths: d.json\n    out: ${join(dir, 'p')}\n    predictions: ${join(dir, 'p.json')}\n    folds: 1\n` +
      `  - stage: train-predictor\n    data: a.json\n    lengths: b.json\n    out: ${join(dir, 'tp')}\n    rank_loss: listmle\n    rank_weight: -0.5\n`,
  );
  let msg = '';
  try {
    loadExperiment(f);
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg).toContain(`${f}:11: stages[0].folds: expected an integer ≥ 2, got 1`);
  expect(msg).toContain(`${f}:17: stages[1].rank_weight: expected a number ≥ 0, got -0.5`);
});
