import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../../src/core/backend.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { train, type TrainOptions } from '../../src/training/trainer.js';
import type { LogEntry } from '../../src/training/checkpoint.js';
import { Toy, toyTrainOptions as options, TOY_EXAMPLES as EXAMPLES } from './toy.js';
import { tmpDirs } from '../helpers/tmp.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const HERE = dirname(fileURLToPath(import.meta.url));
const tmp = tmpDirs('seqsch-train-');

/** Everything in a log row except wall-clock time. */
const curve = (h: LogEntry[]) => h.map(({ seconds: _s, ...rest }) => rest);

function readCsv(dir: string): string[][] {
  return readFileSync(join(dir, 'log.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
}

describe('train', () => {
  let reference: { params: number[][]; history: LogEntry[] };

  beforeAll(async () => {
    const toy = new Toy(1);
    const res = await train(options(toy, tmp()));
    reference = { params: toy.snapshot(), history: res.history };
    toy.dispose();
  });

  test('runs the planned steps with the schedule and lowers the loss', () => {
    const h = reference.history;
    expect(h.map((e) => e.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(h[0].lr).toBe(0); // warmup: the first update has lr 0, as in HF
    expect(h[1].lr).toBeCloseTo(0.025, 12); // 1/2 of peak
    expect(h[2].lr).toBe(0.05);
    expect(h[3].epoch).toBe(1);
    expect(h[11].epoch).toBe(3);
    expect(h.at(-1)!.tokens).toBe(3 * EXAMPLES.reduce((n, e) => n + e.ids.length, 0));
    const firstEpoch = h.slice(0, 4).reduce((a, e) => a + e.loss, 0) / 4;
    const lastEpoch = h.slice(8).reduce((a, e) => a + e.loss, 0) / 4;
    expect(lastEpoch).toBeLessThan(0.8 * firstEpoch);
  });

  test('killed mid-run and resumed, the final weights and the loss curve equal an uninterrupted run', async () => {
    const out = tmp();
    const killed = new Toy(1);
    // "kill" at step 7 (after its CSV row, before anything else); the newest checkpoint is step 6
    await expect(
      train(
        options(killed, out, {
          saveEvery: 3,
          onLog: (e) => {
            if (e.step === 7) throw new Error('simulated kill');
          },
        }),
      ),
    ).rejects.toThrow('simulated kill');
    expect(readCsv(out).length).toBe(1 + 7); // the curve on disk survived the kill
    killed.dispose();

    const fresh = new Toy(1); // a new process starts from the initial weights, then loads the checkpoint
    const res = await train(options(fresh, out, { saveEvery: 3 }));
    expect(res.resumedFrom).toBe(6);
    expect(res.finished).toBe(true);
    // wasm runs single-threaded and deterministically: bit-identical weights and losses
    expect(fresh.snapshot()).toEqual(reference.params);
    expect(curve(res.history)).toEqual(curve(reference.history));
    // the CSV was cut back to the checkpoint and continued: steps 1..12 once each
    const rows = readCsv(out);
    expect(rows[0]).toEqual(['step', 'epoch', 'loss', 'lr', 'grad_norm', 'tokens', 'seconds']);
    expect(rows.slice(1).map((r) => Number(r[0]))).toEqual(reference.history.map((e) => e.step));
    expect(rows.slice(1).map((r) => Number(r[2]))).toEqual(reference.history.map((e) => e.loss));
    expect(
      readdirSync(out)
        .filter((n) => n.startsWith('checkpoint-'))
        .sort(),
    ).toEqual(['checkpoint-12', 'checkpoint-3', 'checkpoint-6', 'checkpoint-9']);
    fresh.dispose();
  });

  test('a process killed with SIGKILL mid-run resumes to the same weights and curve', async () => {
    const out = tmp();
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'kill-child.ts'), out], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<string | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (/step 7\n/.test(stdout)) {
          child.kill('SIGKILL');
          res();
        }
      });
      child.on('exit', () => rej(new Error(`child exited before step 7: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');

    const toy = new Toy(1);
    const res = await train(options(toy, out, { saveEvery: 2 }));
    // the newest complete checkpoint is step 6 or 8, depending on where the kill landed
    expect([6, 8]).toContain(res.resumedFrom);
    expect(toy.snapshot()).toEqual(reference.params);
    expect(curve(res.history)).toEqual(curve(reference.history));
    expect(
      readCsv(out)
        .slice(1)
        .map((r) => Number(r[0])),
    ).toEqual(reference.history.map((e) => e.step));
    toy.dispose();
  });

  test('stopAtStep checkpoints and stops; a finished run found in outDir is not trained again', async () => {
    const out = tmp();
    const toy = new Toy(1);
    const first = await train(options(toy, out, { stopAtStep: 5, keepCheckpoints: 1 }));
    expect([first.step, first.finished]).toEqual([5, false]);
    const second = await train(options(toy, out, { keepCheckpoints: 1 }));
    expect(toy.snapshot()).toEqual(reference.params);
    expect(readdirSync(out).filter((n) => n.startsWith('checkpoint-'))).toEqual(['checkpoint-12']);
    let called = 0;
    const third = await train(
      options(toy, out, {
        lossFn: (b) => {
          called++;
          return toy.loss(b);
        },
      }),
    );
    expect([called, third.step, third.resumedFrom]).toEqual([0, 12, 12]);
    expect(curve(second.history)).toEqual(curve(third.history));
    toy.dispose();
  });

  test('a leftover temporary checkpoint from a kill during saving is ignored and removed', async () => {
    const out = tmp();
    mkdirSync(join(out, '.tmp-checkpoint-4-999'), { recursive: true });
    const toy = new Toy(1);
    const res = await train(options(toy, out, { stopAtStep: 1 }));
    expect(res.resumedFrom).toBe(0);
    expect(existsSync(join(out, '.tmp-checkpoint-4-999'))).toBe(false);
    toy.dispose();
  });

  test('resuming with a different setting is refused naming it', async () => {
    const out = tmp();
    const toy = new Toy(1);
    await train(options(toy, out, { stopAtStep: 1 }));
    await expect(train(options(toy, out, { batchSize: 3 }))).rejects.toThrow(
      /checkpoint-1\/trainer_state\.json: cannot resume, 'batchSize' was 2 .* is 3/,
    );
    toy.dispose();
  });

  test('a NaN loss stops training with an error naming the step', async () => {
    const toy = new Toy(1);
    const lossFn: TrainOptions['lossFn'] = (b, m) =>
      m.step === 3 ? tf.tidy(() => tf.mul(toy.loss(b), NaN)) : toy.loss(b);
    await expect(train(options(toy, tmp(), { lossFn }))).rejects.toThrow(/diverged at optimizer step 3 .*loss is NaN/);
    toy.dispose();
  });

  test('a non-finite gradient with a finite loss stops training naming the step', async () => {
    const toy = new Toy(1);
    // sqrt(0·Σw²) is 0 but its gradient is 0·∞ = NaN
    const lossFn: TrainOptions['lossFn'] = (b, m) =>
      m.step === 2 ? tf.tidy(() => tf.add(toy.loss(b), tf.sqrt(tf.mul(tf.sum(tf.square(toy.out)), 0)))) : toy.loss(b);
    await expect(train(options(toy, tmp(), { lossFn }))).rejects.toThrow(
      /diverged at optimizer step 2 .*gradient norm is NaN/,
    );
    toy.dispose();
  });

  test('no tensor leaks across training steps', async () => {
    const toy = new Toy(1);
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    await train(options(toy, tmp(), { epochs: 1, onLog: () => void counts.push(tf.memory().numTensors) }));
    expect(counts.length).toBe(4);
    expect(new Set(counts).size).toBe(1); // the same count after every step
    expect(tf.memory().numTensors).toBe(before); // and the optimizer state is released at the end
    toy.dispose();
  });

  test('accumulating 2 micro-batches of 1 equals one batch of 2 when rows have equal target counts', async () => {
    const same = Array.from({ length: 4 }, (_, i) => ({ ids: [1, 2 + i, 3, 4], labelMask: [0, 0, 1, 1] }));
    const a = new Toy(5);
    const b = new Toy(5);
    const ra = await train(options(a, tmp(), { examples: same, batchSize: 2, gradAccum: 1, epochs: 1 }));
    const rb = await train(options(b, tmp(), { examples: same, batchSize: 1, gradAccum: 2, epochs: 1 }));
    // the step loss and gradient are averages over micro-batches, not sums (Adam alone would hide a factor 2)
    expect(rb.history.length).toBe(2);
    rb.history.forEach((e, i) => {
      expect(Math.abs(e.loss - ra.history[i].loss)).toBeLessThan(1e-6);
      expect(Math.abs(e.grad_norm - ra.history[i].grad_norm)).toBeLessThan(1e-6);
    });
    // same math, different float32 summation order: agreement to ~1e-7 on O(1) weights
    a.snapshot().forEach((w, i) => w.forEach((x, j) => expect(Math.abs(x - b.snapshot()[i][j])).toBeLessThan(1e-6)));
    a.dispose();
    b.dispose();
  });
});
