/**
 * llama.cpp's side of `npm run bench:peer`, one process per run, through node-llama-cpp 3.21.1 (installed on demand
 * in this folder, see ./README.md). Same commands, spec and JSON as bench/peer/ours.ts:
 *   check --model FILE.gguf --spec SPEC.json    greedy tokens (JSON) of spec.prompts, no EOS stop
 *   time  --model FILE.gguf --spec SPEC.json    seconds per timed point (JSON)
 * --threads N (default 1). Token ids in, token ids out: no text is tokenized (a model with a reduced vocabulary, like
 * tiny-v3's 891 pieces, cannot tokenize arbitrary text; node-llama-cpp's load-time round trip of a test sentence is
 * skipped for that reason — it would abort the process inside llama.cpp's byte fallback).
 * The API is node-llama-cpp's lowest: the context's addon batch calls (initBatch / addToBatch / decodeBatch /
 * sampleToken), one llama_decode per step for all B sequences, as llama.cpp's own batched examples do, with a greedy
 * sampler (temperature 0). The sequences' KV cells are F32 (--kv f16 for llama.cpp's default F16 cache).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { peerPrompts, warmUp, type CheckSpec, type TimeSpec, type TimeResult } from '../spec.js';
import { GgufFile } from '../../../src/model/gguf/read.js';

const here = dirname(fileURLToPath(import.meta.url));
function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) {
    if (def !== undefined) return def;
    throw new Error(`bench/peer/llamacpp/run.ts: --${name} is required`);
  }
  return process.argv[i + 1];
}

/** The slice of node-llama-cpp this runner uses (typed here: the package is not a dependency of the project). */
interface AddonContext {
  initBatch(size: number): void;
  addToBatch(seq: number, firstPos: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
  sampleToken(batchLogitIndex: number, sampler: unknown): Promise<number>;
  removeTokenCellsFromSequence(seq: number, start: number, end: number): boolean;
}
interface NodeLlamaCpp {
  getLlama(
    o: object,
  ): Promise<{ loadModel(o: object): Promise<Model>; _bindings: { AddonSampler: new (m: unknown) => Sampler } }>;
  LlamaModel: { prototype: { getWarnings(): string[] } };
}
interface Model {
  _model: unknown;
  createContext(o: object): Promise<{ _ctx: AddonContext; dispose(): Promise<void> }>;
}
interface Sampler {
  applyConfig(c: object): void;
}

const lib = (await import(pathToFileURL(join(here, 'node_modules/node-llama-cpp/dist/index.js')).href)) as NodeLlamaCpp;
lib.LlamaModel.prototype.getWarnings = () => []; // skips the load-time text round trip (see the top comment)
const threads = Number(arg('threads', '1'));
const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: threads });
const model = await llama.loadModel({ modelPath: arg('model'), gpuLayers: 0 });
/** Greedy samplers, one per row: sampleToken runs on a worker thread and a sampler holds its candidate buffer, so
 * rows sampled concurrently must not share one. */
const samplers: Sampler[] = [];
const sampler = (row: number) => {
  while (samplers.length <= row) {
    const s = new llama._bindings.AddonSampler(model._model);
    s.applyConfig({ temperature: 0 });
    samplers.push(s);
  }
  return samplers[row];
};
const kv = arg('kv', 'f32').toUpperCase();
const BATCH = Number(arg('batch-size', '512')); // tokens per llama_decode (llama.cpp's default n_batch)

/** A context of `B` sequences of `ctxLen` cells each. */
async function context(B: number, ctxLen: number) {
  return model.createContext({
    contextSize: ctxLen,
    sequences: B,
    batchSize: BATCH,
    threads: { ideal: threads, min: threads },
    flashAttention: false,
    experimentalKvCacheKeyType: kv,
    experimentalKvCacheValueType: kv,
  });
}

/**
 * Greedy continuation of each prompt (sequence b = prompt b) by `maxNew` tokens, no EOS stop: the prompts go in
 * batches of at most BATCH tokens (logits only at each prompt's last token), then one decode per step of all rows.
 */
async function generate(ctx: AddonContext, prompts: number[][], maxNew: number): Promise<number[][]> {
  const out = prompts.map(() => [] as number[]);
  const last: number[] = new Array(prompts.length);
  // prefill
  let b = 0;
  let pos = 0;
  while (b < prompts.length) {
    ctx.initBatch(BATCH);
    const pending: [number, number][] = []; // [row, batch logit index]
    let room = BATCH;
    while (b < prompts.length && room > 0) {
      const n = Math.min(room, prompts[b].length - pos);
      const end = pos + n === prompts[b].length;
      const idx = ctx.addToBatch(
        b,
        pos,
        Uint32Array.from(prompts[b].slice(pos, pos + n)),
        Uint32Array.from(end ? [n - 1] : []),
      );
      if (end) pending.push([b, idx[0]]);
      room -= n;
      pos += n;
      if (end) {
        b++;
        pos = 0;
      }
    }
    await ctx.decodeBatch();
    const toks = await Promise.all(pending.map(([r, i]) => ctx.sampleToken(i, sampler(r))));
    pending.forEach(([r], k) => {
      last[r] = toks[k];
      out[r].push(toks[k]);
    });
  }
  // decode: one token per row per step (B ≤ BATCH)
  for (let step = 1; step < maxNew; step++) {
    ctx.initBatch(prompts.length);
    const idx = prompts.map(
      (p, r) => ctx.addToBatch(r, p.length + step - 1, Uint32Array.of(last[r]), Uint32Array.of(0))[0],
    );
    await ctx.decodeBatch();
    const toks = await Promise.all(idx.map((i, r) => ctx.sampleToken(i, sampler(r))));
    toks.forEach((t, r) => {
      last[r] = t;
      out[r].push(t);
    });
  }
  return out;
}

const clear = (ctx: AddonContext, B: number) => {
  for (let r = 0; r < B; r++) ctx.removeTokenCellsFromSequence(r, 0, -1);
};

const command = process.argv.slice(2).find((a) => a === 'check' || a === 'time');
const spec = JSON.parse(readFileSync(arg('spec'), 'utf8'));
if (command === 'check') {
  const s = spec as CheckSpec;
  const c = await context(s.prompts.length, Math.max(...s.prompts.map((p) => p.length)) + s.maxNew);
  console.log(JSON.stringify({ tokens: await generate(c._ctx, s.prompts, s.maxNew) }));
  await c.dispose();
} else if (command === 'time') {
  const s = spec as TimeSpec;
  const g = GgufFile.open(arg('model'));
  const V = g.shape('token_embd.weight')[0];
  g.close();
  const run = async (prompts: number[][], n: number) => {
    const c = await context(prompts.length, Math.max(...prompts.map((p) => p.length)) + n);
    const once = async () => {
      clear(c._ctx, prompts.length);
      const t0 = performance.now();
      await generate(c._ctx, prompts, n);
      return (performance.now() - t0) / 1000;
    };
    await warmUp(once, s.warmupSeconds); // the same run
    const ts: number[] = [];
    for (let i = 0; i < s.reps; i++) ts.push(await once());
    await c.dispose();
    return ts;
  };
  const res: TimeResult = { decode: {}, prefill: null };
  for (const B of s.batches) res.decode[B] = await run(peerPrompts(B, s.promptLen, V), s.newTokens);
  if (s.prefill) res.prefill = await run(peerPrompts(s.prefill[0], s.prefill[1], V, true), 1);
  console.log(JSON.stringify(res));
} else throw new Error(`bench/peer/llamacpp/run.ts: unknown command '${command}' (check | time)`);
