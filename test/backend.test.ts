import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend.js';

describe('backend', () => {
  test('wasm starts and the embedding-lookup gradient (UnsortedSegmentSum) works on it', async () => {
    const info = await initBackend('wasm');
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const emb = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const g = tf.grad((e: tf.Tensor) =>
      tf.sum(tf.mul(tf.gather(e, tf.tensor1d([2, 0, 2], 'int32')), tf.tensor1d([1, 10]))),
    )(emb);
    // row 2 gathered twice, row 0 once, row 1 never; weights (1, 10) per column
    expect(Array.from(g.dataSync())).toEqual([1, 10, 0, 0, 2, 20]);
  });

  test('an unknown backend name is refused with the list of choices', async () => {
    await expect(initBackend('tpu' as never)).rejects.toThrow(
      /unknown backend 'tpu'.*auto, tensorflow, webgpu, wasm, cpu/,
    );
  });
});
