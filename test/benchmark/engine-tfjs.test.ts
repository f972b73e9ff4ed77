/**
 * The real engine through the shared driver on a tiny random model: every batch the driver asks for is
 * exactly what `generate` produces for those prompts and that limit (decode steps, EOS per row), each row's
 * count is upstream's (the answer sliced from the decoded prompt + answer, re-tokenized with LLaMA-1, BOS included), the driver's per-query
 * results and trace are those batches, and the LoRA adapter is off while generating and restored after.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { Llama } from '../../src/model/llama.js';
import { generate } from '../../src/generation/generate.js';
import { TfjsEngine } from '../../src/engines/batch-tfjs.js';
import { runBenchmark } from '../../src/benchmark/driver.js';
import type { BatchOutcome, Engine } from '../../src/engines/batch.js';
import type { BenchItem } from '../../src/core/query.js';
import { vanillaPredictor } from '../../src/perception/predictor.js';
import type { LengthPredictor } from '../../src/core/predictor.js';
import { DEFAULT_SCHEDULE } from '../../src/scheduling/schedule.js';
import { vicunaPrompt } from '../../src/data/conversation.js';
import { countTokens, llamaTokenizer } from '../../src/tokenizer/llama.js';
import { buildIdMap, remapTokenizer, type RemappedTokenizer } from '../../src/tokenizer/idmap.js';
import { tinyConfig } from '../model/helpers.js';

const instructions = [
  'List three animals.',
  'Count from 1 to 5.',
  'Is a cat an animal?',
  'Tell a story.',
  'Name a color.',
  'Write one sentence about the sea.',
  'Say hi.',
];
let model: Llama;
let tok: RemappedTokenizer;
let items: BenchItem[];

beforeAll(async () => {
  await initBackend('wasm');
  // a small id-mapped vocabulary (the prompts' ids) so a random model emits EOS (model id 2) now and then
  tok = remapTokenizer(llamaTokenizer(), buildIdMap(instructions.map(vicunaPrompt), llamaTokenizer()));
  model = Llama.random(tinyConfig({ vocabSize: tok.vocabSize, maxPositionEmbeddings: 128 }), 'engine', 0.3);
  items = instructions.map((ins, index) => {
    const prompt = vicunaPrompt(ins);
    return { id: String(index + 1), index, prompt, promptTokens: countTokens(prompt) };
  });
});
afterAll(() => model.dispose());

/** Wraps an engine and records every call, so the test knows which queries went into which batch. */
class RecordingEngine implements Engine {
  readonly name = 'recording';
  calls: { items: BenchItem[]; limit: number; out: BatchOutcome }[] = [];
  constructor(private inner: Engine) {}
  async generateBatch(batch: BenchItem[], limit: number): Promise<BatchOutcome> {
    const out = await this.inner.generateBatch(batch, limit);
    this.calls.push({ items: batch, limit, out });
    return out;
  }
}

/** upstream generate.py: sentence = decode(prompt + answer); output = sentence[len(prompt):]; len(tokenizer(output).input_ids) */
function upstreamCount(promptIds: number[], outputIds: number[]): number {
  const prompt = tok.decode(promptIds);
  const sentence = tok.decode([...promptIds, ...outputIds]);
  expect(sentence.startsWith(prompt)).toBe(true);
  return countTokens(sentence.slice(prompt.length));
}

/** Fixed predictions (by query index) so the schedule and FCR limits are known. */
const fixedPredictor = (lengths: number[]): LengthPredictor => ({
  name: 'seqsch',
  predict: async (batch) => ({ lengths: batch.map((it) => lengths[it.index]), seconds: 0, charged: true }),
});

async function expectBatchesMatchGenerate(rec: RecordingEngine): Promise<void> {
  for (const call of rec.calls) {
    const g = await generate(
      model,
      call.items.map((it) => tok.encode(it.prompt)),
      { maxNewTokens: call.limit, eosTokenId: tok.eosId },
    );
    expect(call.out.decodeSteps).toBe(g.decodeSteps);
    expect(call.out.rows.map((r) => r.isFinished)).toEqual(g.items.map((it) => it.isFinished));
    expect(call.out.rows.map((r) => r.numOutputTokens)).toEqual(
      g.items.map((it, b) => upstreamCount(tok.encode(call.items[b].prompt), it.outputIds)),
    );
  }
}

