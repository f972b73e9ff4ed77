/**
 * The fused inference kernels (native/fused.cc via src/kernels/fused.ts) against references: RMSNorm
 * and SiLU·up against the composite tfjs ops they replace (src/model/fused.ts with native off), decode
 * attention against a plain float64 JS implementation of HF's semantics (rotate_half rotary, q·Kᵀ/√hd,
 * padding bias, softmax, ·V, GQA head sharing), including the cache rows it writes. Skips visibly when
 * the addon is not built; under SEQSCH_BLAS=0 it checks that the kernels stay off.
 *
 * Tolerance: 1e-5 relative to the largest |reference| value. The kernels sum in other orders than
 * tfjs (RMSNorm's mean of squares in double, dot products in 8 partial sums) and use a polynomial exp
 * with ≤ 2 ulp error; float32 rounding of sums over ≤ 200 terms stays ~1e-6. A wrong index, rotary
 * half, head mapping or mask gives O(1) errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { initBackend } from '../../src/core/backend.js';
import { ADDON_PATH } from '../../src/kernels/blas.js';
import {
  decodeAttentionNative,
  decoderLayerNative,
  fusedKernelsActive,
  setAttentionThreads,
  setFusedEnabled,
} from '../../src/kernels/fused.js';
import { addRmsNorm, rmsNorm, swiGLU, type Eps } from '../../src/model/fused.js';

const disabled = process.env.SEQSCH_BLAS === '0';
const built = existsSync(ADDON_PATH);
if (!built)
  console.warn(
    `fused kernel tests skipped: addon not built (${ADDON_PATH} missing; run node scripts/build-native.mjs)`,
  );
const REL = 1e-5;

beforeAll(async () => {
  await initBackend('wasm');
});

/** max |x − y| / max |y|. */
function relDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  expect(x.length).toBe(y.length);
  let scale = 0,
    worst = 0;
  for (let i = 0; i < y.length; i++) {
    scale = Math.max(scale, Math.abs(y[i]));
    worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return worst / scale;
}

let seed = 11;
const rand = (shape: number[], lo = -1, hi = 1) => tf.randomUniform(shape, lo, hi, 'float32', seed++);

