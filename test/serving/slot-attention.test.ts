/**
 * The attention kernel's continuous-batching mode (rowSlot / rowPast, native/fused.cc): batch rows at different
 * positions, each reading and writing its own cache row among R. Reference: the same kernel on each row alone
 * (B = 1, a one-row cache holding that row's positions; checked against HF semantics in test/kernels/fused.test.ts).
 * A row's arithmetic does not depend on the others, so outputs and written cache rows must be bit-identical, and
 * rows no batch row maps to must stay untouched. Skips visibly without the addon or under SEQSCH_BLAS=0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { decodeAttentionNative, rowSlotAttentionActive } from '../../src/kernels/fused.js';

beforeAll(async () => {
  await initBackend('wasm');
  if (!rowSlotAttentionActive())
    console.warn('per-row attention test skipped: native kernels off (SEQSCH_BLAS=0 or addon not built)');
});

const nH = 4,
  nKv = 2,
  hd = 16,
  cap = 24,
  R = 5,
  P = 64;
let seed = 3;
const rand = (shape: number[]) => tf.randomUniform(shape, -1, 1, 'float32', seed++);

test('rows at their own positions, on their own cache rows, compute exactly what each computes alone', () => {
  if (!rowSlotAttentionActive()) return;
  tf.tidy(() => {
    const cos = rand([P, hd]) as tf.Tensor2D,
      sin = rand([P, hd]) as tf.Tensor2D;
    const slots = [3, 0, 4],
      past = [7, 12, 1]; // batch row b → cache row slots[b] holding past[b] positions
    for (const T of [1, 3]) {
      const B = slots.length;
      const q = rand([B * T, nH * hd]) as tf.Tensor2D,
        k = rand([B * T, nKv * hd]) as tf.Tensor2D,
        v = rand([B * T, nKv * hd]) as tf.Tensor2D;
      const pos = tf.tensor1d(
        slots.flatMap((_, b) => Array.from({ length: T }, (_, t) => past[b] + t + 2)),
        'int32',
      ); // any positions per row
      const kInit = rand([R, nKv, cap, hd]) as tf.Tensor4D,
        vInit = rand([R, nKv, cap, hd]) as tf.Tensor4D;
      const kc = tf.add(kInit, 0) as tf.Tensor4D,
        vc = tf.add(vInit, 0) as tf.Tensor4D; // copies the kernel writes into
      const out = decodeAttentionNative(
        {
          q,
          k,
          v,
          cos,
          sin,
          pos,
          kCache: kc,
          vCache: vc,
          rowSlot: tf.tensor1d(slots, 'int32'),
          rowPast: tf.tensor1d(past, 'int32'),
        },
        {
          T,
          numHeads: nH,
          numKvHeads: nKv,
          headDim: hd,
          past: Math.max(...past),
          qCol: 0,
          kCol: 0,
          vCol: 0,
          scale: 0.25,
        },
      );
      const outRows = out.arraySync() as number[][];
      const kAll = kc.arraySync(),
        vAll = vc.arraySync();
      slots.forEach((s, b) => {
        const rows = (x: tf.Tensor2D) => tf.slice(x, [b * T, 0], [T, x.shape[1]]);
        const k1 = tf.add(tf.slice(kInit, [s, 0, 0, 0], [1, nKv, cap, hd]), 0) as tf.Tensor4D;
        const v1 = tf.add(tf.slice(vInit, [s, 0, 0, 0], [1, nKv, cap, hd]), 0) as tf.Tensor4D;
        const alone = decodeAttentionNative(
          { q: rows(q), k: rows(k), v: rows(v), cos, sin, pos: tf.slice(pos, [b * T], [T]), kCache: k1, vCache: v1 },
          { T, numHeads: nH, numKvHeads: nKv, headDim: hd, past: past[b], qCol: 0, kCol: 0, vCol: 0, scale: 0.25 },
        );
        expect(outRows.slice(b * T, (b + 1) * T)).toEqual(alone.arraySync());
        expect(kAll[s]).toEqual((k1.arraySync() as number[][][][])[0]); // keys written at [past, past + T) of its own row
        expect(vAll[s]).toEqual((v1.arraySync() as number[][][][])[0]);
      });
      for (const r of [1, 2]) {
        expect(kAll[r]).toEqual(kInit.arraySync()[r]); // rows no batch row maps to are untouched
        expect(vAll[r]).toEqual(vInit.arraySync()[r]);
      }
    }
  });
});

test('a cache row outside the caches or a length beyond past is refused, naming the batch row', () => {
  if (!rowSlotAttentionActive()) return;
  tf.tidy(() => {
    const args = (slot: number, rowPast: number, past: number) =>
      decodeAttentionNative(
        {
          q: rand([1, nH * hd]) as tf.Tensor2D,
          k: rand([1, nKv * hd]) as tf.Tensor2D,
          v: rand([1, nKv * hd]) as tf.Tensor2D,
          cos: rand([P, hd]) as tf.Tensor2D,
          sin: rand([P, hd]) as tf.Tensor2D,
          pos: tf.tensor1d([3], 'int32'),
          kCache: rand([R, nKv, cap, hd]) as tf.Tensor4D,
          vCache: rand([R, nKv, cap, hd]) as tf.Tensor4D,
          rowSlot: tf.tensor1d([slot], 'int32'),
          rowPast: tf.tensor1d([rowPast], 'int32'),
        },
        { numHeads: nH, numKvHeads: nKv, headDim: hd, past, qCol: 0, kCol: 0, vCol: 0, scale: 0.25 },
      );
    expect(() => args(R, 2, 2)).toThrow(/batch row 0 has cache row 5 \(of 5\)/);
    expect(() => args(1, 9, 4)).toThrow(/cached positions 9 \(at most 4\)/);
  });
});
