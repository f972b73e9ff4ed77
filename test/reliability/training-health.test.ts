/**
 * Issue 27, "training that explodes": the health check looks at the result, not only at the losses of the steps
 * taken. An lr above 1 is refused before anything loads, naming --lr; a run whose trained weights grew far past
 * their start (lr 1e3: ~4·10⁴×; a normal run stays within 2×) is not saved — no adapter, no train_done.json, and a
 * previous good result in OUT byte for byte as it was — and its error names --lr. LoRA on ckpts/tiny-v3, 2–4
 * optimizer steps of batch 4.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { MAX_LOSS_GROWTH, MAX_NORM_GROWTH, unhealthyResult } from '../../src/training/health.js';
import { runTrainJob, type TrainJob } from '../../src/training/run.js';
import { TRAIN_DEFAULTS } from '../../src/training/defaults.js';
import { repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';
import { seqsch } from './helpers.js';
import { snapshot } from './snapshot.js';

beforeAll(async () => {
  await initBackend('wasm');
});
const tmp = tmpDirs('seqsch-rel-health-');
const DATA = repoPath('data/synthetic-v3/train-instruct.json');

/** LoRA on the tiny model, the run: 16 conversations, batch 4, one epoch (4 steps). */
function job(out: string, lr: number): TrainJob {
  return {
    ...TRAIN_DEFAULTS,
    model: repoPath('ckpts/tiny-v3'),
    data: [DATA],
    numData: 16,
    out,
    batchSize: 4,
    gradAccum: 1,
    epochs: 1,
    lr,
    backend: 'wasm',
  };
}

test('--lr 1e3 is refused before any work, naming the flag', () => {
  const out = join(tmp(), 'run');
  const r = seqsch([
    'train',
    '--model',
    'ckpts/tiny-v3',
    '--data',
    DATA,
    '--num-data',
    '16',
    '--lr',
    '1e3',
    '--out',
    out,
  ]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('--lr: expected a number > 0 and ≤ 1, got 1000');
  expect(existsSync(out)).toBe(false);
});

test('lr 1e3 through the library: the blown-up adapter is not saved over the good one, the error names --lr', async () => {
  const out = join(tmp(), 'lora');
  const good = await runTrainJob(job(out, 1e-3));
  expect(good.summary.normGrowth).toBeLessThan(1.1); // the healthy run: 4 steps at lr 1e-3 barely move the adapter
  const before = snapshot(out, DATA, repoPath('ckpts/tiny-v3'));
  await expect(runTrainJob(job(out, 1e3))).rejects.toThrow(
    /^training diverged: the trained weights' norm grew [\d.]+e\+4× from the start \([\d.]+ → [\d.]+e\+5; a normal run stays within 100×\) \(loss of step 1's batches [\d.]+ before training, [\d.]+ after\)\. The learning rate \(--lr \/ lr = 1000\) is too high for this run; the result was not saved in .*lora\.next-[0-9a-f]{12} \(an earlier result there is kept\)$/,
  );
  expect(snapshot(out, DATA, repoPath('ckpts/tiny-v3'))).toEqual(before); // the good adapter, log and train_done.json
}, 60_000);

describe('the bounds (health.ts)', () => {
  const h = { startNorm: 4.6, endNorm: 8.1, firstLoss: 10, lossAfter: 9, lr: 0.003, outDir: 'OUT' };
  test('a normal result passes', () => {
    expect(unhealthyResult(h)).toBeNull();
  });
  test('non-finite weights or loss, and each bound just above its limit, are refused naming --lr', () => {
    const cases = [
      { endNorm: NaN },
      { endNorm: 4.6 * MAX_NORM_GROWTH * 1.01 },
      { lossAfter: Infinity },
      { lossAfter: 10 * MAX_LOSS_GROWTH * 1.01 },
    ];
    for (const c of cases)
      expect([c, unhealthyResult({ ...h, ...c })]).toEqual([c, expect.stringContaining('(--lr / lr = 0.003)')]);
    expect(unhealthyResult({ ...h, endNorm: 4.6 * MAX_NORM_GROWTH * 0.99 })).toBeNull();
    // near-zero first loss: +1 nat allowed, so 0.01 → 0.5 is no explosion
    expect(unhealthyResult({ ...h, firstLoss: 0.01, lossAfter: 0.5 })).toBeNull();
  });
});
