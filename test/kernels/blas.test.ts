/**
 * The addon's matmul provider (src/kernels/blas.ts; OpenBLAS or the own GEMM, whichever the build chose) against the original tfjs wasm kernels it
 * replaces: same results for matMul/batchMatMul (transposes, broadcast batch dims), fused matMul
 * (bias, activations) and gradients. Skips visibly when the addon is not built or SEQSCH_BLAS=0.
 *
 * Tolerance: 1e-5 relative to the largest |value| of the reference. Both sides sum K float32
 * products in different orders; the rounding difference grows like sqrt(K)·2^-24 ≈ 1e-6 for the
 * K ≤ 64 used here, so 1e-5 leaves room without hiding a wrong index (which gives O(1) errors).
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { initBackend } from '../../src/core/backend.js';
import { ADDON_PATH, activeBlasAddon, blasCallCount, blasStatus, withoutBlas } from '../../src/kernels/blas.js';

const disabled = process.env.SEQSCH_BLAS === '0';
const built = existsSync(ADDON_PATH);
if (!built)
  console.warn(`blas tests skipped: addon not built (${ADDON_PATH} missing; run node scripts/build-native.mjs)`);
if (disabled) console.warn('blas parity tests skipped: SEQSCH_BLAS=0');

const REL = 1e-5;

/** max |x - y| / max |y| over all elements, after checking shapes agree. */
function relDiff(x: tf.Tensor, y: tf.Tensor): number {
  expect(x.shape).toEqual(y.shape);
  const xs = x.dataSync(),
    ys = y.dataSync();
  let scale = 0,
    worst = 0;
  for (let i = 0; i < ys.length; i++) {
    scale = Math.max(scale, Math.abs(ys[i]));
    worst = Math.max(worst, Math.abs(xs[i] - ys[i]));
  }
  return scale === 0 ? worst : worst / scale;
}

let seed = 1;
const rand = (shape: number[]) => tf.randomUniform(shape, -1, 1, 'float32', seed++);

/**
 * tfjs matMul semantics in plain float64 JS: batch dims broadcast (size-1 dims repeat), optional
 * transposes, then bias (rank 1, broadcast over rows) and activation. The authority where the
 * original wasm kernel is wrong (see the cases marked `wasmWrong`).
 */
function naiveMatMul(
  a: tf.Tensor,
  b: tf.Tensor,
  ta: boolean,
  tb: boolean,
  bias?: tf.Tensor,
  act = 'linear',
  alpha = 0.2,
): tf.Tensor {
  const ar = a.rank,
    br = b.rank;
  const M = ta ? a.shape[ar - 1] : a.shape[ar - 2],
    K = ta ? a.shape[ar - 2] : a.shape[ar - 1];
  const N = tb ? b.shape[br - 2] : b.shape[br - 1];
  const aDims = a.shape.slice(0, -2),
    bDims = b.shape.slice(0, -2);
  const rank = Math.max(aDims.length, bDims.length);
  const pad = (d: number[]) => [...new Array(rank - d.length).fill(1), ...d];
  const ad = pad(aDims),
    bd = pad(bDims),
    od = ad.map((x, i) => Math.max(x, bd[i]));
  const batch = od.reduce((x, y) => x * y, 1);
  const A = a.dataSync(),
    B = b.dataSync(),
    C = bias?.dataSync();
  const out = new Float32Array(batch * M * N);
  for (let i = 0; i < batch; i++) {
    let rest = i,
      ai = 0,
      bi = 0,
      mul = 1,
      amul = 1,
      bmul = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rest % od[d];
      rest = Math.floor(rest / od[d]);
      ai += (ad[d] === 1 ? 0 : c) * amul;
      bi += (bd[d] === 1 ? 0 : c) * bmul;
      amul *= ad[d];
      bmul *= bd[d];
      mul *= od[d];
    }
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const x = A[ai * M * K + (ta ? k * M + m : m * K + k)];
          const y = B[bi * K * N + (tb ? n * K + k : k * N + n)];
          acc += x * y;
        }
        if (C) acc += C.length === 1 ? C[0] : C[n];
        if (act === 'relu') acc = Math.max(acc, 0);
        else if (act === 'relu6') acc = Math.min(Math.max(acc, 0), 6);
        else if (act === 'leakyrelu') acc = acc > 0 ? acc : alpha * acc;
        else if (act === 'sigmoid') acc = 1 / (1 + Math.exp(-acc));
        else if (act === 'elu') acc = acc > 0 ? acc : Math.expm1(acc);
        out[(i * M + m) * N + n] = acc;
      }
    }
  }
  return tf.tensor(out, [...od.filter((_, d) => d >= rank - Math.max(aDims.length, bDims.length)), M, N]);
}

/**
 * Run `f` with the provider; check the addon ran, and that the result agrees with the original wasm
 * kernel (unless `wasmWrong`) and with `reference` when given.
 */
