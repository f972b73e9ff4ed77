/**
 * The addon's own packed GEMM (native/own-gemm.h), through tf.matMul on the wasm backend, in every variant this CPU
 * runs (generic; AVX2+FMA; AVX-512F where present), against a float64 reference and the original wasm kernel, on
 * shapes that hit the edges of its blocking: one row (the matrix-vector path), one column, sizes that are not
 * multiples of the register tile (6 × 16, generic 4 × 8; AVX-512 6 × 32), of the depth block KC = 256, of the row
 * block MC = 24·MR and of the column block NC = 4096; both operands transposed as tfjs passes them (attention's q·Kᵀ);
 * and the cut-over between B read in place (≤ 4·MR rows) and B packed.
 *
 * Tolerance: max |ours − float64| ≤ 1e-5 · max |float64|. Every element is a float32 sum of K products; the own GEMM
 * adds them one fused multiply-add at a time within each block of 256 and then the block sums, the reference in
 * float64, the wasm kernel in its own order: the difference grows like √K · 2⁻²⁴ · the partial sums, ~1e-6 of the
 * largest value for K ≤ 4100 with entries in [−1, 1]; a wrong index or a lost block gives errors of order 1.
 * Also exact: a product equals, bit for bit, its rows computed one at a time and its thread split (the summation order
 * depends on K only — what lets the fused layer kernel and tf.matMul agree, and a decode step agree with a prefill).
 * Skips visibly when the addon is not built or SEQSCH_BLAS=0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { initBackend } from '../../src/core/backend.js';
import {
  ADDON_PATH,
  activeBlasAddon,
  blasCallCount,
  blasStatus,
  setOwnGemm,
  setOwnGemmIsa,
  withoutBlas,
} from '../../src/kernels/blas.js';
import { forceBlasThreads } from '../../src/kernels/blas-threads.js';

const run = existsSync(ADDON_PATH) && process.env.SEQSCH_BLAS !== '0';
if (!run) console.warn('own GEMM tests skipped: addon not built or SEQSCH_BLAS=0');

const REL = 1e-5;

/** max |x − y| / max |y|. */
function relDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  expect(x.length).toBe(y.length);
  let scale = 0,
    worst = 0;
  for (let i = 0; i < y.length; i++) {
    scale = Math.max(scale, Math.abs(y[i]));
    worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return scale === 0 ? worst : worst / scale;
}

/** op(A)·op(B) in float64 for 2-D a, b as stored (transposes as tf.matMul's flags). */
function reference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): Float64Array {
  const [ar, ac] = a.shape,
    [br, bc] = b.shape;
  const M = ta ? ac : ar,
    K = ta ? ar : ac,
    N = tb ? br : bc;
  const A = a.dataSync(),
    B = b.dataSync();
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) s += (ta ? A[p * ac + i] : A[i * ac + p]) * (tb ? B[j * bc + p] : B[p * bc + j]);
      out[i * N + j] = s;
    }
  return out;
}

let seed = 11;
const rand = (shape: number[]) => tf.randomUniform(shape, -1, 1, 'float32', seed++);

// [M, K, N]: the product's shape, op(A) (M, K) · op(B) (K, N)
const SHAPES: [string, number, number, number][] = [
  ['1 × 1 × 1', 1, 1, 1],
  ['one row, k 5 (matrix-vector, edge panel only)', 1, 5, 7],
  ['one row, tiny-v3 lm head (192 → 891)', 1, 192, 891],
  ['one row, depth over two blocks (k 513)', 1, 513, 200],
  ['one row, past one column block (n 4100)', 1, 20, 4100],
  ['one column (m × 1)', 30, 40, 1],
  ['one column, deep', 9, 700, 1],
  ['odd everything', 7, 33, 300],
  ['rows at the in-place limit (24) and one past it (25)', 25, 513, 17],
  ['24 rows (B in place)', 24, 100, 50],
  ['past one row block (MC 144 at MR 6; generic 96)', 145, 260, 70],
  ['tall, many blocks', 301, 70, 129],
  ['k exactly one block', 13, 256, 100],
  ['past one column block, several rows', 30, 3, 4100],
];

