/**
 * The model-backed predictors on a tiny random model: parsing of the answers (seqsch integer, po first line
 * with upstream's extract_all_numbers, no number → 0 and counted), the seqsch predictor generates with the
 * LoRA adapter on and leaves it disabled afterwards (also when generation fails), po runs the base model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import type { Llama } from '../../src/model/llama.js';
import type { RemappedTokenizer } from '../../src/tokenizer/idmap.js';
import { generate } from '../../src/generation/generate.js';
import { insertLengthPrompt, PIA_PROMPT, QUERY_PROMPT } from '../../src/data/prompts.js';
import { vicunaPrompt } from '../../src/data/conversation.js';
import {
  askLengths,
  parseLengthAnswer,
  poPredictor,
  seqschPredictor,
  UNPARSEABLE_LENGTH,
} from '../../src/perception/model-predictors.js';
import type { BenchItem } from '../../src/core/query.js';
import { QUERIES, tinyModelAndTokenizer } from './helpers.js';

let model: Llama;
let tokenizer: RemappedTokenizer;
const items: BenchItem[] = QUERIES.map((c, index) => ({
  id: c.id,
  index,
  prompt: vicunaPrompt(c.conversations[0].value),
}));

beforeAll(async () => {
  await initBackend('wasm'); // before any tensor is made
  ({ model, tokenizer } = tinyModelAndTokenizer('predictors'));
  model.attachLora({ r: 4, alpha: 8, dropout: 0.05, targetModules: ['q_proj', 'v_proj'] }, 3);
  // B = 0 would make the adapter a no-op; give it weights so adapter on and off answer differently
  let k = 0;
  for (const v of model.lora!.bT.values()) v.assign(tf.randomNormal(v.shape, 0, 1, 'float32', 100 + k++));
});
afterAll(() => model.dispose());

test('parsing: seqsch integer or first number; po first line only, mean of two numbers; no number → null', () => {
  expect(parseLengthAnswer('seqsch', ' 150')).toBe(150);
  expect(parseLengthAnswer('seqsch', '150 tokens')).toBe(150);
  expect(parseLengthAnswer('seqsch', 'about')).toBeNull();
  expect(parseLengthAnswer('po', '100-150\nStep 1: go.')).toBe(125);
  expect(parseLengthAnswer('po', 'Estimated length: 80\n1. Cat')).toBe(80);
  expect(parseLengthAnswer('po', 'Sure.\nStep 1: go.')).toBeNull(); // numbers of the response itself do not count
  expect(UNPARSEABLE_LENGTH).toBe(0);
});

/** Greedy answers of the model to `prompts` with the adapter on or off, generated directly. */
async function direct(lengthPrompt: string, loraOn: boolean, maxNewTokens: number): Promise<string[]> {
  model.lora!.enabled = loraOn;
  const out: string[] = [];
  for (const it of items) {
    const r = await generate(model, [tokenizer.encode(insertLengthPrompt(it.prompt, lengthPrompt))], {
      maxNewTokens,
      temperature: 0,
    });
    out.push(tokenizer.decode(r.items[0].outputIds));
  }
  model.lora!.enabled = false;
  return out;
}

test('seqsch: answers come from the adapter-on model, and the adapter is disabled afterwards', async () => {
  const on = await direct(QUERY_PROMPT, true, 8);
  const off = await direct(QUERY_PROMPT, false, 8);
  expect(on).not.toEqual(off); // the check below can tell the two apart
  model.lora!.enabled = true;
  const asked = await askLengths(
    model,
    tokenizer,
    items.map((it) => it.prompt),
    { strategy: 'seqsch', maxNewTokens: 8, batchSize: 2 },
  );
  expect(model.lora!.enabled).toBe(false);
  expect(asked.texts).toEqual(on);
  expect(asked.lengths).toEqual(on.map((t) => parseLengthAnswer('seqsch', t) ?? 0));
  expect(asked.parsed).toEqual(on.map((t) => parseLengthAnswer('seqsch', t) !== null));

  const predictor = seqschPredictor(model, tokenizer);
  const p = await predictor.predict(items);
  expect(model.lora!.enabled).toBe(false);
  expect(p.lengths).toEqual(asked.lengths);
  expect(p.seconds).toBeGreaterThan(0);
});

test('seqsch: the adapter is disabled even when generation fails', async () => {
  model.lora!.enabled = true;
  await expect(
    askLengths(model, tokenizer, [items[0].prompt], { strategy: 'seqsch', maxNewTokens: 0 }),
  ).rejects.toThrow(/maxNewTokens/);
  expect(model.lora!.enabled).toBe(false);
});

test('po: the base model (adapter off) answers the PiA prompt; lengths parsed from the first line', async () => {
  const off = await direct(PIA_PROMPT, false, 16);
  model.lora!.enabled = true;
  const p = await poPredictor(model, tokenizer).predict(items);
  expect(model.lora!.enabled).toBe(false);
  expect(p.lengths).toEqual(off.map((t) => parseLengthAnswer('po', t) ?? 0));
});
