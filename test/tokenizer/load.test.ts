/**
 * loadTokenizer: HF tokenizer.json files read offline through transformers.js (tiny BPE and WordLevel
 * tokenizers written here, ids worked out by hand), the id-mapped LLaMA tokenizer and its file, and errors.
 */
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';
import { buildIdMap, loadIdMap, remapTokenizer, saveIdMap, type RemappedTokenizer } from '../../src/tokenizer/idmap.js';
import { countTokens, llamaTokenizer } from '../../src/tokenizer/llama.js';

const tmp = mkdtempSync(join(tmpdir(), 'seqsch-tok-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A BPE over characters with 4 merges: "hello" merges fully (h e → he, l l → ll, he ll → hell, hell o → hello),
// "world" has no merges, "?" is not in the vocabulary → <unk>. BOS is added by the post-processor.
const bpeJson = {
  version: '1.0',
  added_tokens: [
    { id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    { id: 1, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    { id: 2, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
  ],
  normalizer: null,
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: '<s>', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
    ],
    special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
  },
  decoder: null,
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: '<unk>',
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    vocab: {
      '<unk>': 0,
      '<s>': 1,
      '</s>': 2,
      h: 3,
      e: 4,
      l: 5,
      o: 6,
      he: 7,
      ll: 8,
      hell: 9,
      hello: 10,
      w: 11,
      r: 12,
      d: 13,
      '!': 14,
    },
    merges: ['h e', 'l l', 'he ll', 'hell o'],
  },
};

describe('loadTokenizer: HF tokenizer.json offline', () => {
  test('BPE tokenizer.json file without tokenizer_config.json', async () => {
    const file = join(tmp, 'bpe', 'tokenizer.json');
    mkdirSync(join(tmp, 'bpe'), { recursive: true });
    writeFileSync(file, JSON.stringify(bpeJson));
    for (const where of [file, join(tmp, 'bpe')]) {
      const tok = await loadTokenizer(where);
      expect(tok.encode('hello world!')).toEqual([1, 10, 11, 6, 12, 5, 13, 14]);
      expect(tok.encode('hello world!', { addBos: false })).toEqual([10, 11, 6, 12, 5, 13, 14]);
      expect(tok.encode('hell?')).toEqual([1, 9, 0]);
      expect([tok.unkId, tok.bosId, tok.eosId, tok.padId, tok.vocabSize]).toEqual([0, 1, 2, 2, 15]); // no pad → eos
    }
  });

  test('WordLevel folder with tokenizer_config.json naming the special tokens', async () => {
    const dir = join(tmp, 'wordlevel');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'tokenizer.json'),
      JSON.stringify({
        version: '1.0',
        added_tokens: [
          {
            id: 0,
            content: '[UNK]',
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: true,
          },
          {
            id: 1,
            content: '[BOS]',
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: true,
          },
          {
            id: 2,
            content: '[EOS]',
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: true,
          },
          {
            id: 3,
            content: '[PAD]',
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: true,
          },
        ],
        normalizer: { type: 'Lowercase' },
        pre_tokenizer: { type: 'WhitespaceSplit' },
        post_processor: null,
        decoder: null,
        model: {
          type: 'WordLevel',
          vocab: { '[UNK]': 0, '[BOS]': 1, '[EOS]': 2, '[PAD]': 3, red: 4, green: 5, blue: 6 },
          unk_token: '[UNK]',
        },
      }),
    );
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({
        tokenizer_class: 'PreTrainedTokenizerFast',
        bos_token: '[BOS]',
        eos_token: '[EOS]',
        unk_token: '[UNK]',
        pad_token: '[PAD]',
      }),
    );
    const tok = await loadTokenizer(dir);
    expect(tok.encode('Red green  purple BLUE')).toEqual([4, 5, 0, 6]); // no post-processor: nothing added
    expect([tok.unkId, tok.bosId, tok.eosId, tok.padId, tok.vocabSize]).toEqual([0, 1, 2, 3, 7]);
    expect(tok.decode([1, 4, 5, 6, 2])).toBe('red green blue'); // specials skipped; tokens joined by spaces
  });

  test('errors name the path', async () => {
    await expect(loadTokenizer(join(tmp, 'nope'))).rejects.toThrow(/nope: no such tokenizer/);
    mkdirSync(join(tmp, 'empty'), { recursive: true });
    await expect(loadTokenizer(join(tmp, 'empty'))).rejects.toThrow(
      /empty: folder has neither tokenizer.json nor tokenizer_idmap.json/,
    );
    writeFileSync(join(tmp, 'bad.json'), JSON.stringify({ hello: 1 }));
    await expect(loadTokenizer(join(tmp, 'bad.json'))).rejects.toThrow(
      /bad.json: not an HF tokenizer.json \(no "model" key\)/,
    );
  });

  test("'llama' and 'llama-1' name the built-in tokenizer", async () => {
    expect((await loadTokenizer('llama')).encode('Hello world!')).toEqual([1, 15043, 3186, 29991]);
    expect(await loadTokenizer('llama-1')).toBe(llamaTokenizer());
  });
});

