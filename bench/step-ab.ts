/**
 * Two settings of the decode path side by side in one process, alternating (the order flips every round): tokens/s
 * of greedy generate() at batch B (default 1), prompt 64, 128 new tokens.
 *   --compare step     the whole decode step as one native kernel (A) against one kernel per layer (B) — setStepFused
 *   --compare threads  every product on both threads (A, forceBlasThreads(2)) against the size policy (B)
 *   --compare host     greedy ids read on the host (A, Sampler.pickOnHost) against tf.argMax + an async read (B)
 *   --compare threshold  the size policy with its one-thread threshold at --below N multiply-adds (A, default 2^17)
 *                      against SINGLE_THREAD_BELOW (B)
 * `npx tsx bench/step-ab.ts [--model ckpts/tiny-v3 | bench] [--batch 1] [--rounds 8] [--compare step]`; `bench` is the
 * 5.2M model of bench:peer (Llama.random(BENCH_MODEL, 0)). Numbers only; nothing here is a test.
 */
import { initBackend } from '../src/core/backend.js';
import { loadLlama } from '../src/model/checkpoint.js';
import { Llama } from '../src/model/llama.js';
import { generate } from '../src/generation/generate.js';
import { setStepFused } from '../src/model/paths.js';
import { SINGLE_THREAD_BELOW, forceBlasThreads, setSingleThreadBelow } from '../src/kernels/blas-threads.js';
import { setHostArgmax } from '../src/generation/sampler.js';
import { BENCH_MODEL } from './lib.js';
import { peerPrompts } from './peer/spec.js';

const opt = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
await initBackend('wasm');
const name = opt('model', 'ckpts/tiny-v3');
const model = name === 'bench' ? Llama.random(BENCH_MODEL, 0) : loadLlama(name);
const B = Number(opt('batch', '1')),
  rounds = Number(opt('rounds', '8')),
  compare = opt('compare', 'step'),
  n = 128;
const settings: Record<string, [string, string, (a: boolean) => void]> = {
  step: ['one kernel per step', 'one kernel per layer', (a) => void setStepFused(a)],
  threads: ['every product on 2 threads', 'size policy', (a) => forceBlasThreads(a ? 2 : 0)],
  host: ['greedy pick on the host', 'tf.argMax + async read', (a) => void setHostArgmax(a)],
  threshold: [
    `one thread below 2^${Math.log2(Number(opt('below', String(2 ** 17))))} multiply-adds`,
    `below 2^${Math.log2(SINGLE_THREAD_BELOW)}`,
    (a) => void setSingleThreadBelow(a ? Number(opt('below', String(2 ** 17))) : SINGLE_THREAD_BELOW),
  ],
};
if (!settings[compare]) throw new Error(`step-ab: --compare step | threads | host | threshold, got '${compare}'`);
const [nameA, nameB, apply] = settings[compare];
const prompts = peerPrompts(B, 64, model.config.vocabSize);
const run = async (a: boolean) => {
  apply(a);
  const t0 = performance.now();
  await generate(model, prompts, {
    maxNewTokens: n,
    temperature: 0,
    stopAtEos: false,
    eosTokenId: null,
    sharePrefix: false,
  });
  return (B * n) / ((performance.now() - t0) / 1000);
};
for (let i = 0; i < 3; i++) await run(i % 2 === 0); // warm-up: the JIT settles over the first calls
const res = { a: [] as number[], b: [] as number[] };
for (let r = 0; r < rounds; r++)
  for (const a of r % 2 ? [false, true] : [true, false]) res[a ? 'a' : 'b'].push(await run(a));
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const ratio = res.a.map((s, i) => s / res.b[i]);
console.log(
  `${name} batch ${B}: ${nameA} ${med(res.a).toFixed(0)} tok/s, ${nameB} ${med(res.b).toFixed(0)} tok/s, ` +
    `ratio median ${med(ratio).toFixed(3)} (range ${Math.min(...ratio).toFixed(3)}–${Math.max(...ratio).toFixed(3)}), ${rounds} rounds`,
);
