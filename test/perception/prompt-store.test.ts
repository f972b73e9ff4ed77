/**
 * Perception at no extra prefill (src/engines/prompt-store.ts) on the embedded model (ckpts/tiny-v3) and real
 * validation queries: prompts prefilled in chunks of one layout, then generated in batches of another (other rows,
 * other padding, other shared prefix) from the copied keys/values, give exactly today's tokens, finish flags and
 * decode steps; the stored hidden states are the probe's features; the engine and driver reuse the prefill (no
 * prefill of their own) and give the plain engine's rows. KVCache.gatherFrom copies the right positions in both
 * storage modes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { generate } from '../../src/generation/generate.js';
import { KVCache } from '../../src/model/kvcache.js';
import { fusedKernelsActive, setFusedEnabled } from '../../src/kernels/fused.js';
import { loadModelAndTokenizer } from '../../src/perception/pipeline.js';
import { PromptStore } from '../../src/engines/prompt-store.js';
import { promptStates } from '../../src/perception/probe-train.js';
import { TfjsEngine } from '../../src/engines/batch-tfjs.js';
import { firstTurn, loadConversations, vicunaPrompt } from '../../src/data/conversation.js';
import type { Llama } from '../../src/model/llama.js';
import type { Tokenizer } from '../../src/tokenizer/types.js';
import { repoPath } from '../helpers/paths.js';
import { relError } from '../model/helpers.js';

let model: Llama;
let tokenizer: Tokenizer;
let prompts: string[];

beforeAll(async () => {
  await initBackend('wasm');
  ({ model, tokenizer } = await loadModelAndTokenizer(repoPath('ckpts/tiny-v3')));
  prompts = loadConversations(repoPath('data/synthetic-v3/val.json'))
    .slice(0, 40)
    .map((c) => vicunaPrompt(firstTurn(c, 'human')));
});
afterAll(() => model?.dispose());

test('KVCache.gatherFrom copies each run to its row and position, zeros elsewhere (in place and by concatenation)', () => {
  const modes = fusedKernelsActive() ? [true, false] : [false];
  for (const inPlace of modes) {
    const was = setFusedEnabled(inPlace);
    try {
      const [L, H, hd] = [2, 2, 3];
      // source caches: value = 1000·cache + 100·row + 10·head + position (+ 0.5 in values), one per layer offset
      const src = [0, 1].map((c) => {
        const cache = new KVCache(L);
        for (let l = 0; l < L; l++) {
          const [B, P] = [2, 4];
          const k = new Float32Array(B * H * P * hd);
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H; h++)
              for (let p = 0; p < P; p++)
                k.fill(
                  1000 * c + 100 * b + 10 * h + p + 10000 * l,
                  ((b * H + h) * P + p) * hd,
                  ((b * H + h) * P + p + 1) * hd,
                );
          tf.tidy(
            () =>
              void cache.append(
                l,
                tf.tensor4d(k, [B, H, P, hd]),
                tf.tensor4d(
                  k.map((x) => x + 0.5),
                  [B, H, P, hd],
                ),
              ),
          );
        }
        return cache;
      });
      const dst = new KVCache(L, { capacity: 9 });
      dst.gatherFrom(
        [
          { src: src[1], srcRow: 0, srcPos: 1, dstRow: 1, dstPos: 3, count: 3 },
          { src: src[0], srcRow: 1, srcPos: 0, dstRow: 0, dstPos: 0, count: 2 },
        ],
        2,
        6,
      );
      expect(dst.length).toBe(6);
      for (let l = 0; l < L; l++) {
        const [k, v] = tf.tidy(() => dst.filled(l).map((t) => t.dataSync().slice() as Float32Array));
        const at = (a: Float32Array, b: number, h: number, p: number) => a[((b * H + h) * 6 + p) * hd];
        for (let h = 0; h < H; h++) {
          expect([0, 1, 2, 3, 4, 5].map((p) => at(k, 0, h, p))).toEqual(
            [100 + 10 * h, 101 + 10 * h, 0, 0, 0, 0].map((x, p) => (p < 2 ? x + 10000 * l : 0)),
          );
          expect([0, 1, 2, 3, 4, 5].map((p) => at(k, 1, h, p))).toEqual(
            [0, 0, 0, 1001, 1002, 1003].map((x) => (x ? x + 10 * h + 10000 * l : 0)),
          );
          expect(at(v, 1, h, 4)).toBe(1002.5 + 10 * h + 10000 * l);
        }
      }
      expect(() =>
        dst.gatherFrom([{ src: src[0], srcRow: 0, srcPos: 0, dstRow: 0, dstPos: 0, count: 1 }], 1, 1),
      ).toThrow(/already holds/);
      const fresh = new KVCache(L);
      expect(() =>
        fresh.gatherFrom([{ src: src[0], srcRow: 0, srcPos: 2, dstRow: 0, dstPos: 0, count: 3 }], 1, 3),
      ).toThrow(/outside the source's 4 positions/);
      [...src, dst, fresh].forEach((c) => c.dispose());
    } finally {
      setFusedEnabled(was);
    }
  }
});

test('batches generated from the group prefill give exactly the tokens of their own prefill', async () => {
  const store = new PromptStore(model, tokenizer, 16); // chunks of 16 by prompt length; batches below mix them
  // the stored hidden states are the probe's features (same prompts, another padding and a shared prefix computed
  // apart: float rounding only), at the last position and averaged over the prompt
  const last = await store.prefill(prompts, { layer: 1, pool: 'last' });
  expect(relError(last.hidden, await promptStates(model, tokenizer, prompts, 1, 'last'))).toBeLessThan(1e-5);
  const { hidden } = await store.prefill(prompts, { layer: 3, pool: 'mean' });
  expect(relError(hidden, await promptStates(model, tokenizer, prompts, 3, 'mean'))).toBeLessThan(1e-5);
  expect(relError(hidden, last.hidden)).toBeGreaterThan(0.1); // a different state, not the same one twice
  const batches = [
    [0, 5, 9, 13, 17, 21, 25],
    [39, 1],
    [2, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16, 18, 19, 20, 22],
    [23],
    [24, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38],
  ];
  expect(batches.flat().sort((a, b) => a - b)).toEqual(prompts.map((_, i) => i));
  let compared = 0;
  for (const rows of batches) {
    const texts = rows.map((i) => prompts[i]);
    const ids = texts.map((t) => tokenizer.encode(t));
    const opts = { maxNewTokens: 96, temperature: 0, eosTokenId: tokenizer.eosId };
    const plain = await generate(model, ids, opts);
    const reused = await generate(model, ids, { ...opts, prefilled: store.filler(texts) });
    expect(reused.decodeSteps).toBe(plain.decodeSteps);
    expect(reused.items.map((it) => [it.outputIds, it.isFinished, it.numOutputTokens])).toEqual(
      plain.items.map((it) => [it.outputIds, it.isFinished, it.numOutputTokens]),
    );
    compared += plain.items.reduce((s, it) => s + it.outputIds.length, 0);
  }
  expect(compared).toBeGreaterThan(1000); // real answers, not empty ones
  expect(store.filler([...prompts.slice(0, 2), 'USER: not prefilled ASSISTANT:'])).toBeUndefined();
  store.dispose();
}, 60_000);

test('the engine reuses the stored prefill for a batch of stored prompts and reports the plain engine rows', async () => {
  const store = new PromptStore(model, tokenizer);
  await store.prefill(prompts.slice(0, 12), { layer: 1, pool: 'last' });
  const items = prompts.slice(0, 12).map((prompt, index) => ({ id: String(index), index, prompt }));
  const plain = await new TfjsEngine(model, tokenizer).generateBatch(items.slice(3, 11), 64);
  const reused = await new TfjsEngine(model, tokenizer, { prompts: store }).generateBatch(items.slice(3, 11), 64);
  expect(reused.prefilled).toBe(true);
  expect(plain.prefilled).toBeUndefined();
  expect(reused.rows).toEqual(plain.rows);
  expect(reused.decodeSteps).toBe(plain.decodeSteps);
  store.dispose();
}, 30_000);
