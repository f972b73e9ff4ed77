import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { causalLmLoss } from '../../src/training/losses.js';

beforeAll(async () => {
  await initBackend('wasm');
});

// logits (2, 3, 4); row 0 targets ids[1], ids[2] (mask 0 1 1); row 1 targets only ids[2] (mask 0 0 1).
const LOGITS = [
  [
    [1.0, 2.0, 0.5, -1.0],
    [0.0, 0.0, 3.0, 1.0],
    [2.0, -1.0, 0.0, 0.5],
  ],
  [
    [0.3, 0.2, 0.1, 0.0],
    [-2.0, 1.0, 1.0, 4.0],
    [9.0, 9.0, 9.0, 9.0],
  ],
];
const IDS = [
  [1, 2, 3],
  [0, 3, 1],
];
const MASK = [
  [0, 1, 1],
  [0, 0, 1],
];

describe('causalLmLoss', () => {
  test('equals the hand computation: mean of −log softmax(logits[t])[ids[t+1]] over masked targets', () => {
    // numpy float64 (test/training/reference.py): (−ls[0,0,2] − ls[0,1,3] − ls[1,1,1]) / 3 = 2.4344514081571718
    const loss = causalLmLoss(tf.tensor3d(LOGITS), tf.tensor2d(IDS, undefined, 'int32'), tf.tensor2d(MASK));
    // float32 logSoftmax of O(1) logits: rounding ≈ 1e-7 relative
    expect(Math.abs(loss.dataSync()[0] - 2.4344514081571718)).toBeLessThan(1e-6);
  });

  test('the last position and masked-out targets do not matter; the gradient is zero there', () => {
    const logits = tf.tensor3d(LOGITS);
    const ids = tf.tensor2d(IDS, undefined, 'int32');
    const mask = tf.tensor2d(MASK);
    const g = tf
      .grad((x: tf.Tensor) => causalLmLoss(x, ids, mask))(logits)
      .arraySync() as number[][][];
    expect(g[0][2].every((x) => x === 0)).toBe(true); // last position predicts nothing
    expect(g[1][0].every((x) => x === 0)).toBe(true); // predicts ids[1][1], masked out
    // d/dlogits of −log softmax = (softmax − onehot)/count: row sums to 0, target entry negative
    expect(Math.abs(g[0][0].reduce((a, b) => a + b))).toBeLessThan(1e-7);
    expect(g[0][0][2]).toBeLessThan(0);
  });

  test('shape and dtype errors name the tensor', () => {
    const logits = tf.zeros([2, 3, 4]);
    expect(() => causalLmLoss(logits, tf.zeros([2, 4], 'int32'), tf.zeros([2, 3]))).toThrow(
      /inputIds must be \(2, 3\)/,
    );
    expect(() => causalLmLoss(logits, tf.zeros([2, 3]), tf.zeros([2, 3]))).toThrow(/inputIds must be int32/);
  });
});