test('vanilla through the driver: 3 batches, each equal to generate on its prompts; results and trace are those batches', async () => {
  const rec = new RecordingEngine(new TfjsEngine(model, tok));
  const r = await runBenchmark(items, rec, vanillaPredictor(10), {
    schedule: { ...DEFAULT_SCHEDULE, batchSize: 3 },
    maxLength: 10,
    groupSize: 7,
  });
  expect(rec.calls.map((c) => c.items.length)).toEqual([3, 3, 1]);
  expect(rec.calls.every((c) => c.limit === 10)).toBe(true);
  await expectBatchesMatchGenerate(rec);
  // some row finished and some did not, so both branches of the counting were exercised
  const rows = rec.calls.flatMap((c) => c.out.rows);
  expect(rows.some((x) => x.isFinished)).toBe(true);
  expect(rows.some((x) => !x.isFinished)).toBe(true);
  // per query: the row of the batch that generated it; length = that batch's steps + 1
  for (const c of rec.calls) {
    c.items.forEach((it, k) => {
      const res = r.items[it.index];
      expect(res.id).toBe(it.id);
      expect(res.numOutputTokens).toBe(c.out.rows[k].numOutputTokens);
      expect(res.isFinished).toBe(c.out.rows[k].isFinished);
      expect(res.length).toBe(c.out.decodeSteps + 1);
    });
  }
  expect(r.trace.map((t) => [t.size, t.limit, t.decodeSteps, t.seconds])).toEqual(
    rec.calls.map((c) => [c.items.length, c.limit, c.out.decodeSteps, c.out.seconds]),
  );
  expect(r.trace.map((t) => t.promptTokens)).toEqual(
    rec.calls.map((c) => Math.max(...c.items.map((it) => it.promptTokens!))),
  );
  expect(r.seconds).toBeCloseTo(
    rec.calls.reduce((s, c) => s + c.out.seconds, 0),
    9,
  );
  expect(r.num_samples).toBe(7);
});

test('FCR on the real engine: short limits fail, failed queries are regenerated at max length and replace their rows', async () => {
  const rec = new RecordingEngine(new TfjsEngine(model, tok));
  const preds = [2, 3, 2, 4, 3, 2, 3];
  const r = await runBenchmark(items, rec, fixedPredictor(preds), {
    schedule: { ...DEFAULT_SCHEDULE, batchSize: 4, fcr: true },
    maxLength: 12,
    groupSize: 7,
  });
  await expectBatchesMatchGenerate(rec);
  const scheduled = rec.calls.filter((c) => c.limit < 12);
  const failedIds = scheduled.flatMap((c) => c.items.filter((_, k) => !c.out.rows[k].isFinished).map((it) => it.id));
  expect(failedIds.length).toBeGreaterThan(0);
  expect(r.failed).toBe(failedIds.length);
  const redone = rec.calls.filter((c) => c.limit === 12).flatMap((c) => c.items.map((it) => it.id));
  expect(redone).toEqual(failedIds);
  for (const it of r.items) expect(it.recomputed).toBe(failedIds.includes(it.id));
});

test('the adapter is off while generating and switched back on after; no tensor leaks', async () => {
  const lora = model.attachLora({ r: 4, dropout: 0 }, 'x');
  for (const v of lora.bT.values()) v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 7));
  try {
    const engine = new TfjsEngine(model, tok);
    const before = tf.memory().numTensors;
    const out = await engine.generateBatch(items.slice(0, 3), 8);
    expect(tf.memory().numTensors).toBe(before);
    expect(lora.enabled).toBe(true);
    lora.enabled = false;
    const base = await generate(
      model,
      items.slice(0, 3).map((it) => tok.encode(it.prompt)),
      { maxNewTokens: 8, eosTokenId: tok.eosId },
    );
    lora.enabled = true;
    const withLora = await generate(
      model,
      items.slice(0, 3).map((it) => tok.encode(it.prompt)),
      { maxNewTokens: 8, eosTokenId: tok.eosId },
    );
    expect(withLora.items.map((it) => it.outputIds)).not.toEqual(base.items.map((it) => it.outputIds)); // the adapter matters
    expect(out.rows.map((r) => r.numOutputTokens)).toEqual(
      base.items.map((it, b) => upstreamCount(tok.encode(items[b].prompt), it.outputIds)),
    );
    expect(out.decodeSteps).toBe(base.decodeSteps);
  } finally {
    model.setLora(null);
  }
});

test("a limit past max_position_embeddings is cut at the model's last position; the rows that did not finish are failures", async () => {
  const prompts = items.slice(0, 2).map((it) => tok.encode(it.prompt));
  const room = 128 - Math.max(...prompts.map((p) => p.length)); // positions left after the widest prompt
  const out = await new TfjsEngine(model, tok).generateBatch(items.slice(0, 2), 200);
  const ref = await generate(model, prompts, { maxNewTokens: room, temperature: 0, eosTokenId: tok.eosId });
  expect(out.decodeSteps).toBe(ref.decodeSteps);
  expect(out.decodeSteps).toBeLessThanOrEqual(room);
  expect(out.rows.map((r) => r.isFinished)).toEqual(ref.items.map((r) => r.isFinished));
});

test('a limit of 0 (a zero or unparseable prediction under FCR) generates nothing and fails every row', async () => {
  const out = await new TfjsEngine(model, tok).generateBatch(items.slice(0, 3), 0);
  expect(out.decodeSteps).toBe(0);
  expect(out.rows).toEqual([0, 1, 2].map(() => ({ numOutputTokens: 1, isFinished: false })));
});

test('prompts that alone fill max_position_embeddings are refused with the numbers', async () => {
  const long = { ...items[0], prompt: vicunaPrompt('List three animals. '.repeat(40)) };
  await expect(new TfjsEngine(model, tok).generateBatch([long], 8)).rejects.toThrow(/max_position_embeddings 128/);
});
