/**
 * Issue 16, cases 1–3 in process: a broken training run is never saved as a success (bad lr, diverged or
 * saturated weights, a max length that leaves no answer token), the summary says when the loss did not move,
 * and a finished folder whose result files changed is trained again rather than reused. LoRA on ckpts/tiny-v3,
 * 1–8 optimizer steps of batch 2.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { SafetensorsFile } from '../../src/model/safetensors.js';
import { runTrainJob, type TrainJob } from '../../src/training/run.js';
import { TRAIN_DEFAULTS } from '../../src/training/defaults.js';
import { repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';
import { loggedSteps, sha256 } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});
const tmp = tmpDirs('seqsch-rel-train-');

/** LoRA on the tiny model: `n` conversations, batch 2, one micro-batch per step, one epoch (n / 2 steps). */
function job(out: string, over: Partial<TrainJob> = {}, n = 4): TrainJob {
  return {
    ...TRAIN_DEFAULTS,
    model: repoPath('ckpts/tiny-v3'),
    data: [repoPath('data/synthetic-v3/train-instruct.json')],
    numData: n,
    out,
    batchSize: 2,
    gradAccum: 1,
    epochs: 1,
    lr: 1e-3,
    backend: 'wasm',
    ...over,
  };
}
const done = (out: string) => existsSync(join(out, 'train_done.json'));

test.each([NaN, Infinity, 0, -1])('lr %p is refused before training; nothing is marked done', async (lr) => {
  const out = join(tmp(), 'run');
  await expect(runTrainJob(job(out, { lr }, 2))).rejects.toThrow(/lr must be a finite number > 0/);
  expect(done(out)).toBe(false);
});

test('lr 1e9 saturates the model: stopped on the zero gradient, nothing marked done, the log kept', async () => {
  const out = join(tmp(), 'run');
  await expect(runTrainJob(job(out, { lr: 1e9 }, 16))).rejects.toThrow(/gradient norm has been 0 for 3 steps/);
  expect(done(out)).toBe(false);
  expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(false);
  expect(loggedSteps(join(out, 'log.csv')).length).toBeGreaterThanOrEqual(3); // the steps that led there are on record
});

test('lr 3e38 overflows the weights: stopped naming the step; the checkpoint before stays, nothing marked done', async () => {
  const out = join(tmp(), 'run');
  await expect(runTrainJob(job(out, { lr: 3e38, maxGradNorm: 0, saveEvery: 1 }, 8))).rejects.toThrow(
    /training (stopped|diverged) at optimizer step \d+/,
  );
  expect(done(out)).toBe(false);
  expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(false);
  expect(existsSync(join(out, 'checkpoint-1', 'adapter_model.safetensors'))).toBe(true); // step 1 (lr 0 in warmup) is the last good state
  // no checkpoint on disk holds a non-finite weight (a resume would start from it)
  for (const c of readdirSync(out).filter((n) => n.startsWith('checkpoint-'))) {
    const st = SafetensorsFile.open(join(out, c, 'adapter_model.safetensors'));
    const values = st.names().flatMap((n) => Array.from(st.read(n).data));
    st.close();
    expect([c, values.every(Number.isFinite)]).toEqual([c, true]);
  }
});

test('a max length that cuts every answer away is an error, not a training on nothing', async () => {
  const out = join(tmp(), 'run');
  await expect(runTrainJob(job(out, { maxLength: 3 }, 2))).rejects.toThrow(
    /max length 3 .* leaves 2 of 2 examples without any answer token/,
  );
  expect(done(out)).toBe(false);
});

test('the summary says whether the loss moved', async () => {
  const flat = await runTrainJob(job(join(tmp(), 'flat'), { lr: 1e-12, warmupRatio: 0 }, 6));
  expect(flat.summary.lossMoved).toBe(false);
  const moved = await runTrainJob(job(join(tmp(), 'moved'), { lr: 1e-2, warmupRatio: 0 }, 6));
  expect(moved.summary.lossMoved).toBe(true);
});

test('a finished folder whose adapter changed is trained again, not reused by skip-if-done', async () => {
  const out = join(tmp(), 'run');
  const first = await runTrainJob(job(out), { skipIfDone: true });
  expect(first.skipped).toBe(false);
  const adapter = join(out, 'adapter_model.safetensors');
  const good = sha256(adapter);
  expect((await runTrainJob(job(out), { skipIfDone: true })).skipped).toBe(true);
  const bytes = readFileSync(adapter);
  bytes[bytes.length - 1] ^= 0x40; // a damaged last weight
  writeFileSync(adapter, bytes);
  const again = await runTrainJob(job(out), { skipIfDone: true });
  expect(again.skipped).toBe(false);
  expect(sha256(adapter)).toBe(good); // the same deterministic result, written again
  expect((await runTrainJob(job(out), { skipIfDone: true })).skipped).toBe(true);
});
