/**
 * Issue 16, case 4 (and 1's bad flags, 6's unknown strategy): nonsense numbers are refused at the boundary,
 * naming the flag on the CLI and the file, key and line in a YAML experiment, with the same words on both
 * surfaces (one option table per command derives both).
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperiment } from '../../src/experiment/config.js';
import { ALPACA } from '../helpers/paths.js';
import { fixtureLogitsArgs, tinyTrainArgs } from '../helpers/cli.js';
import { lines, refusedLine, seqsch } from './helpers.js';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'seqsch-valid-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SIM = ['simulate', '--data', ALPACA.valData, '--lengths', ALPACA.valLengths, '--json'];
const TRAIN = tinyTrainArgs(2);

test.each([
  [['--batch-size', '1.5'], '--batch-size', 'expected an integer ≥ 1, got 1.5'],
  [['--recorded-max-length', '0'], '--recorded-max-length', 'expected an integer ≥ 1, got 0'],
  [['--num-data', '2.5'], '--num-data', 'expected an integer ≥ 1, got 2.5'],
])('simulate %j is refused naming the flag', (extra, flag, words) => {
  expect(refusedLine([...SIM, ...extra], flag)).toContain(words);
});

test.each([
  [['--lora-dropout', '2'], '--lora-dropout', 'expected a number ≥ 0 and < 1, got 2'],
  [['--lr', 'fast'], '--lr', 'expected a number > 0 and ≤ 1, got "fast"'],
  [['--max-length', '-1'], '--max-length', 'expected an integer ≥ 2, got -1'],
])('train %j is refused before any training, naming the flag', (extra, flag, words) => {
  const out = join(dir, `train-${flag.slice(2)}-${extra[1]}`);
  expect(refusedLine([...TRAIN, '--out', out, ...extra], flag)).toContain(words);
  expect(existsSync(out)).toBe(false);
});

test('logits --greedy -2 is refused and writes nothing', () => {
  const out = join(dir, 'greedy.safetensors');
  const args = [...fixtureLogitsArgs(out), '--greedy', '-2'];
  expect(refusedLine(args, '--greedy')).toContain('expected an integer ≥ 0, got -2');
  expect(existsSync(out)).toBe(false);
});

test('an unknown strategy is a short error naming the flag, not the whole help', () => {
  const r = seqsch([...SIM, '--strategy', 'fastest']);
  expect(r.status).toBe(1);
  expect(lines(r.stderr).length).toBeLessThanOrEqual(4);
  expect(r.stderr).toContain('strategy');
  expect(r.stderr).toContain('fastest');
});

describe('the YAML side of the same tables', () => {
  const yaml = (name: string, body: string) => {
    const f = join(dir, name);
    writeFileSync(f, body);
    return f;
  };
  const error = (f: string) => {
    try {
      loadExperiment(f);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error(`${f} was accepted`);
  };

  test('simulate batch_size 1.5: file:line and the words the CLI uses', () => {
    const f = yaml(
      'bs.yaml',
      `experiment: bs\nstages:\n  - stage: simulate\n    data: ${ALPACA.valData}\n    lengths: ${ALPACA.valLengths}\n    batch_size: 1.5\n`,
    );
    const cli = refusedLine([...SIM, '--batch-size', '1.5'], '--batch-size');
    const words = cli.slice(cli.indexOf('--batch-size: ') + '--batch-size: '.length);
    expect(error(f)).toContain(`${f}:6: stages[0].batch_size: ${words}`);
  });

  test('train lora_dropout 1 (tfjs needs < 1) and num_data 2.5 are refused with their lines', () => {
    const f = yaml(
      'train.yaml',
      `experiment: tr\nstages:\n  - stage: train\n    model: ckpts/tiny-v3\n    data: data/synthetic-v3/train-instruct.json\n    out: ${join(dir, 'never')}\n    lora_dropout: 1\n    num_data: 2.5\n`,
    );
    const msg = error(f);
    expect(msg).toContain(`${f}:7: stages[0].lora_dropout: expected a number ≥ 0 and < 1, got 1`);
    expect(msg).toContain(`${f}:8: stages[0].num_data: expected an integer ≥ 1, got 2.5`);
  });

  test('lenpred temperatures: a bad item is named', () => {
    const f = yaml(
      'temps.yaml',
      `experiment: t\nstages:\n  - stage: lenpred\n    model: ckpts/tiny-v3\n    data: data/synthetic-v3/val.json\n    out: ${join(dir, 'x.json')}\n    temperatures: [0, -0.5]\n`,
    );
    expect(error(f)).toContain(`${f}:7: stages[0].temperatures: item 2: expected a number ≥ 0, got -0.5`);
  });
});
