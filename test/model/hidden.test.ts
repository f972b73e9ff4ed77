/**
 * Llama.forwardWithHidden (what a length probe reads): its logits are forward()'s bit for bit; layer 0 is the
 * embedding rows; the last layer (after the final norm) times the LM head gives the logits; layer l is what a model
 * made of the first l layers would normalise and feed its head (checked against a float64 RMSNorm on the host);
 * the KV-cached decode step gives the full-recompute state of its position, and the native kernels the composite
 * ops' state. Tolerances 1e-5 relative: float32 summation-order noise is ~1e-7.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { Llama } from '../../src/model/llama.js';
import { KVCache } from '../../src/model/kvcache.js';
import { fusedKernelsActive, setFusedEnabled } from '../../src/kernels/fused.js';
import { relError, tinyConfig } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const cfg = tinyConfig({ numLayers: 3 });
const B = 2;
const T = 6;
// row 1 left-padded by two positions
const ids = [5, 9, 11, 13, 17, 19, 0, 0, 7, 21, 23, 25];
const mask = [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1];

function run(model: Llama, layer: number, lastOnly = false) {
  return tf.tidy(() => {
    const r = model.forwardWithHidden(tf.tensor2d(ids, [B, T], 'int32'), {
      attentionMask: tf.tensor2d(mask, [B, T], 'int32'),
      hiddenLayer: layer,
      lastOnly,
    });
    return { logits: r.logits.dataSync().slice(), hidden: r.hidden.dataSync().slice(), shape: r.hidden.shape };
  });
}

test('logits unchanged; layer 0 = embeddings; last layer · LM head = logits; layer l = the state a model of l layers normalises', () => {
  const model = Llama.random(cfg, 'hidden');
  const d = cfg.hiddenSize;
  const plain = tf.tidy(() =>
    model
      .forward(tf.tensor2d(ids, [B, T], 'int32'), { attentionMask: tf.tensor2d(mask, [B, T], 'int32') })
      .dataSync()
      .slice(),
  );
  const h0 = run(model, 0);
  expect(Array.from(h0.logits)).toEqual(Array.from(plain));
  expect(h0.shape).toEqual([B, T, d]);
  const embed = model.embed.dataSync();
  for (let i = 0; i < B * T; i++)
    expect(Array.from(h0.hidden.subarray(i * d, (i + 1) * d))).toEqual(
      Array.from(embed.subarray(ids[i] * d, (ids[i] + 1) * d)),
    );

  const hL = run(model, cfg.numLayers);
  const head = model.lmHeadT!.dataSync(); // (d, V)
  const V = cfg.vocabSize;
  const viaHead = new Float64Array(B * T * V);
  for (let i = 0; i < B * T; i++)
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += hL.hidden[i * d + k] * head[k * V + v];
      viaHead[i * V + v] = s;
    }
  expect(relError(viaHead, plain, V, mask)).toBeLessThan(1e-5);

  // the first l layers as a model of their own (same weights, same final norm): its last state = RMSNorm(layer l)
  const weights = new Map(model.hfWeights().map(([n, t]) => [n, ('data' in t ? t.data : t.read()) as Float32Array]));
  const normW = model.norm.dataSync();
  for (const l of [1, 2]) {
    const part = new Llama({ ...cfg, numLayers: l }, (name) => weights.get(name)!);
    const ours = run(model, l);
    const theirs = run(part, l);
    const normed = new Float64Array(B * T * d);
    for (let i = 0; i < B * T; i++) {
      let ms = 0;
      for (let k = 0; k < d; k++) ms += ours.hidden[i * d + k] ** 2;
      const r = 1 / Math.sqrt(ms / d + cfg.rmsNormEps);
      for (let k = 0; k < d; k++) normed[i * d + k] = ours.hidden[i * d + k] * r * normW[k];
    }
    expect(relError(normed, theirs.hidden, d, mask)).toBeLessThan(1e-5);
    part.dispose();
  }
  // lastOnly: the last column of each row, (B, 1, d)
  const last = run(model, 2, true);
  const all = run(model, 2);
  expect(last.shape).toEqual([B, 1, d]);
  for (let b = 0; b < B; b++)
    expect(Array.from(last.hidden.subarray(b * d, (b + 1) * d))).toEqual(
      Array.from(all.hidden.subarray((b * T + T - 1) * d, (b * T + T) * d)),
    );
  expect(() => model.forwardWithHidden(tf.tensor2d([[1]], [1, 1], 'int32'), { hiddenLayer: 4 })).toThrow(
    /hiddenLayer must be an integer in \[0, 3\]/,
  );
  model.dispose();
});

test('a KV-cached decode step gives the full-recompute state of its position; native kernels give the composite state', () => {
  const model = Llama.random(cfg, 'hidden-cache');
  const d = cfg.hiddenSize;
  const layer = 2;
  const full = run(model, layer);
  const cache = new KVCache(cfg.numLayers);
  const cols = (c0: number, c1: number, a: number[]) =>
    Array.from({ length: B }, (_, b) => a.slice(b * T + c0, b * T + c1)).flat();
  const step = tf.tidy(() => {
    model.forward(tf.tensor2d(cols(0, T - 1, ids), [B, T - 1], 'int32'), {
      attentionMask: tf.tensor2d(cols(0, T - 1, mask), [B, T - 1], 'int32'),
      cache,
    });
    const r = model.forwardWithHidden(tf.tensor2d(cols(T - 1, T, ids), [B, 1], 'int32'), {
      attentionMask: tf.tensor2d(mask, [B, T], 'int32'),
      cache,
      hiddenLayer: layer,
    });
    return r.hidden.dataSync().slice();
  });
  cache.dispose();
  const ref = new Float32Array(B * d);
  for (let b = 0; b < B; b++) ref.set(full.hidden.subarray((b * T + T - 1) * d, (b * T + T) * d), b * d);
  expect(relError(step, ref)).toBeLessThan(1e-5);
  if (fusedKernelsActive()) {
    const was = setFusedEnabled(false);
    try {
      const composite = run(model, layer);
      expect(relError(full.hidden, composite.hidden, d, mask)).toBeLessThan(1e-5);
    } finally {
      setFusedEnabled(was);
    }
  }
  model.dispose();
});