(built && !disabled ? describe : describe.skip)('fused kernels (addon active)', () => {
  let eps: Eps;
  beforeAll(() => {
    expect(fusedKernelsActive()).toBe(true);
    eps = { value: 1e-6, scalar: tf.keep(tf.scalar(1e-6)) };
  });
  afterAll(() => eps.scalar.dispose());

  test('RMSNorm and residual add + RMSNorm equal the composite ops', () => {
    tf.tidy(() => {
      const x = rand([37, 96], -3, 3) as tf.Tensor2D,
        d = rand([37, 96]) as tf.Tensor2D,
        w = rand([96], 0.5, 1.5);
      expect(relDiff(rmsNorm(x, w, eps, true).dataSync(), rmsNorm(x, w, eps, false).dataSync())).toBeLessThan(REL);
      const [sumN, hN] = addRmsNorm(x, d, w, eps, true);
      const [sumC, hC] = addRmsNorm(x, d, w, eps, false);
      expect(relDiff(sumN.dataSync(), sumC.dataSync())).toBe(0); // one float add each: bit-identical
      expect(relDiff(hN.dataSync(), hC.dataSync())).toBeLessThan(REL);
    });
  });

  test('SiLU(gate)·up equals the composite ops, also for |gate| up to 100 (exp clamping)', () => {
    tf.tidy(() => {
      const gate = tf.concat([rand([5, 700], -8, 8), rand([3, 700], -100, 100)]) as tf.Tensor2D;
      const up = rand([8, 700]) as tf.Tensor2D;
      const ours = swiGLU(gate, up, true).dataSync();
      const ref = swiGLU(gate, up, false).dataSync();
      expect(relDiff(ours, ref)).toBeLessThan(REL);
      expect(ours.every(Number.isFinite)).toBe(true);
    });
  });

  /**
   * HF decode attention in float64 JS for one new position per row: rotary (rotate_half) on q and k,
   * the new k/v appended after `past` cached rows, scores q·k/√hd plus −1e9 at padding, softmax, ·v.
   */
  function reference(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    kc: Float32Array,
    vc: Float32Array,
    cos: Float32Array,
    sin: Float32Array,
    pos: Int32Array,
    mask: Int32Array | null,
    B: number,
    nH: number,
    nKv: number,
    hd: number,
    cap: number,
    past: number,
  ) {
    const h2 = hd / 2,
      g = nH / nKv,
      out = new Float64Array(B * nH * hd),
      kNew = new Float64Array(B * nKv * hd);
    const rot = (x: ArrayLike<number>, o: number, p: number, dst: Float64Array, at: number) => {
      for (let i = 0; i < hd; i++) {
        const r = i < h2 ? -x[o + i + h2] : x[o + i - h2];
        dst[at + i] = x[o + i] * cos[p * hd + i] + r * sin[p * hd + i];
      }
    };
    for (let b = 0; b < B; b++) {
      const p = pos[pos.length === 1 ? 0 : b];
      for (let kv = 0; kv < nKv; kv++) rot(k, b * nKv * hd + kv * hd, p, kNew, (b * nKv + kv) * hd);
      for (let h = 0; h < nH; h++) {
        const kv = Math.floor(h / g),
          qr = new Float64Array(hd);
        rot(q, b * nH * hd + h * hd, p, qr, 0);
        const key = (t: number, i: number) =>
          t < past ? kc[((b * nKv + kv) * cap + t) * hd + i] : kNew[(b * nKv + kv) * hd + i];
        const val = (t: number, i: number) =>
          t < past ? vc[((b * nKv + kv) * cap + t) * hd + i] : v[b * nKv * hd + kv * hd + i];
        const s = Array.from({ length: past + 1 }, (_, t) => {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += qr[i] * key(t, i);
          return dot / Math.sqrt(hd) + (mask && mask[b * (past + 1) + t] === 0 ? -1e9 : 0);
        });
        const mx = Math.max(...s),
          e = s.map((x) => Math.exp(x - mx)),
          z = e.reduce((a, c) => a + c, 0);
        for (let i = 0; i < hd; i++) out[(b * nH + h) * hd + i] = e.reduce((a, w, t) => a + (w / z) * val(t, i), 0);
      }
    }
    return { out, kNew };
  }

  test.each([
    ['MHA, hd 32, per-row positions, left padding', 3, 4, 4, 32, 9, 'rows', true],
    ['GQA 4 query heads on 2 kv heads, hd 8 (generic loop), shared position, no mask', 2, 4, 2, 8, 5, 'shared', false],
    ['MQA 4 on 1, hd 64, left padding', 2, 4, 1, 64, 17, 'rows', true],
    ['empty past (first decode step into an empty cache)', 2, 2, 2, 16, 0, 'rows', false],
  ] as const)('decode attention: %s', (_, B, nH, nKv, hd, past, posKind, masked) => {
    const cap = past + 3;
    tf.tidy(() => {
      const q = rand([B, nH * hd]) as tf.Tensor2D,
        k = rand([B, nKv * hd]) as tf.Tensor2D,
        v = rand([B, nKv * hd]) as tf.Tensor2D;
      const P = 40;
      const angles = Float32Array.from({ length: P * hd }, (_, i) => Math.floor(i / hd) * 0.37 * ((i % (hd / 2)) + 1));
      const cos = tf.tensor2d(angles.map(Math.cos), [P, hd]),
        sin = tf.tensor2d(angles.map(Math.sin), [P, hd]);
      const posArr =
        posKind === 'shared' ? Int32Array.of(past) : Int32Array.from({ length: B }, (_, b) => Math.max(past - b, 0)); // left padding: shorter rows sit at lower positions
      const pos = tf.tensor1d(posArr, 'int32');
      const maskArr = new Int32Array(B * (past + 1)).fill(1);
      if (masked) for (let b = 0; b < B; b++) maskArr.fill(0, b * (past + 1), b * (past + 1) + Math.min(b, past)); // row b: b padding columns
      const mask = masked ? tf.tensor2d(maskArr, [B, past + 1], 'int32') : undefined;
      const kCache = tf.keep(tf.add(rand([B, nKv, cap, hd]), 0)) as tf.Tensor4D; // own data, as KVCache's buffers
      const vCache = tf.keep(tf.add(rand([B, nKv, cap, hd]), 0)) as tf.Tensor4D;
      const kc0 = kCache.dataSync().slice(),
        vc0 = vCache.dataSync().slice();
      const out = decodeAttentionNative(
        { q, k, v, cos, sin, pos, kCache, vCache, mask },
        { numHeads: nH, numKvHeads: nKv, headDim: hd, past, qCol: 0, kCol: 0, vCol: 0, scale: 1 / Math.sqrt(hd) },
      );
      const ref = reference(
        q.dataSync() as Float32Array,
        k.dataSync() as Float32Array,
        v.dataSync() as Float32Array,
        kc0 as Float32Array,
        vc0 as Float32Array,
        cos.dataSync() as Float32Array,
        sin.dataSync() as Float32Array,
        posArr,
        masked ? maskArr : null,
        B,
        nH,
        nKv,
        hd,
        cap,
        past,
      );
      expect(out.shape).toEqual([B, nH * hd]);
      expect(relDiff(out.dataSync(), ref.out)).toBeLessThan(REL);
      // row `past` of each (b, kv) cache block now holds the rotated key and the value; other rows unchanged
      const kc = kCache.dataSync(),
        vc = vCache.dataSync(),
        vIn = v.dataSync();
      const kRow = new Float64Array(B * nKv * hd),
        vRow = new Float64Array(B * nKv * hd);
      for (let bk = 0; bk < B * nKv; bk++) {
        for (let i = 0; i < hd; i++) {
          kRow[bk * hd + i] = kc[(bk * cap + past) * hd + i];
          vRow[bk * hd + i] = vc[(bk * cap + past) * hd + i];
        }
        for (let t = 0; t < cap; t++) {
          if (t === past) continue;
          for (let i = 0; i < hd; i++) expect(kc[(bk * cap + t) * hd + i]).toBe(kc0[(bk * cap + t) * hd + i]);
        }
      }
      expect(relDiff(kRow, ref.kNew)).toBeLessThan(REL);
      expect(relDiff(vRow, vIn)).toBe(0);
      tf.dispose([kCache, vCache]);
    });
  });

  test('decode attention with a 2-thread budget equals 1 thread bit for bit (output and cache rows)', () => {
    // big enough (16·8·41·64·2 ≈ 0.67 M multiply-adds) for the kernel to hand work to a second thread
    const B = 16,
      nH = 8,
      hd = 64,
      past = 40,
      cap = 48;
    tf.tidy(() => {
      const q = rand([B, nH * hd]) as tf.Tensor2D,
        k = rand([B, nH * hd]) as tf.Tensor2D,
        v = rand([B, nH * hd]) as tf.Tensor2D;
      const cos = rand([64, hd]) as tf.Tensor2D,
        sin = rand([64, hd]) as tf.Tensor2D,
        pos = tf.fill([B], past, 'int32');
      const k0 = rand([B, nH, cap, hd]),
        v0 = rand([B, nH, cap, hd]);
      const runWith = (threads: number) => {
        const was = setAttentionThreads(threads);
        const kCache = tf.add(k0, 0) as tf.Tensor4D,
          vCache = tf.add(v0, 0) as tf.Tensor4D; // fresh own-data copies
        try {
          const out = decodeAttentionNative(
            { q, k, v, cos, sin, pos, kCache, vCache },
            { numHeads: nH, numKvHeads: nH, headDim: hd, past, qCol: 0, kCol: 0, vCol: 0, scale: 1 / Math.sqrt(hd) },
          );
          return [out.dataSync(), kCache.dataSync()];
        } finally {
          setAttentionThreads(was);
        }
      };
      const [o1, c1] = runWith(1);
      const [o2, c2] = runWith(2);
      expect(Array.from(o2)).toEqual(Array.from(o1));
      expect(Array.from(c2)).toEqual(Array.from(c1));
    });
  });

  test('bad input is refused with the kernel and tensor named', () => {
    tf.tidy(() => {
      const q = rand([1, 8]) as tf.Tensor2D,
        kv = rand([1, 8]) as tf.Tensor2D,
        cs = rand([4, 8]) as tf.Tensor2D;
      const cache = tf.add(rand([1, 1, 2, 8]), 0) as tf.Tensor4D;
      const attrs = { numHeads: 1, numKvHeads: 1, headDim: 8, past: 0, qCol: 0, kCol: 0, vCol: 0, scale: 1 };
      const call = (pos: number[], past = 0) =>
        decodeAttentionNative(
          { q, k: kv, v: kv, cos: cs, sin: cs, pos: tf.tensor1d(pos, 'int32'), kCache: cache, vCache: cache },
          { ...attrs, past },
        );
      expect(() => call([4])).toThrow(/decodeAttention: position id 4 outside the rotary table of 4 rows/);
      expect(() => call([0], 2)).toThrow(/SeqschDecodeAttention: cache full/);
      expect(() => rmsNorm(q, rand([7]), eps, true)).toThrow(/SeqschRmsNorm: weight has shape \[7\], expected \[8\]/);
      // the one-kernel decoder layer names the weight whose shape does not fit
      const w8 = rand([8]),
        m = rand([8, 8]);
      const weights = {
        inputNorm: w8,
        postNorm: w8,
        q_proj: m,
        k_proj: m,
        v_proj: m,
        o_proj: m,
        gate_proj: rand([8, 12]),
        up_proj: rand([8, 12]),
        down_proj: rand([8, 12]),
      };
      expect(() =>
        decoderLayerNative(q, weights, { cos: cs, sin: cs, pos: tf.tensor1d([0], 'int32') }, { ...attrs, eps: 1e-6 }),
      ).toThrow(/SeqschDecoderLayer: down_proj has shape \[8,12\], expected \[12,8\]/);
    });
  });

  test('setFusedEnabled(false) switches them off (composite ops run)', () => {
    const was = setFusedEnabled(false);
    try {
      expect(fusedKernelsActive()).toBe(false);
    } finally {
      setFusedEnabled(was);
    }
    expect(fusedKernelsActive()).toBe(true);
  });
});

(disabled ? test : test.skip)('SEQSCH_BLAS=0: the fused kernels stay off', () => {
  expect(fusedKernelsActive()).toBe(false);
});
