/**
 * `npm run bench:engine`: how fast the CPU path runs, in one run, for the same shapes.
 *
 * 1. sgemm GFLOP/s on the ~5M-parameter LLaMA's weight matmuls (decode at batch 1/16/64, prefill /
 *    training at 1024 rows): numpy/OpenBLAS (python3, when numpy exists), plain tfjs wasm, and our
 *    path (tf.matMul through the OpenBLAS provider), plus each one's per-call overhead (1×1×1).
 * 2. Decode tokens/s of that model at batch 1/16/64 (prompt 64, 128 new tokens, greedy, no early
 *    stop), provider on and off, and the whole decode step's rate against numpy on the same shapes;
 *    then, at batch 16, kernels per decode step and the step with the fused native kernels off
 *    (OpenBLAS matmuls, composite small ops, concat KV cache) against on.
 * 3. One LoRA training step (batch 8 × 128 tokens, r 8 on q/v), provider on and off.
 * Options: --quick (fewer tokens, shorter timing), --skip-off (our path only; the off runs are slow).
 * Numbers only; nothing is asserted.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpus } from 'node:os';
import { initBackend } from '../src/core/backend.js';
import { blasStatus, setBlasEnabled } from '../src/kernels/blas.js';
import { fusedIsa, setFusedEnabled } from '../src/kernels/fused.js';
import { KVCache } from '../src/model/kvcache.js';
import {
  BENCH_MODEL,
  flops,
  fmt,
  modelShapes,
  numpyRates,
  numpyStepSeconds,
  shapeCounts,
  table,
  timeIt,
  type Shape,
} from './lib.js';
import { Llama } from '../src/model/llama.js';
import type { LlamaConfig } from '../src/model/config.js';
import { generate } from '../src/generation/generate.js';
import { causalLmLoss } from '../src/training/losses.js';

const quick = process.argv.includes('--quick');
const skipOff = process.argv.includes('--skip-off');
const budgetMs = quick ? 120 : 300;

await initBackend('wasm');
const status = blasStatus();
const hasBlas = status.active;
const log = (s = '') => console.log(s);
log(`# bench:engine — ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, node ${process.version}`);
log(status.note);
log();

/** Run `fn` with the provider on or off (off = the original wasm kernels). */
function withPath<T>(on: boolean, fn: () => T): T {
  const was = setBlasEnabled(on);
  try {
    return fn();
  } finally {
    setBlasEnabled(was);
  }
}
async function withPathAsync<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  const was = setBlasEnabled(on);
  try {
    return await fn();
  } finally {
    setBlasEnabled(was);
  }
}

// ---- 1. sgemm -------------------------------------------------------------------------------------
const rowsList = [1, 16, 64, 1024];
const shapes: Shape[] = rowsList.flatMap((m) => modelShapes(m, m === 1024 ? 'train/prefill 1024' : `decode b${m}`));
const tiny: Shape = { label: '1x1x1', m: 1, k: 1, n: 1 };
const np = numpyRates([...shapes, tiny], budgetMs / 1000);
const npRate = (i: number) => np.rates?.[i] ?? NaN;

function tfRate(s: Shape, on: boolean): number {
  const a = tf.randomUniform([s.m, s.k]);
  const b = tf.randomUniform([s.k, s.n]);
  const t = withPath(on, () => timeIt(() => tf.matMul(a, b).dispose(), budgetMs));
  a.dispose();
  b.dispose();
  return t;
}
const sgemmRows: (string | number)[][] = [];
const ourTime: number[] = [];
for (const [i, s] of shapes.entries()) {
  const tw = skipOff ? NaN : tfRate(s, false);
  const to = hasBlas ? tfRate(s, true) : NaN;
  ourTime.push(to);
  sgemmRows.push([
    s.label,
    `${s.m}x${s.k}x${s.n}`,
    npRate(i),
    flops(s) / tw / 1e9,
    flops(s) / to / 1e9,
    `${fmt((100 * flops(s)) / to / 1e9 / npRate(i))}%`,
  ]);
}
log(`## sgemm GFLOP/s (float32, best round of repeated calls; numpy: ${np.why ?? 'OpenBLAS via python3'})`);
log(table(['shape', 'MxKxN', 'numpy', 'tfjs wasm', 'ours', 'ours/numpy'], sgemmRows));
const ovWasm = skipOff ? NaN : tfRate(tiny, false) * 1e6;
const ovOurs = hasBlas ? tfRate(tiny, true) * 1e6 : NaN;
log(
  `per-call overhead (1x1x1 product): numpy ${fmt(np.overheadUs ?? NaN)} µs, tfjs wasm ${fmt(ovWasm)} µs, ours ${fmt(ovOurs)} µs`,
);
log();

