/**
 * lenpred on a tiny random model with 3 queries: upstream's record format ({id, L_gt, L_t0.0, …}, integer
 * counts), L_gt = LLaMA-1 count of the reference with BOS, L_tT = upstream's num_output_tokens of the answer
 * (decoded after the prompt, leading space kept, re-counted with BOS) — checked against per-query generate
 * calls, which also shows batching by answer length does not change greedy answers — and resume.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import type { Llama } from '../../src/model/llama.js';
import type { RemappedTokenizer } from '../../src/tokenizer/idmap.js';
import { generate } from '../../src/generation/generate.js';
import { countTokens } from '../../src/tokenizer/llama.js';
import { loadLengths, saveLengths, vicunaPrompt, LENGTH_KEYS, type LengthRecord } from '../../src/data/conversation.js';
import {
  answerText,
  answerTokenCount,
  collectLengths,
  finishedShare,
  type CollectedRecord,
} from '../../src/perception/lenpred.js';
import { QUERIES, tinyModelAndTokenizer } from './helpers.js';

let model: Llama;
let tokenizer: RemappedTokenizer;
beforeAll(async () => {
  await initBackend('wasm'); // before any tensor is made
  ({ model, tokenizer } = tinyModelAndTokenizer());
});
afterAll(() => model.dispose());

test("answer counts are upstream's: decoded after the prompt with its leading space, LLaMA-1 count with BOS", () => {
  const promptIds = tokenizer.encode(vicunaPrompt('Say hi.'));
  const outputIds = tokenizer.encode('A fox ran home.', { addBos: false });
  expect(answerText(tokenizer, promptIds, outputIds)).toBe(' A fox ran home.');
  // " A fox ran home." → BOS, "▁", "▁A", "▁fo", "x", "▁ran", "▁home", "." : one more than the reference text's count
  expect(answerTokenCount(tokenizer, promptIds, outputIds)).toBe(countTokens('A fox ran home.') + 1);
  expect(answerTokenCount(tokenizer, promptIds, [])).toBe(1); // an immediate EOS: the empty answer is BOS only
});

test('record format and values on 3 queries (batch 2, max 8 new tokens)', async () => {
  const maxLength = 8;
  const records = await collectLengths(model, tokenizer, QUERIES, { maxLength, batchSize: 2, seed: 5 });
  expect(records.map((r) => r.id)).toEqual(['11', '12', '13']); // input order, whatever the batching
  const dir = mkdtempSync(join(tmpdir(), 'lenpred-'));
  try {
    saveLengths(join(dir, 'len.json'), records);
    const back = loadLengths(join(dir, 'len.json')); // validates integer counts for every key
    back.forEach((r) => expect(Object.keys(r)).toEqual(['id', 'L_gt', ...LENGTH_KEYS]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [i, c] of QUERIES.entries()) {
    const r = records[i];
    expect(r.L_gt).toBe(countTokens(c.conversations[1].value));
    const ids = tokenizer.encode(vicunaPrompt(c.conversations[0].value));
    const single = (await generate(model, [ids], { maxNewTokens: maxLength, temperature: 0 })).items[0];
    expect(r['L_t0.0']).toBe(answerTokenCount(tokenizer, ids, single.outputIds));
    expect(r.finished['L_t0.0']).toBe(single.isFinished);
    for (const k of LENGTH_KEYS) expect(r[k]).toBeGreaterThanOrEqual(1);
  }
  expect(finishedShare(records)['L_t0.0']).toBe(records.filter((r) => r.finished['L_t0.0']).length / 3);
});

test('resume: records already done are kept as they are and not regenerated', async () => {
  const fake = {
    id: '12',
    L_gt: 999,
    'L_t0.0': 999,
    'L_t0.3': 999,
    'L_t0.5': 999,
    'L_t0.7': 999,
    finished: {},
  } as CollectedRecord;
  const seen: number[] = [];
  const records = await collectLengths(model, tokenizer, QUERIES, {
    maxLength: 4,
    batchSize: 1,
    seed: 5,
    done: [fake],
    onBatch: (r) => seen.push(r.length),
  });
  expect(records[1]).toBe(fake);
  expect(seen).toEqual([2, 3]); // two batches generated (queries 11 and 13)
  expect((records as LengthRecord[])[0].L_gt).toBe(countTokens(QUERIES[0].conversations[1].value));
});
