/**
 * `npm run bench:threads`: OpenBLAS with 1 vs 2 threads through the tfjs wasm provider, on the ~5M
 * model's decode shapes (M = 1, 16, 64) and prefill/training shapes (M = 1024). This is what chose
 * SINGLE_THREAD_BELOW in src/kernels/blas-threads.ts. Prints a table; asserts nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend.js';
import { blasStatus } from '../src/kernels/blas.js';
import { forceBlasThreads, threadsFor } from '../src/kernels/blas-threads.js';
import { flops, modelShapes, table, timeIt, type Shape } from './lib.js';

await initBackend('wasm');
if (!blasStatus().active) {
  console.log(blasStatus().note);
  process.exit(0);
}
const max = blasStatus().maxThreads ?? 1;
const shapes: Shape[] = [1, 16, 64, 1024].flatMap((m) => modelShapes(m, m === 1024 ? 'prefill 1024' : `decode b${m}`));
shapes.push(
  { label: 'issue 16x4096x4096', m: 16, k: 4096, n: 4096 },
  { label: 'issue 1024^3', m: 1024, k: 1024, n: 1024 },
);
const rows: (string | number)[][] = [];
for (const s of shapes) {
  const a = tf.randomUniform([s.m, s.k]);
  const b = tf.randomUniform([s.k, s.n]);
  const run = () => tf.matMul(a, b).dispose();
  const t: number[] = [];
  for (const n of [1, max]) {
    forceBlasThreads(n);
    t.push(timeIt(run, 250));
  }
  forceBlasThreads(0);
  rows.push([
    s.label,
    `${s.m}x${s.k}x${s.n}`,
    s.m * s.k * s.n,
    t[0] * 1e6,
    t[1] * 1e6,
    flops(s) / t[0] / 1e9,
    flops(s) / t[1] / 1e9,
    `${t[0] / t[1] >= 1 ? '+' : ''}${((t[0] / t[1] - 1) * 100).toFixed(0)}%`,
    threadsFor(s.m, s.n, s.k, max),
  ]);
  a.dispose();
  b.dispose();
}
console.log(`OpenBLAS threads 1 vs ${max} (tf.matMul on wasm through the provider; best round of repeated calls)`);
console.log(
  table(
    ['shape', 'MxKxN', 'MKN', 'µs 1 thr', `µs ${max} thr`, 'GF/s 1', `GF/s ${max}`, `speed-up ${max}`, 'policy'],
    rows,
  ),
);
