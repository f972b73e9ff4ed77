/**
 * The model's internal consistency where no HF reference exists: KV-cache decoding against full
 * recompute (≤ 1e-5 rel., float32 summation-order noise is ~1e-7), grouped-query attention against the
 * equivalent multi-head model with repeated key/value heads (HF's repeat_kv), LoRA on every target
 * against PEFT's merge formula W + (alpha/r)·B·A computed independently in plain JS, and gradients.
 * With the native addon active, KV-cache decoding runs the in-place cache and the fused decode kernels
 * (src/model/fused.ts); they are checked against full recompute and against the composite path, and
 * so is the native prefill attention (T > 1: without a cache, into an empty cache, after a filled one).
 * The one-kernel decoder layer must equal the per-op native kernels bit for bit (it runs the same code).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { Llama } from '../../src/model/llama.js';
import { KVCache } from '../../src/model/kvcache.js';
import { fusedKernelsActive, setFusedEnabled } from '../../src/kernels/fused.js';
import { setLayerFused, setPrefillFused } from '../../src/model/paths.js';
import { forceBlasThreads } from '../../src/kernels/blas-threads.js';
import { LORA_TARGETS } from '../../src/model/lora.js';
import { hfWeightNames, projDims } from '../../src/model/hf-weights.js';
import { relError, tinyConfig } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A left-padded batch: rows of lengths `lens` padded to max(lens). */
function batch(lens: number[], vocab: number, seed = 1) {
  const T = Math.max(...lens);
  const ids = new Int32Array(lens.length * T);
  const mask = new Int32Array(lens.length * T);
  let s = seed;
  lens.forEach((n, b) => {
    for (let j = T - n; j < T; j++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      ids[b * T + j] = 3 + (s % (vocab - 3));
      mask[b * T + j] = 1;
    }
  });
  return { ids, mask, T, B: lens.length };
}

function hfMap(m: Llama): Map<string, Float32Array> {
  return new Map(m.hfWeights().map(([n, t]) => [n, ('data' in t ? t.data : t.read()) as Float32Array]));
}