(run ? describe : describe.skip)('own packed GEMM', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    expect(blasStatus().active).toBe(true);
    const addon = activeBlasAddon()!;
    expect(addon.setGemm).toBeDefined();
    expect(setOwnGemm(true)).toBe(true);
    expect(blasStatus().note).toMatch(/BLAS matmul: active — own packed GEMM \((generic|avx2|avx512)/);
    // every variant this CPU runs, each named once (asking for more than the CPU has gives the best it has)
    const variants = [...new Set((['generic', 'avx2', 'avx512'] as const).map((v) => setOwnGemmIsa(v)!))];
    expect(variants[0]).toBe('generic 4x8');
    console.log(`own GEMM variants this CPU runs: ${variants.join(', ')}`);
  });
  afterAll(() => {
    setOwnGemmIsa('avx512'); // back to the best
    forceBlasThreads(0);
    // back to what the build chose: OpenBLAS where linked
    if (activeBlasAddon()!.info().openblasLinked) setOwnGemm(false);
  });

  test.each(SHAPES)('%s: every transpose, every variant, against float64 and wasm', (_name, M, K, N) => {
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ]) {
      const a = rand(ta ? [K, M] : [M, K]);
      const b = rand(tb ? [N, K] : [K, N]);
      const ref = reference(a, b, ta, tb);
      const wasm = withoutBlas(() => tf.matMul(a, b, ta, tb)).dataSync();
      for (const v of ['generic', 'avx2', 'avx512'] as const) {
        const used = setOwnGemmIsa(v);
        const before = blasCallCount();
        const ours = tf.matMul(a, b, ta, tb);
        expect(blasCallCount()).toBe(before + 1); // the addon ran it, not the wasm fallback
        expect(ours.shape).toEqual([M, N]);
        const got = ours.dataSync();
        const e = relDiff(got, ref);
        if (!(e < REL)) throw new Error(`${used}, ta ${ta}, tb ${tb}: rel. error ${e} against float64`);
        expect(relDiff(got, wasm)).toBeLessThan(REL);
        ours.dispose();
      }
      a.dispose();
      b.dispose();
    }
  });

  test('a product equals its rows computed one at a time and its thread split, bit for bit', () => {
    for (const v of ['generic', 'avx2', 'avx512'] as const) {
      setOwnGemmIsa(v);
      for (const [M, K, N] of [
        [40, 300, 70],
        [7, 520, 33],
      ]) {
        const a = rand([M, K]),
          b = rand([K, N]);
        forceBlasThreads(1);
        const whole = tf.matMul(a, b).dataSync();
        forceBlasThreads(2);
        const split = tf.matMul(a, b).dataSync();
        forceBlasThreads(0);
        expect(Array.from(split)).toEqual(Array.from(whole));
        for (let i = 0; i < M; i++) {
          const row = tf.matMul(a.slice([i, 0], [1, K]), b).dataSync();
          expect(Array.from(row)).toEqual(Array.from(whole.subarray(i * N, (i + 1) * N)));
        }
      }
    }
  });

  test('batched products with broadcasting and a fused bias + relu', () => {
    setOwnGemmIsa('avx512');
    // (3, 1, 9, 40) · (4, 50, 40)ᵀ → (3, 4, 9, 50): output (i, j) is a[i, 0] · b[j]ᵀ
    const a = rand([3, 1, 9, 40]),
      b = rand([4, 50, 40]);
    const ours = tf.matMul(a, b, false, true);
    expect(ours.shape).toEqual([3, 4, 9, 50]);
    const got = ours.dataSync();
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++) {
        const ref = reference(
          a.slice([i, 0, 0, 0], [1, 1, 9, 40]).reshape([9, 40]),
          b.slice([j, 0, 0], [1, 50, 40]).reshape([50, 40]),
          false,
          true,
        );
        expect(relDiff(got.subarray((i * 4 + j) * 450, (i * 4 + j + 1) * 450), ref)).toBeLessThan(REL);
      }
    const x = rand([13, 70]),
      w = rand([70, 37]),
      bias = rand([37]);
    const f = () => tf.fused.matMul({ a: x, b: w, bias, activation: 'relu' });
    expect(relDiff(f().dataSync(), withoutBlas(f).dataSync())).toBeLessThan(REL);
  });
});
