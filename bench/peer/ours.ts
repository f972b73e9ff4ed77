/**
 * Our side of `npm run bench:peer`, one process per run (the driver, bench/peer.ts, alternates it with the
 * PyTorch peer, bench/peer/llama.py, which takes the same commands and spec and prints the same JSON):
 *   check --model DIR --spec SPEC.json --out LOGITS.bin   greedy tokens (JSON) and logits (float32 file)
 *   time  --model DIR --spec SPEC.json                    seconds per timed point (JSON)
 * The engine is what `seqsch` runs: wasm backend with the native kernel provider, generate() greedy.
 * EOS detection is off (eosTokenId null) and no prefix is shared, so both sides do exactly the same work.
 * For side-by-side measurements of this work's changes: --static-pool (the thread pool never goes solo when
 * workers are late), --per-op (each layer as ~12 kernels instead of one) and --all-rows (a prefill's last layer
 * computes every position, not only each row's last one).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, writeFileSync } from 'node:fs';
import { initBackend } from '../../src/core/backend.js';
import { loadLlama } from '../../src/model/checkpoint.js';
import { generate } from '../../src/generation/generate.js';
import type { Llama } from '../../src/model/llama.js';
import { poolStats, setPoolAdaptive } from '../../src/kernels/blas.js';
import { setLastRowsOnly, setLayerFused } from '../../src/model/paths.js';
import { peerPrompts, warmUp, type CheckSpec, type TimeSpec, type TimeResult } from './spec.js';

/** The value of `--name`, or throws naming the flag. */
function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`bench/peer/ours.ts: --${name} is required`);
  return process.argv[i + 1];
}

const greedy = (model: Llama, prompts: number[][], maxNewTokens: number) =>
  generate(model, prompts, { maxNewTokens, temperature: 0, stopAtEos: false, eosTokenId: null, sharePrefix: false });

/** Greedy tokens of spec.prompts, then the logits of one full forward over prompt + generated tokens (left-padded). */
async function check(model: Llama, spec: CheckSpec, out: string): Promise<void> {
  const res = await greedy(model, spec.prompts, spec.maxNew);
  const tokens = res.items.map((it) => it.outputIds);
  const seqs = spec.prompts.map((p, b) => [...p, ...tokens[b]]);
  const B = seqs.length,
    T = Math.max(...seqs.map((s) => s.length));
  const ids = new Int32Array(B * T).fill(model.config.padTokenId);
  const mask = new Int32Array(B * T);
  seqs.forEach((s, b) => {
    ids.set(s, b * T + T - s.length);
    mask.fill(1, b * T + T - s.length, (b + 1) * T);
  });
  const logits = tf.tidy(() =>
    model.forward(tf.tensor2d(ids, [B, T], 'int32'), { attentionMask: tf.tensor2d(mask, [B, T], 'int32') }),
  );
  writeFileSync(out, Buffer.from((logits.dataSync() as Float32Array).buffer));
  console.log(JSON.stringify({ tokens, shape: logits.shape }));
  logits.dispose();
}

/** Seconds of `spec.reps` runs of each point after one warm-up run of the same size. */
async function time(model: Llama, spec: TimeSpec): Promise<TimeResult> {
  const V = model.config.vocabSize;
  const run = async (prompts: number[][], n: number) => {
    await warmUp(() => greedy(model, prompts, n), spec.warmupSeconds); // the same run: kernels compiled, heap grown, JIT settled
    const ts: number[] = [];
    for (let i = 0; i < spec.reps; i++) {
      const t0 = performance.now();
      await greedy(model, prompts, n);
      ts.push((performance.now() - t0) / 1000);
    }
    return ts;
  };
  const res: TimeResult = { decode: {}, prefill: null };
  for (const B of spec.batches) res.decode[B] = await run(peerPrompts(B, spec.promptLen, V), spec.newTokens);
  if (spec.prefill) res.prefill = await run(peerPrompts(spec.prefill[0], spec.prefill[1], V, true), 1);
  res.pool = poolStats();
  return res;
}

const command = process.argv.slice(2).find((a) => !a.startsWith('--'));
await initBackend('wasm');
if (process.argv.includes('--static-pool')) setPoolAdaptive(false);
if (process.argv.includes('--per-op')) setLayerFused(false);
if (process.argv.includes('--all-rows')) setLastRowsOnly(false);
const model = loadLlama(arg('model'));
const spec = JSON.parse(readFileSync(arg('spec'), 'utf8'));
if (command === 'check') await check(model, spec as CheckSpec, arg('out'));
else if (command === 'time') console.log(JSON.stringify(await time(model, spec as TimeSpec)));
else throw new Error(`bench/peer/ours.ts: unknown command '${command}' (check | time)`);
