import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { AdamW } from '../../src/training/optim.js';
import { maxAbsDiff } from './toy.js';

beforeAll(async () => {
  await initBackend('wasm');
});

// Three updates with lr 1e-2, 5e-3, 2e-2, weight decay 0.1, betas (0.9, 0.999), eps 1e-8. Reference: the
// torch.optim.AdamW update (p *= 1 − lr·wd; Adam step with bias correction) written out in numpy float64 (test/training/reference.py).
// Parameter q has no gradient at step 2 and is skipped there (PyTorch skips grad None), so it takes 2 steps.
const G = [
  [0.1, -0.2, 0.3, 0.0],
  [-0.05, 0.4, 0.1, 1e-3],
  [0.2, 0.2, -0.3, -2.0],
];
const GQ = [
  [
    [1.0, -2.0],
    [0.5, 0.0],
  ],
  undefined,
  [
    [-0.3, 0.3],
    [0.0, 4.0],
  ],
];
const LR = [1e-2, 5e-3, 2e-2];
const P_REF = [0.4737854878, -0.998740162, 1.97771764, 0.0090573307];
const Q_REF = [0.2805636284, -0.676877439, 1.4721218355, -0.0049127164];

function run(opt: AdamW, from: number, to: number) {
  for (let t = from; t < to; t++) {
    const g: (tf.Tensor | undefined)[] = [tf.tensor1d(G[t]), GQ[t] ? tf.tensor2d(GQ[t]!) : undefined];
    opt.step(g, LR[t]);
    tf.dispose(g.filter((x): x is tf.Tensor => x !== undefined));
  }
}

describe('AdamW (decoupled weight decay, PyTorch semantics)', () => {
  test('three updates match the numpy reference', () => {
    const p = tf.variable(tf.tensor1d([0.5, -1.0, 2.0, 0.0]));
    const q = tf.variable(
      tf.tensor2d([
        [0.3, -0.7],
        [1.5, 0.01],
      ]),
    );
    const opt = new AdamW([p, q], { weightDecay: 0.1 });
    run(opt, 0, 3);
    // float32 state vs float64 reference; values O(1), so a few float32 ulps (2.4e-7 at 2.0) → 1e-6
    expect(maxAbsDiff(p.dataSync(), P_REF)).toBeLessThan(1e-6);
    expect(maxAbsDiff(q.dataSync(), Q_REF)).toBeLessThan(1e-6);
    expect([opt.stepCount(0), opt.stepCount(1)]).toEqual([3, 2]);
    opt.dispose();
    tf.dispose([p, q]);
  });

  test('state saved after one update and loaded into a fresh optimizer continues bit-identically', async () => {
    const mk = (): tf.Variable[] => [
      tf.variable(tf.tensor1d([0.5, -1.0, 2.0, 0.0])),
      tf.variable(
        tf.tensor2d([
          [0.3, -0.7],
          [1.5, 0.01],
        ]),
      ),
    ];
    const a = mk();
    const optA = new AdamW(a, { weightDecay: 0.1 });
    run(optA, 0, 3);

    const b = mk();
    const optB = new AdamW(b, { weightDecay: 0.1 });
    run(optB, 0, 1);
    const dir = mkdtempSync(join(tmpdir(), 'seqsch-adamw-'));
    await optB.save(dir);
    const snapshot = b.map((v) => v.dataSync().slice());
    optB.dispose();
    const c = mk();
    c.forEach((v, i) => v.assign(tf.tensor(snapshot[i], v.shape)));
    const optC = new AdamW(c, { weightDecay: 0.1 });
    optC.load(dir);
    run(optC, 1, 3);
    expect(Array.from(c[0].dataSync())).toEqual(Array.from(a[0].dataSync()));
    expect(Array.from(c[1].dataSync())).toEqual(Array.from(a[1].dataSync()));
    [optA, optC].forEach((o) => o.dispose());
    tf.dispose([...a, ...b, ...c]);
  });

  test('loading state of other shapes is refused naming the file and parameter', async () => {
    const p = tf.variable(tf.zeros([3]));
    const opt = new AdamW([p]);
    const dir = mkdtempSync(join(tmpdir(), 'seqsch-adamw-'));
    await opt.save(dir);
    const other = new AdamW([tf.variable(tf.zeros([4]))]);
    expect(() => other.load(dir)).toThrow(/optimizer\.json: parameter 0 .* has shape \[3\], model has \[4\]/);
  });

  test('a step leaks no tensors', () => {
    const p = tf.variable(tf.ones([5]));
    const opt = new AdamW([p], { weightDecay: 0.01 });
    const g = tf.ones([5]);
    opt.step([g], 1e-3);
    const before = tf.memory().numTensors;
    opt.step([g], 1e-3);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
  });
});
