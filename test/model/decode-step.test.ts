/**
 * The whole decode step as one native kernel (src/kernels/decode-step.ts) against one layer kernel per layer plus
 * the embedding gather, final norm and head as tfjs ops: the same logits bit for bit over a prefill and a run of
 * decode steps (left padding, GQA/MQA, tied head, a merged LoRA adapter, 1 and 2 threads), the same cache, and one
 * dispatch per step. Skipped, saying why, where the native kernels are not active.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { Llama } from '../../src/model/llama.js';
import { KVCache, type AttentionCache, type CacheSlot } from '../../src/model/kvcache.js';
import { decodeModelActive, DECODE_MODEL } from '../../src/kernels/decode-step.js';
import { setStepFused } from '../../src/model/paths.js';
import { forceBlasThreads } from '../../src/kernels/blas-threads.js';
import { LORA_TARGETS } from '../../src/model/lora.js';
import type { LlamaConfig } from '../../src/model/config.js';
import { tinyConfig } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const skip = () => {
  if (decodeModelActive()) return false;
  console.warn('whole-step kernel tests skipped: native kernels not active (addon missing or SEQSCH_BLAS=0)');
  return true;
};

/** Left-padded rows of lengths `lens` (ids from an LCG), their mask, and `steps` more ids per row to decode. */
function batch(lens: number[], vocab: number, steps: number) {
  const T = Math.max(...lens);
  const B = lens.length;
  const ids = new Int32Array(B * T);
  const mask = new Int32Array(B * T);
  let s = 5;
  const next = () => 3 + ((s = (s * 1103515245 + 12345) % 2 ** 31) % (vocab - 3));
  lens.forEach((n, b) => {
    for (let j = T - n; j < T; j++) [ids[b * T + j], mask[b * T + j]] = [next(), 1];
  });
  const more = Array.from({ length: steps }, () => Int32Array.from({ length: B }, next));
  return { ids, mask, T, B, more };
}

/** Prefill, then `more.length` decode steps into an in-place cache; every logit of every step, and the cache read back. */
function decode(model: Llama, lens: number[], steps: number, wholeStep: boolean, threads: number) {
  const { ids, mask, T, B, more } = batch(lens, model.config.vocabSize, steps);
  const was = setStepFused(wholeStep);
  forceBlasThreads(threads);
  const cache = new KVCache(model.config.numLayers, { capacity: T + 2 }); // grows on the way
  const logits: number[] = [];
  try {
    tf.tidy(() => {
      let m = mask;
      logits.push(
        ...model
          .forward(tf.tensor2d(ids, [B, T], 'int32'), { attentionMask: tf.tensor2d(m, [B, T], 'int32'), cache })
          .dataSync(),
      );
      more.forEach((step, s) => {
        const len = T + s + 1;
        const grown = new Int32Array(B * len);
        for (let b = 0; b < B; b++) {
          grown.set(m.subarray(b * (len - 1), (b + 1) * (len - 1)), b * len);
          grown[b * len + len - 1] = 1;
        }
        m = grown;
        const out = model.forward(tf.tensor2d(step, [B, 1], 'int32'), {
          attentionMask: tf.tensor2d(m, [B, len], 'int32'),
          cache,
        });
        expect(out.shape).toEqual([B, 1, model.config.vocabSize]);
        logits.push(...out.dataSync());
      });
    });
    // the filled rows [0, past) of every layer's buffers (the rest is unfilled memory)
    const kv = Array.from({ length: model.config.numLayers }, (_, l) => {
      const { k, v, past } = cache.slot(l, B, model.config.numKvHeads, model.config.headDim);
      const filled = (t: tf.Tensor4D) => tf.tidy(() => tf.slice(t, [0, 0, 0, 0], [-1, -1, past, -1]).dataSync());
      return [...filled(k), ...filled(v), past];
    });
    return { logits, kv };
  } finally {
    cache.dispose();
    forceBlasThreads(0);
    setStepFused(was);
  }
}