function expectParity(
  f: () => tf.Tensor | tf.Tensor[],
  opts: { reference?: () => tf.Tensor; wasmWrong?: boolean } = {},
): void {
  tf.tidy(() => {
    const before = blasCallCount();
    const ours = [f()].flat();
    expect(blasCallCount()).toBeGreaterThan(before);
    if (!opts.wasmWrong) {
      const mid = blasCallCount();
      const ref = [withoutBlas(f)].flat();
      expect(blasCallCount()).toBe(mid);
      expect(ours.length).toBe(ref.length);
      ours.forEach((o, i) => expect(relDiff(o, ref[i])).toBeLessThan(REL));
    }
    if (opts.reference) expect(relDiff(ours[0], opts.reference())).toBeLessThan(REL);
  });
}

(built && !disabled ? describe : describe.skip)('BLAS matmul provider (active)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    expect(blasStatus().active).toBe(true);
    expect(blasStatus().note).toMatch(/active — (OpenBLAS|own packed GEMM).*threads/);
  });

  test.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])('2-D matMul, transposeA=%s transposeB=%s', (ta, tb) => {
    const a = rand(ta ? [33, 17] : [17, 33]);
    const b = rand(tb ? [29, 33] : [33, 29]);
    expectParity(() => tf.matMul(a, b, ta, tb));
  });

  test.each([
    ['same batch', [4, 5, 6], [4, 6, 7], false, false],
    ['same batch, both transposed', [4, 6, 5], [4, 7, 6], true, true],
    ['3-D @ 2-D (folded into one call)', [4, 5, 6], [6, 7], false, false],
    ['3-D @ 2-D, transposeA', [4, 6, 5], [6, 7], true, false],
    ['3-D @ 2-D, transposeB', [4, 5, 6], [7, 6], false, true],
    ['2-D @ 3-D (a broadcast)', [5, 6], [3, 6, 7], false, false],
    ['batch 1 against batch 4', [1, 5, 6], [4, 7, 6], false, true],
    ['rank 4 @ rank 3 with transposes', [2, 3, 6, 5], [3, 7, 6], true, true],
    ['one row (matrix-vector path)', [1, 33], [33, 29], false, false],
    ['one row, transposeB', [1, 33], [29, 33], false, true],
    ['one row, transposeA', [33, 1], [33, 29], true, false],
    ['one row per matrix, batched, both transposed (attention at decode)', [4, 6, 1], [4, 7, 6], true, true],
    // above 2^18 multiply-adds, so the addon splits them over its threads (native/blas.cc gemmSplit)
    ['pool, tall: split by rows, 501 rows (not a multiple of 16)', [501, 96], [96, 70], false, false],
    ['pool, tall, both transposed', [96, 501], [70, 96], true, true],
    ['pool, wide: split by columns', [3, 200], [200, 1000], false, false],
    ['pool, wide, transposeB', [3, 200], [1000, 200], false, true],
    ['pool, one row, 1000 columns (matrix-vector halves)', [1, 512], [512, 1000], false, false],
    ['pool, one row, transposeB', [1, 512], [1000, 512], false, true],
    ['pool, batched: whole products per thread', [4, 100, 64], [4, 64, 80], false, false],
  ])('batchMatMul: %s', (_name, aShape, bShape, ta, tb) => {
    const a = rand(aShape as number[]);
    const b = rand(bShape as number[]);
    expectParity(() => tf.matMul(a, b, ta as boolean, tb as boolean), {
      reference: () => naiveMatMul(a, b, ta as boolean, tb as boolean),
    });
  });

  test('batchMatMul: general broadcast (2,1) x (1,3) follows tfjs semantics (the wasm kernel does not)', () => {
    // tfjs-backend-wasm 4.22 reads the wrong matrices (and uninitialised memory) when both operands
    // broadcast; the cpu backend and the float64 reference agree with each other, so we follow them.
    const a = rand([2, 1, 5, 6]);
    const b = rand([1, 3, 6, 7]);
    expectParity(() => tf.matMul(a, b), { reference: () => naiveMatMul(a, b, false, false), wasmWrong: true });
  });

  test('decode- and prefill-sized products (M = 1, 16, 64; K = 256)', () => {
    const w = rand([256, 688]);
    for (const m of [1, 16, 64]) {
      const x = rand([m, 256]);
      expectParity(() => tf.matMul(x, w));
    }
  });

  test("OpenBLAS's own threads (SEQSCH_BLAS_POOL=0) and the addon's pool give the same products", () => {
    const addon = activeBlasAddon()!;
    expect(blasStatus().note).toMatch(/addon's thread pool/);
    const a = rand([501, 96]);
    const b = rand([96, 300]);
    const x = rand([3, 200]);
    const w = rand([200, 1000]);
    const run = () => [tf.matMul(a, b), tf.matMul(x, w)];
    const pooled = run();
    try {
      addon.setGemmPool!(false);
      const own = run();
      own.forEach((o, i) => expect(relDiff(o, pooled[i])).toBeLessThan(REL));
      tf.dispose(own);
    } finally {
      addon.setGemmPool!(true);
      tf.dispose(pooled);
    }
  });

  test('empty inner dimension gives zeros like tfjs', () => {
    const a = tf.zeros([3, 0]);
    const b = tf.zeros([0, 4]);
    const before = blasCallCount();
    const out = tf.matMul(a, b);
    expect(blasCallCount()).toBe(before + 1);
    expect(out.shape).toEqual([3, 4]);
    expect(Array.from(out.dataSync())).toEqual(new Array(12).fill(0));
  });

  test.each([
    ['bias + relu', 'relu', [7], false, false, 1],
    ['bias + linear, transposeB', 'linear', [7], false, true, 1],
    ['scalar-shaped bias [1] + relu6, transposeA', 'relu6', [1], true, false, 1],
    ['no bias + leakyrelu', 'leakyrelu', null, false, false, 1],
    ['bias + sigmoid, both transposed', 'sigmoid', [7], true, true, 1],
    ['bias + elu', 'elu', [7], false, false, 1],
    ['batched, bias + relu', 'relu', [7], false, false, 3],
    ['batched, no bias + relu6, transposeA', 'relu6', null, true, false, 3],
  ])('fused matMul: %s', (_name, activation, biasShape, ta, tb, batch) => {
    const lead = batch === 1 ? [] : [batch as number];
    const a = rand([...lead, ...(ta ? [6, 5] : [5, 6])]).mul(3);
    const b = rand([...lead, ...(tb ? [7, 6] : [6, 7])]);
    const bias = biasShape ? rand(biasShape as number[]) : undefined;
    const act = activation as tf.fused.Activation;
    expectParity(
      () =>
        tf.fused.matMul({
          a,
          b,
          bias,
          activation: act,
          transposeA: ta as boolean,
          transposeB: tb as boolean,
          leakyreluAlpha: 0.1,
        }),
      // tfjs-backend-wasm 4.22 adds a per-column bias wrongly when a operand is transposed or the batch
      // is > 1 (off by up to 0.78 here; the float64 reference and the cpu backend agree with each
      // other and with us), so there the reference is the authority.
      {
        reference: () => naiveMatMul(a, b, ta as boolean, tb as boolean, bias, act, 0.1),
        wasmWrong: bias != null && bias.size > 1 && (ta || tb || batch > 1),
      },
    );
  });

  test('prelu is left to the original kernel (no addon call) and still works', () => {
    const a = rand([4, 6]);
    const b = rand([6, 5]);
    const alpha = rand([5]);
    const before = blasCallCount();
    const out = tf.fused.matMul({ a, b, activation: 'prelu', preluActivationWeights: alpha });
    expect(blasCallCount()).toBe(before);
    const ref = withoutBlas(() => tf.prelu(tf.matMul(a, b), alpha));
    expect(relDiff(out, ref)).toBeLessThan(REL);
  });

  test('gradients through matMul (all transposes, batched with broadcast) match', () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[6, 9], [9, 4], false, false],
      [[9, 6], [4, 9], true, true],
      [[3, 6, 9], [3, 4, 9], false, true],
      [[3, 9, 6], [3, 9, 4], true, false],
    ];
    for (const [as, bs, ta, tb] of cases) {
      const a = rand(as);
      const b = rand(bs);
      const w = rand(withoutBlas(() => tf.matMul(a, b, ta, tb)).shape);
      const f = () => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)))([a, b]);
      expectParity(f);
    }
  });

  test('gradients through fused matMul (bias + relu) match', () => {
    const a = rand([8, 6]);
    const b = rand([6, 5]);
    const bias = rand([5]);
    const f = () =>
      tf.grads((x: tf.Tensor, y: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: c, activation: 'relu' }))),
      )([a, b, bias]);
    expectParity(f);
  });

  test('Identity shares data without a copy, and the clone survives dispose and variable assignment', () => {
    const a = tf.tensor1d([1, 2, 3]);
    const c = tf.clone(a);
    a.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    const v = tf.variable(tf.tensor1d([4, 5, 6]));
    const snap = tf.clone(v);
    v.assign(tf.tensor1d([7, 8, 9]));
    expect(Array.from(snap.dataSync())).toEqual([4, 5, 6]);
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9]);
    // the same data id: no copy was made
    const x = tf.tensor1d([1]);
    expect(tf.clone(x).dataId).toBe(x.dataId);
    expect(withoutBlas(() => tf.clone(x)).dataId).not.toBe(x.dataId);
  });

  test('an output that grows the wasm memory is written to the new heap', () => {
    const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
    const before = heapBytes();
    // Output bigger than the whole current heap: makeOutput must grow memory before the sgemm runs.
    const n = Math.ceil(before / 4 / 256) + 256;
    const a = rand([256, 4]);
    const b = rand([4, n]);
    expectParity(() => tf.matMul(a, b));
    expect(heapBytes()).toBeGreaterThan(before);
  });
});

(disabled ? describe : describe.skip)('BLAS matmul provider (SEQSCH_BLAS=0)', () => {
  test('stays off and says why; matmuls still run on wasm', async () => {
    await initBackend('wasm');
    expect(blasStatus().active).toBe(false);
    expect(blasStatus().note).toMatch(/off.*SEQSCH_BLAS=0/);
    const before = blasCallCount();
    const out = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    expect(Array.from(out.dataSync())).toEqual([11]);
    expect(blasCallCount()).toBe(before);
  });
});