describe('Llama forward', () => {
  test.each([
    ['MHA', tinyConfig()],
    ['GQA (4 query heads on 2 key/value heads)', tinyConfig({ numKvHeads: 2 })],
    ['MQA, tied embeddings', tinyConfig({ numKvHeads: 1, tieWordEmbeddings: true })],
  ])('%s: KV-cache decoding of a left-padded batch gives the full-recompute logits', (_, cfg) => {
    const model = Llama.random(cfg, 'cache');
    const { ids, mask, T, B } = batch([9, 5, 2], cfg.vocabSize);
    const V = cfg.vocabSize;
    const full = tf.tidy(() =>
      model.forward(tf.tensor2d(ids, [B, T], 'int32'), { attentionMask: tf.tensor2d(mask, [B, T], 'int32') }),
    );
    const fullData = full.dataSync();
    // prefill the first P columns, then one column at a time with the mask of past + new
    const P = 4;
    const cache = new KVCache(cfg.numLayers);
    const col = (a: Int32Array, c0: number, c1: number) => {
      const out = new Int32Array(B * (c1 - c0));
      for (let b = 0; b < B; b++) out.set(a.subarray(b * T + c0, b * T + c1), b * (c1 - c0));
      return out;
    };
    for (let t = P; t <= T; t++) {
      const c0 = t === P ? 0 : t - 1;
      const step = tf.tidy(() =>
        model.forward(tf.tensor2d(col(ids, c0, t), [B, t - c0], 'int32'), {
          attentionMask: tf.tensor2d(col(mask, 0, t), [B, t], 'int32'),
          cache,
        }),
      );
      const got = step.dataSync();
      step.dispose();
      // compare the last new position of every row that is real there
      const ours = new Float32Array(B * V);
      const ref = new Float32Array(B * V);
      const keep = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        ours.set(got.subarray((b * (t - c0) + t - c0 - 1) * V, (b * (t - c0) + t - c0) * V), b * V);
        ref.set(fullData.subarray((b * T + t - 1) * V, (b * T + t) * V), b * V);
        keep[b] = mask[b * T + t - 1];
      }
      expect(relError(ours, ref, V, keep)).toBeLessThan(1e-5);
    }
    expect(cache.length).toBe(T);
    // with the addon: stored in place, grown by doubling from the prefill's P positions
    expect(cache.inPlace).toBe(fusedKernelsActive());
    if (cache.inPlace) expect(cache.capacity()).toBe(4 * P);
    cache.dispose();
    full.dispose();
    model.dispose();
  });

  test.each([
    ['capacity given up front (no growth)', 12, 12],
    ['capacity 2, below the prefill (3 positions, then doubled to 6 and 12)', 2, 12],
  ])(
    'in-place cache with native decode kernels equals the composite path, GQA + left padding: %s',
    (_, capacity, finalCapacity) => {
      if (!fusedKernelsActive())
        return console.warn(
          'native decode comparison skipped: fused kernels not active (addon missing or SEQSCH_BLAS=0)',
        );
      const cfg = tinyConfig({ numKvHeads: 2 });
      const model = Llama.random(cfg, 'native');
      const { ids, mask, T, B } = batch([9, 5, 2], cfg.vocabSize, 3);
      const V = cfg.vocabSize;
      const P = 3;
      /** prefill P columns, then decode one at a time; logits of each step's last position (B·V each) */
      const decode = (native: boolean) => {
        const was = setFusedEnabled(native);
        const cache = new KVCache(cfg.numLayers, { capacity });
        const out: Float32Array[] = [];
        try {
          for (let t = P; t <= T; t++) {
            const c0 = t === P ? 0 : t - 1;
            const sub = (a: Int32Array, from: number, to: number) => {
              const r = new Int32Array(B * (to - from));
              for (let b = 0; b < B; b++) r.set(a.subarray(b * T + from, b * T + to), b * (to - from));
              return r;
            };
            const step = tf.tidy(() => {
              const lg = model.forward(tf.tensor2d(sub(ids, c0, t), [B, t - c0], 'int32'), {
                attentionMask: tf.tensor2d(sub(mask, 0, t), [B, t], 'int32'),
                cache,
              });
              return tf.slice(lg, [0, t - c0 - 1, 0], [B, 1, V]);
            });
            out.push(step.dataSync() as Float32Array);
            step.dispose();
          }
          expect(cache.inPlace).toBe(native);
          if (native) expect(cache.capacity()).toBe(finalCapacity);
        } finally {
          cache.dispose();
          setFusedEnabled(was);
        }
        return out;
      };
      const before = tf.memory().numTensors;
      const ours = decode(true);
      const ref = decode(false);
      expect(tf.memory().numTensors).toBe(before);
      // rows whose newest column is real (padding columns' logits are meaningless on both paths)
      ours.forEach((o, s) => {
        const t = P + s;
        const keep = Int32Array.from({ length: B }, (_, b) => mask[b * T + t - 1]);
        expect(relError(o, ref[s], V, keep)).toBeLessThan(1e-5);
      });
      model.dispose();
    },
  );

  test.each([
    ['no cache, left padding, GQA', { numKvHeads: 2 }, 'mask', false],
    ['no cache, no mask (shared positions), MHA', {}, 'none', false],
    ['no cache, explicit position ids', { numKvHeads: 1 }, 'positionIds', false],
    ['in-place cache: prefill 4, then a 5-column chunk (past > 0)', { numKvHeads: 2 }, 'mask', true],
  ] as const)('native prefill attention equals the composite ops: %s', (_n, over, kind, chunked) => {
    if (!fusedKernelsActive())
      return console.warn(
        'native prefill comparison skipped: fused kernels not active (addon missing or SEQSCH_BLAS=0)',
      );
    const cfg = tinyConfig(over);
    const model = Llama.random(cfg, 'prefill');
    const { ids, mask, T, B } = batch([9, 5, 2], cfg.vocabSize, 5);
    const V = cfg.vocabSize;
    const pids = Int32Array.from({ length: B * T }, (_, i) => (i % T) * 2 + ((i / T) | 0)); // any valid positions
    const run = (native: boolean) => {
      const was = setPrefillFused(native);
      try {
        return tf.tidy(() => {
          const idsT = tf.tensor2d(ids, [B, T], 'int32');
          if (!chunked) {
            const opts =
              kind === 'mask'
                ? { attentionMask: tf.tensor2d(mask, [B, T], 'int32') }
                : kind === 'positionIds'
                  ? { positionIds: tf.tensor2d(pids, [B, T], 'int32') }
                  : {};
            return model.forward(idsT, opts).dataSync() as Float32Array;
          }
          const cache = new KVCache(cfg.numLayers);
          try {
            const m = tf.tensor2d(mask, [B, T], 'int32');
            model.forward(tf.slice(idsT, [0, 0], [B, 4]), { attentionMask: tf.slice(m, [0, 0], [B, 4]), cache });
            expect(cache.inPlace).toBe(true);
            return model
              .forward(tf.slice(idsT, [0, 4], [B, T - 4]), { attentionMask: m, cache })
              .dataSync() as Float32Array;
          } finally {
            cache.dispose();
          }
        });
      } finally {
        setPrefillFused(was);
      }
    };
    const before = tf.memory().numTensors;
    const ours = run(true);
    const ref = run(false);
    expect(tf.memory().numTensors).toBe(before);
    const Tout = chunked ? T - 4 : T;
    // every position whose token is real (padding positions' logits are meaningless on both paths)
    const keep = Int32Array.from({ length: B * Tout }, (_, i) =>
      kind === 'mask' ? mask[((i / Tout) | 0) * T + T - Tout + (i % Tout)] : 1,
    );
    expect(relError(ours, ref, V, keep)).toBeLessThan(1e-5);
    model.dispose();
  });

  test.each([
    ['GQA, left padding, 1 thread', { numKvHeads: 2 }, 1, false],
    [
      'MQA + tied embeddings, 2 threads (products split over the pool)',
      { numKvHeads: 1, tieWordEmbeddings: true, hiddenSize: 64, intermediateSize: 160 },
      2,
      false,
    ],
    ['MHA with a merged LoRA adapter on every target, 2 threads', { hiddenSize: 64, intermediateSize: 160 }, 2, true],
  ] as const)(
    'the one-kernel decoder layer equals the per-op native kernels bit for bit: %s',
    async (_n, over, threads, lora) => {
      if (!fusedKernelsActive())
        return console.warn(
          'decoder-layer kernel comparison skipped: fused kernels not active (addon missing or SEQSCH_BLAS=0)',
        );
      const cfg = tinyConfig(over);
      const model = Llama.random(cfg, 'layer');
      if (lora) {
        const adapter = model.attachLora({ r: 4, alpha: 8, targetModules: [...LORA_TARGETS] }, 'layer');
        for (const v of adapter.variables()) v.assign(tf.randomUniform(v.shape, -0.1, 0.1, 'float32', 9)); // B ≠ 0: a real update
      }
      const { ids, mask, T, B } = batch([9, 5, 2], cfg.vocabSize, 7);
      /** a full forward without cache, then a prefill of 6 columns and one-column steps into an in-place cache */
      const run = (layer: boolean) => {
        const was = setLayerFused(layer);
        forceBlasThreads(threads);
        const out: number[] = [];
        const cache = new KVCache(cfg.numLayers, { capacity: 8 }); // grows to 16 on the way
        try {
          tf.tidy(() => {
            const idsT = tf.tensor2d(ids, [B, T], 'int32'),
              m = tf.tensor2d(mask, [B, T], 'int32');
            out.push(...model.forward(idsT, { attentionMask: m }).dataSync());
            out.push(
              ...model
                .forward(tf.slice(idsT, [0, 0], [B, 6]), { attentionMask: tf.slice(m, [0, 0], [B, 6]), cache })
                .dataSync(),
            );
            for (let t = 6; t < T; t++) {
              out.push(
                ...model
                  .forward(tf.slice(idsT, [0, t], [B, 1]), { attentionMask: tf.slice(m, [0, 0], [B, t + 1]), cache })
                  .dataSync(),
              );
            }
          });
        } finally {
          cache.dispose();
          forceBlasThreads(0);
          setLayerFused(was);
        }
        return out;
      };
      const ours = run(true);
      const ref = run(false);
      expect(ours.length).toBe(ref.length);
      expect(ours.every((x, i) => Object.is(x, ref[i]))).toBe(true);
      // and the layer kernel did run: one per layer in a native forward
      const kernels = (
        await tf.profile(() => tf.tidy(() => model.forward(tf.tensor2d(ids, [B, T], 'int32'))))
      ).kernels.map((k) => k.name);
      expect(kernels.filter((k) => k === 'SeqschDecoderLayer').length).toBe(cfg.numLayers);
      model.dispose();
    },
  );

  test('lastOnly returns the last position of the full logits', () => {
    const cfg = tinyConfig();
    const model = Llama.random(cfg, 'last');
    const { ids, mask, T, B } = batch([6, 3], cfg.vocabSize);
    const [full, last] = tf.tidy(() => {
      const i = tf.tensor2d(ids, [B, T], 'int32');
      const m = tf.tensor2d(mask, [B, T], 'int32');
      return [model.forward(i, { attentionMask: m }), model.forward(i, { attentionMask: m, lastOnly: true })];
    });
    expect(last.shape).toEqual([B, 1, cfg.vocabSize]);
    const ref = tf.tidy(() => tf.slice(full, [0, T - 1, 0], [B, 1, cfg.vocabSize]));
    expect(relError(last.dataSync(), ref.dataSync())).toBeLessThan(1e-6);
    tf.dispose([full, last, ref]);
    model.dispose();
  });

  test('lastOnly into a cache (the native last layer computes only the last rows): same logits, same cache, same next steps', () => {
    // with the native kernels the last layer runs q, attention, o and the MLP for B rows instead of B·T; keys and
    // values of every position still go to the cache. Against the full layer: logits within float rounding
    // (products over fewer rows are blocked differently; ~1e-7 measured), the cache and the next step bit for bit
    const cfg = tinyConfig({ numKvHeads: 2, hiddenSize: 64, intermediateSize: 160 });
    const model = Llama.random(cfg, 'last-cache');
    const { ids, mask, T, B } = batch([7, 4, 6], cfg.vocabSize, 11);
    const run = (lastOnly: boolean) => {
      const cache = new KVCache(cfg.numLayers, { capacity: T + 2 });
      try {
        return tf.tidy(() => {
          const m = tf.tensor2d(mask, [B, T], 'int32');
          const pre = model.forward(tf.tensor2d(ids, [B, T], 'int32'), { attentionMask: m, cache, lastOnly });
          const last = lastOnly ? pre : tf.slice(pre, [0, T - 1, 0], [B, 1, cfg.vocabSize]);
          const m2 = tf.concat([m, tf.ones([B, 1], 'int32')], 1) as tf.Tensor2D;
          const step = model.forward(tf.tensor2d([5, 6, 7], [B, 1], 'int32'), { attentionMask: m2, cache });
          const k = cache.filled(cfg.numLayers - 1)[0];
          return [last.dataSync(), step.dataSync(), k.dataSync()] as Float32Array[];
        });
      } finally {
        cache.dispose();
      }
    };
    const [lastA, stepA, kA] = run(true);
    const [lastB, stepB, kB] = run(false);
    expect(relError(lastA, lastB)).toBeLessThan(1e-6);
    expect(Array.from(kA)).toEqual(Array.from(kB));
    expect(Array.from(stepA)).toEqual(Array.from(stepB));
    model.dispose();
  });

  test('grouped-query attention equals multi-head attention with each key/value head repeated (HF repeat_kv)', () => {
    const gqaCfg = tinyConfig({ numHeads: 4, numKvHeads: 2 });
    const gqa = Llama.random(gqaCfg, 'gqa');
    const w = hfMap(gqa);
    const { hiddenSize: d, headDim: hd } = gqaCfg;
    const g = gqaCfg.numHeads / gqaCfg.numKvHeads;
    const mha = new Llama({ ...gqaCfg, numKvHeads: gqaCfg.numHeads }, (name, shape) => {
      if (!/\.(k|v)_proj\./.test(name)) return w.get(name)!;
      // query head h reads key/value head floor(h / g): rows [kv·hd, (kv+1)·hd) of the GQA weight
      const src = w.get(name)!;
      const out = new Float32Array(shape[0] * shape[1]);
      for (let h = 0; h < gqaCfg.numHeads; h++)
        out.set(src.subarray(Math.floor(h / g) * hd * d, (Math.floor(h / g) + 1) * hd * d), h * hd * d);
      return out;
    });
    const { ids, mask, T, B } = batch([7, 4], gqaCfg.vocabSize, 5);
    const [a, b] = tf.tidy(() => {
      const i = tf.tensor2d(ids, [B, T], 'int32');
      const m = tf.tensor2d(mask, [B, T], 'int32');
      return [gqa.forward(i, { attentionMask: m }), mha.forward(i, { attentionMask: m })];
    });
    expect(relError(a.dataSync(), b.dataSync(), gqaCfg.vocabSize, mask)).toBeLessThan(1e-5);
    tf.dispose([a, b]);
    gqa.dispose();
    mha.dispose();
  });

  test('no tensors leak from forward (with and without a cache)', () => {
    const cfg = tinyConfig({ numKvHeads: 2 });
    const model = Llama.random(cfg, 'leak');
    const before = tf.memory().numTensors;
    const cache = new KVCache(cfg.numLayers);
    const out = tf.tidy(() => model.forward(tf.tensor2d([[3, 4, 5]], [1, 3], 'int32'), { cache }));
    out.dispose();
    tf.tidy(() => model.forward(tf.tensor2d([[6]], [1, 1], 'int32'), { cache })).dispose();
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('LoRA', () => {
  test('inference folds the adapter into cached W + ΔW: same logits as the unmerged path, rebuilt when a weight changes, no leak', () => {
    const cfg = tinyConfig({ numKvHeads: 2 });
    const model = Llama.random(cfg, 'merge');
    const lora = model.attachLora({ r: 4, alpha: 8, dropout: 0 }, 'm');
    for (const v of lora.bT.values()) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', 5)));
    const { ids, mask, T, B } = batch([6, 3], cfg.vocabSize, 4);
    const run = () =>
      tf.tidy(() =>
        model
          .forward(tf.tensor2d(ids, [B, T], 'int32'), { attentionMask: tf.tensor2d(mask, [B, T], 'int32') })
          .dataSync(),
      );
    const unmerged = () => {
      lora.mergeForInference = false;
      const out = run();
      lora.mergeForInference = true;
      return out;
    };
    const merged = run(); // builds the cache: 2 targets × layers weight copies
    const tensors = tf.memory().numTensors;
    expect(relError(unmerged(), merged, cfg.vocabSize, mask)).toBeLessThan(1e-5);
    expect(run()).toEqual(merged); // served from the cache
    expect(tf.memory().numTensors).toBe(tensors);
    // a trainer-style update of one adapter matrix replaces its data: the cached copy must follow
    const b0 = lora.bT.get('0.q_proj')!;
    tf.tidy(() => b0.assign(tf.mul(b0, 3)));
    const updated = run();
    expect(relError(merged, updated, cfg.vocabSize, mask)).toBeGreaterThan(1e-3);
    expect(relError(unmerged(), updated, cfg.vocabSize, mask)).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(tensors); // the stale copy was disposed
    // gradients taken through an inference-mode forward still reach A and B (the tape bypasses the cached copy)
    const a0 = lora.aT.get('0.q_proj')!;
    const gradMax = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(model.forward(tf.tensor2d(ids, [B, T], 'int32'))), [a0]);
      value.dispose();
      return tf.max(tf.abs(grads[a0.name])).dataSync()[0];
    });
    expect(gradMax).toBeGreaterThan(0);
    model.setLora(null); // detaching frees the cache with the adapter: 2 copies and 2 × (A, B) per layer, and its scaling
    expect(tf.memory().numTensors).toBe(tensors - 2 * cfg.numLayers - 2 * 2 * cfg.numLayers - 1);
    model.dispose();
  });

  test('adapters on all seven targets match PEFT merge W + (alpha/r)·B·A (computed in JS), and enable/disable switches them', () => {
    const cfg = tinyConfig({ numKvHeads: 2 });
    const model = Llama.random(cfg, 'lora');
    const base = hfMap(model);
    const lora = model.attachLora({ targetModules: [...LORA_TARGETS], r: 4, alpha: 12, dropout: 0 }, 'x');
    expect(lora.scaling).toBe(3);
    // give B non-zero values so the adapter does something; keep A, B in PEFT layout for the JS reference
    const peft = new Map<string, { a: Float32Array; b: Float32Array }>();
    let s = 7;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
    for (let l = 0; l < cfg.numLayers; l++) {
      for (const t of LORA_TARGETS) {
        const [inF, outF] = projDims(cfg, t);
        const a = Float32Array.from({ length: 4 * inF }, rnd);
        const b = Float32Array.from({ length: outF * 4 }, rnd);
        lora.set(l, t, a, b);
        peft.set(`${l}.${t}`, { a, b });
      }
    }
    expect(model.trainableVariables()).toHaveLength(2 * LORA_TARGETS.length * cfg.numLayers);
    expect(model.baseVariables().every((v) => !v.trainable)).toBe(true);

    const { ids, mask, T, B } = batch([6, 3], cfg.vocabSize, 9);
    const run = () =>
      tf.tidy(() =>
        model
          .forward(tf.tensor2d(ids, [B, T], 'int32'), { attentionMask: tf.tensor2d(mask, [B, T], 'int32') })
          .dataSync(),
      );
    const withLora = run();
    lora.enabled = false;
    const off = run();
    lora.enabled = true;
    model.mergeLora();
    expect(model.lora).toBeNull();
    expect(model.baseVariables().every((v) => v.trainable)).toBe(true);
    const merged = run();
    expect(relError(withLora, merged, cfg.vocabSize, mask)).toBeLessThan(1e-5);
    expect(relError(off, withLora, cfg.vocabSize, mask)).toBeGreaterThan(1e-2);

    // the merged HF weights equal W + scaling·B·A, computed here without tfjs
    const after = hfMap(model);
    let worst = 0;
    for (let l = 0; l < cfg.numLayers; l++) {
      for (const t of LORA_TARGETS) {
        const name = `model.layers.${l}.${['gate_proj', 'up_proj', 'down_proj'].includes(t) ? 'mlp' : 'self_attn'}.${t}.weight`;
        const [inF, outF] = projDims(cfg, t);
        const { a, b } = peft.get(`${l}.${t}`)!;
        const w0 = base.get(name)!;
        const w1 = after.get(name)!;
        for (let o = 0; o < outF; o++) {
          for (let i = 0; i < inF; i++) {
            let ba = 0;
            for (let k = 0; k < 4; k++) ba += b[o * 4 + k] * a[k * inF + i];
            worst = Math.max(worst, Math.abs(w1[o * inF + i] - (w0[o * inF + i] + 3 * ba)));
          }
        }
      }
    }
    expect(worst).toBeLessThan(1e-6);
    model.dispose();
  });

  test('gradients reach only the LoRA variables; B starts at zero so the adapter starts as a no-op; dropout only in training', () => {
    const cfg = tinyConfig({ tieWordEmbeddings: true });
    const model = Llama.random(cfg, 'grad');
    const { ids, T, B } = batch([5, 5], cfg.vocabSize, 3);
    const plain = tf.tidy(() => model.forward(tf.tensor2d(ids, [B, T], 'int32'), { training: true }).dataSync());
    const lora = model.attachLora({ dropout: 0.5 }, 1);
    const fresh = tf.tidy(() => model.forward(tf.tensor2d(ids, [B, T], 'int32'), { training: true }).dataSync());
    expect(relError(fresh, plain)).toBe(0); // B = 0: dropout on the adapter input changes nothing
    const vars = model.trainableVariables();
    const { value, grads } = tf.tidy(() =>
      tf.variableGrads(
        () => tf.mean(tf.square(model.forward(tf.tensor2d(ids, [B, T], 'int32'), { training: true }))) as tf.Scalar,
        vars,
      ),
    );
    expect(Object.keys(grads).sort()).toEqual(vars.map((v) => v.name).sort());
    const norm = (v: tf.Variable) => tf.tidy(() => tf.norm(grads[v.name]).dataSync()[0]);
    expect([...lora.bT.values()].every((v) => norm(v) > 0)).toBe(true);
    expect([...lora.aT.values()].every((v) => norm(v) === 0)).toBe(true); // dL/dA = Bᵀ·… = 0 while B = 0
    // with B ≠ 0, training mode drops adapter inputs: outputs differ from inference
    for (const [k, v] of lora.bT) v.assign(tf.fill(v.shape, 0.1));
    const inf = tf.tidy(() => model.forward(tf.tensor2d(ids, [B, T], 'int32')).dataSync());
    const tr = tf.tidy(() => model.forward(tf.tensor2d(ids, [B, T], 'int32'), { training: true }).dataSync());
    expect(relError(tr, inf)).toBeGreaterThan(1e-4);
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
  });

  test('full fine-tuning without an adapter: every base weight (tied embedding included) gets a gradient', () => {
    const cfg = tinyConfig({ tieWordEmbeddings: true });
    const model = Llama.random(cfg, 'full');
    const vars = model.trainableVariables();
    expect(vars).toHaveLength(model.baseVariables().length);
    expect([...model.namedVariables().keys()].sort()).toEqual(hfWeightNames(cfg).sort());
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() =>
          tf.mean(tf.square(model.forward(tf.tensor2d([[3, 4, 5, 6]], [1, 4], 'int32'), { training: true }))),
        ) as tf.Scalar,
      vars,
    );
    for (const v of vars) expect(tf.tidy(() => tf.norm(grads[v.name]).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
  });
});