describe('the whole decode step as one native kernel', () => {
  const cases: [string, Partial<LlamaConfig>, number[], number, boolean][] = [
    ['batch 1, MHA, 1 thread', {}, [7], 1, false],
    ['GQA, left padding, 1 thread', { numKvHeads: 2 }, [9, 5, 2], 1, false],
    [
      'MQA + tied embeddings, 2 threads (products split over the pool)',
      { numKvHeads: 1, tieWordEmbeddings: true, hiddenSize: 64, intermediateSize: 160 },
      [6, 6, 3, 1],
      2,
      false,
    ],
    ['a merged LoRA adapter on every target, 2 threads', { hiddenSize: 64, intermediateSize: 160 }, [4, 8], 2, true],
  ];
  test.each(cases)('equals one kernel per layer bit for bit: %s', (_n, over, lens, threads, lora) => {
    if (skip()) return;
    const cfg = tinyConfig(over);
    const model = Llama.random(cfg, 'step');
    if (lora) {
      const adapter = model.attachLora({ r: 4, alpha: 8, targetModules: [...LORA_TARGETS] }, 'step');
      for (const v of adapter.variables()) v.assign(tf.randomUniform(v.shape, -0.1, 0.1, 'float32', 3)); // a real update
    }
    const ours = decode(model, [...lens], 12, true, threads);
    const ref = decode(model, [...lens], 12, false, threads);
    expect(ours.logits.length).toBe(ref.logits.length);
    expect(ours.logits.every((x, i) => Object.is(x, ref.logits[i]))).toBe(true);
    ours.kv.forEach((layer, l) => expect(layer.every((x, i) => Object.is(x, ref.kv[l][i]))).toBe(true));
    model.dispose();
  });

  test('a decode step is one dispatch of the kernel (no layer kernels, no separate head)', async () => {
    if (skip()) return;
    const cfg = tinyConfig();
    const model = Llama.random(cfg, 'profile');
    const cache = new KVCache(cfg.numLayers, { capacity: 8 });
    tf.tidy(() => void model.forward(tf.tensor2d([[5, 6, 7]], [1, 3], 'int32'), { cache }));
    const names = (
      await tf.profile(() => tf.tidy(() => model.forward(tf.tensor2d([[9]], [1, 1], 'int32'), { cache })))
    ).kernels.map((k) => k.name);
    expect(names.filter((n) => n === DECODE_MODEL).length).toBe(1);
    expect(names).not.toContain('SeqschDecoderLayer');
    expect(names).not.toContain('BatchMatMul');
    expect(cache.length).toBe(4);
    cache.dispose();
    model.dispose();
  });

  test('row slots (the serving engine) give the plain logits, and a later step without them is not misled by them', () => {
    // A cache that hands the kernel per-row cache rows and cached positions (continuous batching), here the identity
    // (row b on row b, every row at `past`): the same attention as without them. Its int32 tensors are freed after
    // each forward; a step after them without row slots must not read them (the addon once kept them: a crash).
    if (skip()) return;
    class RowSlots implements AttentionCache {
      readonly inner: KVCache;
      constructor(layers: number) {
        this.inner = new KVCache(layers, { capacity: 16 });
      }
      get inPlace() {
        return this.inner.inPlace;
      }
      pastLength(l?: number) {
        return this.inner.pastLength(l);
      }
      append(l: number, k: tf.Tensor4D, v: tf.Tensor4D) {
        return this.inner.append(l, k, v);
      }
      slot(l: number, B: number, nKv: number, hd: number, T = 1): CacheSlot {
        const s = this.inner.slot(l, B, nKv, hd, T);
        const rows = Int32Array.from({ length: B }, (_, b) => b);
        return { ...s, rowSlot: tf.tensor1d(rows, 'int32'), rowPast: tf.fill([B], s.past, 'int32') as tf.Tensor1D };
      }
      commit(l: number, T: number) {
        this.inner.commit(l, T);
      }
    }
    const cfg = tinyConfig({ numKvHeads: 2 });
    const model = Llama.random(cfg, 'rows');
    const steps = (cache: AttentionCache) =>
      tf.tidy(() => {
        const out: number[] = [];
        out.push(
          ...model
            .forward(
              tf.tensor2d(
                [
                  [5, 6, 7],
                  [8, 9, 10],
                ],
                [2, 3],
                'int32',
              ),
              { cache },
            )
            .dataSync(),
        );
        for (const t of [11, 12, 13])
          out.push(...model.forward(tf.tensor2d([[t], [t + 1]], [2, 1], 'int32'), { cache }).dataSync());
        return out;
      });
    const rows = new RowSlots(cfg.numLayers);
    const viaRows = steps(rows);
    rows.inner.dispose();
    const garbage = tf.fill([4096], 123456, 'int32'); // lands where the freed row-slot tensors were
    const plain = new KVCache(cfg.numLayers, { capacity: 16 });
    const ours = steps(plain);
    plain.dispose();
    const was = setStepFused(false);
    const perLayer = new KVCache(cfg.numLayers, { capacity: 16 });
    const ref = steps(perLayer);
    perLayer.dispose();
    setStepFused(was);
    garbage.dispose();
    expect(ours.every((x, i) => Object.is(x, ref[i]))).toBe(true);
    expect(viaRows.every((x, i) => Object.is(x, ref[i]))).toBe(true);
    model.dispose();
  });

  test('a token id outside the vocabulary is refused naming the row and the id; the cache stays where it was', () => {
    if (skip()) return;
    const cfg = tinyConfig();
    const model = Llama.random(cfg, 'bad');
    const cache = new KVCache(cfg.numLayers, { capacity: 8 });
    tf.tidy(
      () =>
        void model.forward(
          tf.tensor2d(
            [
              [5, 6],
              [7, 8],
            ],
            [2, 2],
            'int32',
          ),
          { cache },
        ),
    );
    const bad = cfg.vocabSize + 3;
    // forward's own check refuses it first; the kernel's own check is reached through decodeModelNative
    expect(() => tf.tidy(() => model.forward(tf.tensor2d([[4], [bad]], [2, 1], 'int32'), { cache }))).toThrow(
      new RegExp(String(bad)),
    );
    expect(cache.length).toBe(2);
    cache.dispose();
    model.dispose();
  });
});