// ---- 2. decode ------------------------------------------------------------------------------------
const config: LlamaConfig = BENCH_MODEL;
const model = Llama.random(config, 0);
const nParams = model.baseVariables().reduce((n, v) => n + v.size, 0);
const promptLen = 64;
const newTokens = quick ? 32 : 128;
const prompts = (B: number) =>
  Array.from({ length: B }, (_, r) =>
    Array.from({ length: promptLen }, (_, t) => 3 + ((r * 131 + t * 17) % (config.vocabSize - 3))),
  );

/** Seconds of generate() for batch B with `n` new tokens. */
async function genSeconds(B: number, n: number): Promise<number> {
  const t0 = performance.now();
  await generate(model, prompts(B), { maxNewTokens: n, temperature: 0, stopAtEos: false });
  return (performance.now() - t0) / 1000;
}
/** Decode tokens/s (prefill excluded: time(n) − time(1) covers n − 1 decode steps) and whole-run time. */
async function decodeRate(B: number, on: boolean): Promise<{ tokPerS: number; stepMs: number; totalS: number }> {
  return withPathAsync(on, async () => {
    await genSeconds(B, 2); // warm-up: kernels, caches, memory growth
    // Best of two: the machine may be shared, and other processes only ever add time.
    const t1 = Math.min(await genSeconds(B, 1), await genSeconds(B, 1));
    const tn = Math.min(await genSeconds(B, newTokens), await genSeconds(B, newTokens));
    const step = (tn - t1) / (newTokens - 1);
    return { tokPerS: B / step, stepMs: step * 1000, totalS: tn };
  });
}
function stepFlops(B: number): number {
  const base = rowsList.indexOf(B) * 5;
  return shapeCounts(config.numLayers).reduce((t, c, j) => t + c * flops(shapes[base + j]), 0);
}
/**
 * Our seconds for the weight matmuls of one decode step alone, with distinct weights per layer as in
 * the model (so the 21 MB of weights stream from memory as they do in a real step).
 */
function ourMatmulStepSeconds(B: number): number {
  const ops = modelShapes(B, '').flatMap((s, i) =>
    Array.from(
      { length: shapeCounts(config.numLayers)[i] },
      () => [tf.randomUniform([s.m, s.k]), tf.randomUniform([s.k, s.n])] as const,
    ),
  );
  const t = timeIt(() => {
    for (const [a, b] of ops) tf.matMul(a, b).dispose();
  }, budgetMs);
  ops.forEach(([a, b]) => (a.dispose(), b.dispose()));
  return t;
}
const decodeBatches = [1, 16, 64];
const npStep = numpyStepSeconds(
  decodeBatches,
  (r) => modelShapes(r, ''),
  shapeCounts(config.numLayers),
  budgetMs / 1000,
);
log(
  `## decode: LLaMA ${(nParams / 1e6).toFixed(2)}M params (hidden 256, 4 layers, 8 heads, intermediate 688, vocab 4000), prompt ${promptLen}, ${newTokens} new tokens, greedy`,
);
const decRows: (string | number)[][] = [];
for (const [i, B] of decodeBatches.entries()) {
  const off = skipOff ? undefined : await decodeRate(B, false);
  const on = hasBlas ? await decodeRate(B, true) : undefined;
  const mmOurs = hasBlas ? ourMatmulStepSeconds(B) : NaN;
  const np1 = npStep?.[i] ?? NaN;
  decRows.push([
    B,
    off?.tokPerS ?? NaN,
    on?.tokPerS ?? NaN,
    off && on ? `${fmt(off.stepMs / on.stepMs)}×` : '—',
    on?.stepMs ?? NaN,
    mmOurs * 1000,
    np1 * 1000,
    on ? `${fmt((100 * np1) / (on.stepMs / 1000))}%` : '—',
    on ? stepFlops(B) / 1e9 / (on.stepMs / 1000) : NaN,
  ]);
}
log(
  table(
    [
      'batch',
      'tok/s wasm',
      'tok/s ours',
      'speed-up',
      'step ms ours',
      'matmuls-only ms ours',
      'numpy ms same matmuls',
      'ours/numpy',
      'step GF/s ours',
    ],
    decRows,
  ),
);
log('(a step = one token for every row. "same matmuls": the step\'s weight matmuls alone, distinct weights per layer;');
log(
  ' ours/numpy = numpy time for them ÷ our whole step, which also runs attention, norms, rotary, softmax, KV cache, sampling, dispatch)',
);

