/**
 * The whole decode step as one native kernel against one kernel per layer (setStepFused), in one process,
 * alternating: tokens/s of greedy generate() at batch B (default 1), prompt 64, 128 new tokens.
 * `npx tsx bench/step-ab.ts [--model ckpts/tiny-v3] [--batch 1] [--rounds 8]`. Numbers only; nothing here is a test.
 */
import { initBackend } from '../src/core/backend.js';
import { loadLlama } from '../src/model/checkpoint.js';
import { generate } from '../src/generation/generate.js';
import { setStepFused } from '../src/model/paths.js';
import { peerPrompts } from './peer/spec.js';

const opt = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
await initBackend('wasm');
const model = loadLlama(opt('model', 'ckpts/tiny-v3'));
const B = Number(opt('batch', '1')),
  rounds = Number(opt('rounds', '8')),
  n = 128;
const prompts = peerPrompts(B, 64, model.config.vocabSize);
const run = async (whole: boolean) => {
  setStepFused(whole);
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
await run(true);
await run(false);
const res: Record<string, number[]> = { step: [], layers: [] };
for (let r = 0; r < rounds; r++) {
  for (const whole of r % 2 ? [false, true] : [true, false]) res[whole ? 'step' : 'layers'].push(await run(whole));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ratio = res.step.map((s, i) => s / res.layers[i]);
console.log(
  `batch ${B}: one kernel per step ${med(res.step).toFixed(0)} tok/s, one per layer ${med(res.layers).toFixed(0)} tok/s, ` +
    `step ÷ layers median ${med(ratio).toFixed(3)} (range ${Math.min(...ratio).toFixed(3)}–${Math.max(...ratio).toFixed(3)}), ${rounds} rounds`,
);
