/**
 * Sampler.pickOnHost: the greedy ids read on the host equal tf.argMax's (first maximum on ties, NaN never chosen
 * over a number after it) on the wasm backend; null (sample() on the device instead) where it does not apply.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { HOST_ARGMAX_MAX, Sampler } from '../../src/generation/sampler.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('Sampler.pickOnHost', () => {
  test('the same ids as tf.argMax on random rows, ties and NaNs', () => {
    const B = 6,
      V = 37;
    const x = new Float32Array(B * V);
    let s = 7;
    for (let i = 0; i < x.length; i++) x[i] = ((s = (s * 1103515245 + 12345) % 2 ** 31) % 1000) / 100; // many ties
    x.fill(9.99, 1 * V + 3, 1 * V + 6); // row 1: a three-way tie at the top
    x[2 * V] = NaN; // row 2 starts with NaN (tf.argMax then keeps index 0)
    x[3 * V + 5] = NaN; // row 3: a NaN inside
    x.fill(-1, 4 * V, 5 * V); // row 4: all equal → 0
    const sampler = new Sampler(0);
    const logits = tf.tensor2d(x, [B, V]);
    const ours = sampler.pickOnHost(logits);
    const ref = tf.tidy(() => tf.argMax(logits, -1).dataSync());
    expect(ours).not.toBeNull();
    expect(Array.from(ours!)).toEqual(Array.from(ref));
    expect(ours![4]).toBe(0);
    tf.dispose(logits);
    sampler.dispose();
  });

  test('null where it does not apply: sampling at a temperature, or more than HOST_ARGMAX_MAX logits', () => {
    const hot = new Sampler(0.7, 1);
    const small = tf.zeros([2, 8]) as tf.Tensor2D;
    expect(hot.pickOnHost(small)).toBeNull();
    const greedy = new Sampler(0);
    const big = tf.zeros([2, HOST_ARGMAX_MAX / 2 + 1]) as tf.Tensor2D;
    expect(greedy.pickOnHost(big)).toBeNull();
    expect(greedy.pickOnHost(small)).not.toBeNull();
    tf.dispose([small, big]);
    hot.dispose();
    greedy.dispose();
  });
});
