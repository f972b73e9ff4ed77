/**
 * The committed tiny base model version 2 (ckpts/tiny-v2, trained on data/synthetic-v2): greedy answers to
 * val queries of the counting families have exactly the asked number of countdown-marked items, then EOS.
 * Its measured EOS share and Pearson on 300 val queries are in ckpts/tiny-v2/README.md (not re-measured here).
 */
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { loadLlama } from '../../src/model/checkpoint.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';
import type { RemappedTokenizer } from '../../src/tokenizer/idmap.js';
import { firstTurn, loadConversations, vicunaPrompt } from '../../src/data/conversation.js';
import { generate } from '../../src/generation/generate.js';
import { REPO_ROOT } from '../helpers/paths.js';

const DIR = join(REPO_ROOT, 'ckpts/tiny-v2');

describe('committed tiny base model v2 (ckpts/tiny-v2)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  test('counting families: N countdown-marked items (N … 1) as asked, then EOS', async () => {
    const model = loadLlama(DIR);
    const tok = (await loadTokenizer(DIR)) as RemappedTokenizer;
    try {
      expect(model.config.vocabSize).toBe(tok.keptIds.length);
      const val = loadConversations(join(REPO_ROOT, 'data/synthetic-v2/val.json')).map((c) => firstTurn(c, 'human'));
      const queries = ['Name 11 fruits, one per line.', 'Write 7 steps to wash the dishes.', 'Give me a list of 3 tools.', 'Repeat the word rain 6 times.'];
      for (const q of queries) expect(val).toContain(q); // unseen in training (val instructions never in pretrain)
      const r = await generate(model, queries.map((q) => tok.encode(vicunaPrompt(q))), { maxNewTokens: 160 });
      const [fruits, steps, tools, rain] = r.items.map((it) => tok.decode(it.outputIds).trim());
      expect(r.items.every((it) => it.isFinished)).toBe(true); // EOS before the cap
      const markers = (n: number) => Array.from({ length: n }, (_, i) => String(n - i));
      expect(fruits.split('\n').map((l) => l.replace(/\. .*/, ''))).toEqual(markers(11));
      expect(steps.split('\n').map((l) => l.replace(/^Step (\d+): .*/, '$1'))).toEqual(markers(7));
      expect(tools.split('\n').map((l) => l.replace(/\. .*/, ''))).toEqual(markers(3));
      expect(rain).toBe('6 rain, 5 rain, 4 rain, 3 rain, 2 rain, 1 rain');
    } finally {
      model.dispose();
    }
  });
});