describe('id-mapped LLaMA tokenizer', () => {
  const corpus = ['Hello world!', 'The three primary colors are red, blue, and yellow.', 'List seven animals:\n1. cat'];
  const base = llamaTokenizer();
  const kept = buildIdMap(corpus, base);

  test('buildIdMap: specials first, then every id the texts use, ascending', () => {
    expect(kept.slice(0, 3)).toEqual([0, 1, 2]);
    const used = new Set(corpus.flatMap((t) => base.encode(t)));
    expect(new Set(kept)).toEqual(new Set([0, 1, 2, ...used]));
    expect(kept.slice(3)).toEqual([...kept.slice(3)].sort((a, b) => a - b));
  });

  test('round trip: model ids ↔ base ids, same text, same counts, unseen ids → unk', () => {
    const tok = remapTokenizer(base, kept);
    expect(tok.vocabSize).toBe(kept.length);
    expect([tok.unkId, tok.bosId, tok.eosId, tok.padId]).toEqual([0, 1, 2, 0]);
    for (const t of corpus) {
      const ids = tok.encode(t);
      expect(ids.every((i) => i >= 0 && i < kept.length)).toBe(true);
      expect(tok.toBase(ids)).toEqual(base.encode(t));
      expect(tok.toModel(base.encode(t))).toEqual(ids);
      expect(tok.decode(ids)).toBe(t);
      expect(ids.length).toBe(countTokens(t));
    }
    // "zebra" is not in the corpus: its pieces map to unk, the count stays LLaMA's.
    const z = tok.encode('Hello zebra');
    expect(z.length).toBe(countTokens('Hello zebra'));
    expect(z[1]).toBe(tok.toModel([15043])[0]);
    expect(z.slice(2).every((i) => i === 0)).toBe(true);
    expect(() => tok.toBase([kept.length])).toThrow(/model id \d+ outside/);
  });

  test('save → loadTokenizer(dir) picks up tokenizer_idmap.json', async () => {
    const dir = join(tmp, 'tiny');
    saveIdMap(dir, kept);
    expect(loadIdMap(dir)).toEqual({ base: 'llama-1', keptIds: kept });
    const tok = (await loadTokenizer(dir)) as RemappedTokenizer;
    expect(tok.name).toBe(`llama-1+idmap(${kept.length})`);
    expect(tok.keptIds).toEqual(kept);
    expect(tok.encode(corpus[1])).toEqual(remapTokenizer(base, kept).encode(corpus[1]));
  });

  test('invalid maps are refused with the file and index named', () => {
    expect(() => remapTokenizer(base, [1, 0, 2])).toThrow(/must start with unk, bos, eos = \[0, 1, 2\]/);
    expect(() => remapTokenizer(base, [0, 1, 2, 5, 5])).toThrow(/kept_ids\[4\] = 5 appears twice/);
    expect(() => remapTokenizer(base, [0, 1, 2, 32000])).toThrow(
      /kept_ids\[3\] = 32000 is not a token id in \[0, 32000\)/,
    );
    const dir = join(tmp, 'badmap');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tokenizer_idmap.json'), JSON.stringify({ base: 'llama-1', kept_ids: [0, 1, 2, 'x'] }));
    expect(() => loadIdMap(dir)).toThrow(/badmap\/tokenizer_idmap.json: kept_ids\[3\] = "x" is not a token id/);
  });
});
