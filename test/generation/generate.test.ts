/**
 * Batched generation on a tiny random model: no tensor leaks, upstream's per-item counts with EOS
 * (checked against the same batch generated with EOS off, cut at each row's first EOS as upstream
 * does), batched greedy = per-row unbatched greedy for left-padded rows, and seeded sampling.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { Llama } from '../../src/model/llama.js';
import { generate, sharedPrefixLength, MIN_SHARED_PREFIX } from '../../src/generation/generate.js';
import { tinyConfig } from '../model/helpers.js';
import { fusedKernelsActive, setFusedEnabled } from '../../src/kernels/fused.js';

let model: Llama;
const prompts = [[1, 7, 8, 9, 10, 11], [1, 12, 13], [1, 14, 15, 16, 17], [1]];

beforeAll(async () => {
  await initBackend('wasm');
  model = Llama.random(tinyConfig({ numKvHeads: 2, vocabSize: 40 }), 'gen', 0.3); // std 0.3: peaked, varied logits
});
afterAll(() => model.dispose());

test('no tensor leaks: tf.memory().numTensors is the same before and after generate (greedy and sampled)', async () => {
  const before = tf.memory().numTensors;
  await generate(model, prompts, { maxNewTokens: 6 });
  await generate(model, prompts, { maxNewTokens: 6, temperature: 0.8, seed: 3 });
  expect(tf.memory().numTensors).toBe(before);
});

test("the native decode path (in-place cache, fused kernels) gives the composite path's greedy tokens and counts", async () => {
  if (!fusedKernelsActive())
    return console.warn(
      'native generate comparison skipped: fused kernels not active (addon missing or SEQSCH_BLAS=0)',
    );
  const before = tf.memory().numTensors;
  const native = await generate(model, prompts, { maxNewTokens: 12, eosTokenId: null });
  const was = setFusedEnabled(false);
  const composite = await generate(model, prompts, { maxNewTokens: 12, eosTokenId: null }).finally(() =>
    setFusedEnabled(was),
  );
  expect(native.items).toEqual(composite.items);
  expect(tf.memory().numTensors).toBe(before);
});

test('sharedPrefixLength: the common start, leaving every prompt a token of its own, 0 below MIN_SHARED_PREFIX or for one prompt', () => {
  const pre = Array.from({ length: 10 }, (_, i) => 20 + i);
  expect(
    sharedPrefixLength([
      [...pre, 1, 2],
      [...pre, 3],
      [...pre, 1, 4, 5],
    ]),
  ).toBe(10);
  expect(
    sharedPrefixLength([
      [...pre, 1],
      [...pre, 1],
    ]),
  ).toBe(10); // identical prompts: the last token stays per row
  expect(sharedPrefixLength([[...pre], [...pre, 1]])).toBe(9);
  expect(sharedPrefixLength([[...pre, 1]])).toBe(0);
  expect(sharedPrefixLength([pre.slice(0, MIN_SHARED_PREFIX), pre.slice(0, MIN_SHARED_PREFIX)])).toBe(0); // 7 < 8
  expect(
    sharedPrefixLength([
      [1, ...pre],
      [2, ...pre],
    ]),
  ).toBe(0);
});

test('a shared prompt prefix computed once gives the same tokens and counts as computing it per row (greedy and sampled)', async () => {
  // 10 shared tokens, then rests of 1–6 tokens: the rows hold [prefix][padding][rest] instead of [padding][prefix][rest]
  const pre = [1, 30, 31, 32, 33, 34, 35, 36, 37, 38];
  const shared = [
    [...pre, 7, 8, 9, 10, 11, 12],
    [...pre, 13],
    [...pre, 14, 15, 16],
    [...pre, 17, 18],
  ];
  expect(sharedPrefixLength(shared)).toBe(10);
  const before = tf.memory().numTensors;
  for (const o of [
    { maxNewTokens: 12, eosTokenId: 5 },
    { maxNewTokens: 12, temperature: 0.8, seed: 4 },
  ]) {
    const once = await generate(model, shared, o);
    const perRow = await generate(model, shared, { ...o, sharePrefix: false });
    expect(once.items).toEqual(perRow.items);
    expect(once.decodeSteps).toBe(perRow.decodeSteps);
    expect(once.items[1].numInputTokens).toBe(16); // upstream's padded prompt length, prefix included
  }
  expect(tf.memory().numTensors).toBe(before);
  // and each row as if generated alone (no padding, no sharing)
  const batched = await generate(model, shared, { maxNewTokens: 10, eosTokenId: null });
  for (let b = 0; b < shared.length; b++) {
    const single = await generate(model, [shared[b]], { maxNewTokens: 10, eosTokenId: null });
    expect(batched.items[b].outputIds).toEqual(single.items[0].outputIds);
  }
});

test('batched greedy equals per-row unbatched greedy for left-padded rows', async () => {
  const batched = await generate(model, prompts, { maxNewTokens: 10, eosTokenId: null });
  for (let b = 0; b < prompts.length; b++) {
    const single = await generate(model, [prompts[b]], { maxNewTokens: 10, eosTokenId: null });
    expect(batched.items[b].outputIds).toEqual(single.items[0].outputIds);
  }
});

test("EOS per row: outputs cut before the first EOS, upstream's counts, early stop when every row ended", async () => {
  const maxNewTokens = 12;
  const free = await generate(model, prompts, { maxNewTokens, eosTokenId: null });
  expect(free.decodeSteps).toBe(maxNewTokens);
  expect(
    free.items.every((it) => it.outputIds.length === maxNewTokens && !it.isFinished && it.length === maxNewTokens + 1),
  ).toBe(true);
  // choose as EOS a token row 0 first produces at step ≥ 2 (greedy is deterministic, so the run repeats up to there)
  const out0 = free.items[0].outputIds;
  const k0 = out0.findIndex((t, i) => i >= 2 && out0.indexOf(t) === i);
  expect(k0).toBeGreaterThanOrEqual(2);
  const eos = out0[k0];
  const firstEos = free.items.map((it) => it.outputIds.indexOf(eos)); // −1: never
  const res = await generate(model, prompts, { maxNewTokens, eosTokenId: eos });
  res.items.forEach((it, b) => {
    const k = firstEos[b];
    expect(it.isFinished).toBe(k >= 0);
    expect(it.outputIds).toEqual(k >= 0 ? free.items[b].outputIds.slice(0, k) : free.items[b].outputIds);
    expect(it.numOutputTokens).toBe(k >= 0 ? k + 1 : maxNewTokens); // generated tokens, EOS included
    expect(it.numInputTokens).toBe(6); // upstream: padded prompt length of the batch
    expect(it.promptTokens).toBe(prompts[b].length);
  });
  // the batch runs until its last row ends (or the cap); length = steps + 1 for every row
  const expectedSteps = firstEos.every((k) => k >= 0) ? Math.max(...firstEos) + 1 : maxNewTokens;
  expect(res.decodeSteps).toBe(expectedSteps);
  expect(res.items.every((it) => it.length === expectedSteps + 1)).toBe(true);
  expect(firstEos[0]).toBe(k0);

  // a batch whose only row ends at step k0 + 1 stops there; stopAtEos: false runs to the cap with the same outputs
  const one = await generate(model, [prompts[0]], { maxNewTokens, eosTokenId: eos });
  expect(one.decodeSteps).toBe(k0 + 1);
  expect(one.items[0]).toMatchObject({
    outputIds: out0.slice(0, k0),
    numOutputTokens: k0 + 1,
    length: k0 + 2,
    isFinished: true,
  });
  const full = await generate(model, [prompts[0]], { maxNewTokens, eosTokenId: eos, stopAtEos: false });
  expect(full.decodeSteps).toBe(maxNewTokens);
  expect(full.items[0]).toMatchObject({
    outputIds: out0.slice(0, k0),
    numOutputTokens: k0 + 1,
    length: maxNewTokens + 1,
    isFinished: true,
  });
});

test('maxNewTokens caps generation; sampling is reproducible from its seed and differs across seeds', async () => {
  const a = await generate(model, prompts, { maxNewTokens: 8, temperature: 1, seed: 'x', eosTokenId: null });
  const b = await generate(model, prompts, { maxNewTokens: 8, temperature: 1, seed: 'x', eosTokenId: null });
  const c = await generate(model, prompts, { maxNewTokens: 8, temperature: 1, seed: 'y', eosTokenId: null });
  expect(a.items.map((i) => i.outputIds)).toEqual(b.items.map((i) => i.outputIds));
  expect(a.items.map((i) => i.outputIds)).not.toEqual(c.items.map((i) => i.outputIds));
  expect(a.items.every((i) => i.outputIds.length === 8 && i.outputIds.every((t) => t >= 0 && t < 40))).toBe(true);
});

test('bad input is refused', async () => {
  await expect(generate(model, [[1, 99]], { maxNewTokens: 2 })).rejects.toThrow(
    'prompt 0 holds token id 99, outside [0, 40)',
  );
  await expect(generate(model, [[]], { maxNewTokens: 2 })).rejects.toThrow('prompt 0 is empty');
  await expect(generate(model, [[1]], { maxNewTokens: 0 })).rejects.toThrow('maxNewTokens must be a positive integer');
});