/** Kernels one decode step (batch B, after a prefill of the prompt) runs, counted by tf.profile. */
async function kernelsPerStep(B: number): Promise<number> {
  const cache = new KVCache(config.numLayers, { capacity: promptLen + 2 });
  try {
    const ids = prompts(B);
    tf.tidy(() => model.forward(tf.tensor2d(ids.flat(), [B, promptLen], 'int32'), { cache, lastOnly: true }));
    const prof = await tf.profile(() =>
      tf.tidy(() =>
        tf.argMax(
          tf.reshape(
            model.forward(
              tf.tensor2d(
                ids.map((r) => r[0]),
                [B, 1],
                'int32',
              ),
              { cache },
            ),
            [B, config.vocabSize],
          ),
          -1,
        ),
      ),
    );
    return prof.kernels.length;
  } finally {
    cache.dispose();
  }
}
if (hasBlas) {
  const B = 16;
  const fusedWas = setFusedEnabled(false);
  const unfused = await decodeRate(B, true);
  const kUnfused = await withPathAsync(true, () => kernelsPerStep(B));
  setFusedEnabled(fusedWas);
  const fused = await decodeRate(B, true);
  const kFused = await withPathAsync(true, () => kernelsPerStep(B));
  const isa = withPath(true, () => fusedIsa());
  log(
    `decode step at batch ${B}: ${fmt(unfused.stepMs)} ms with OpenBLAS matmuls alone (${kUnfused} kernels/step), ${fmt(fused.stepMs)} ms with the fused native kernels too (${kFused} kernels/step${isa ? `, ${isa}` : ', fused kernels unavailable'}), ${fmt(unfused.stepMs / fused.stepMs)}×`,
  );
}
log();

// ---- 3. LoRA training step ------------------------------------------------------------------------
const trainB = 8,
  trainT = 128;
model.attachLora({ r: 8, alpha: 16, dropout: 0.05, targetModules: ['q_proj', 'v_proj'] });
const ids = tf.tensor2d(
  Array.from({ length: trainB * trainT }, (_, i) => 3 + ((i * 7919) % (config.vocabSize - 3))),
  [trainB, trainT],
  'int32',
);
const mask = tf.ones([trainB, trainT], 'int32');
const opt = tf.train.adam(1e-3);
const vars = model.trainableVariables();
function trainStep(): void {
  tf.tidy(() => {
    opt.minimize(() => causalLmLoss(model.forward(ids as tf.Tensor2D, { training: true }), ids, mask), false, vars);
  });
}
function stepTime(on: boolean, reps: number): number {
  return withPath(on, () => {
    trainStep(); // warm-up
    let best = Infinity; // best step: on a shared machine other processes only ever add time
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      trainStep();
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return best;
  });
}
const tOn = hasBlas ? stepTime(true, quick ? 2 : 5) : NaN;
const tOff = skipOff ? NaN : stepTime(false, quick ? 1 : 3);
log(
  `## LoRA training step, best of several (batch ${trainB} × ${trainT} tokens, r 8 on q_proj/v_proj, Adam): wasm ${fmt(tOff * 1000)} ms, ours ${fmt(tOn * 1000)} ms, speed-up ${fmt(tOff / tOn)}×`,
);
