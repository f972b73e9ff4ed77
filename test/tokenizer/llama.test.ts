/**
 * The built-in LLaMA-1 tokenizer against reference ids of HF's slow LlamaTokenizer, and `countTokens` against
 * the paper's recorded L_gt (token count of the reference answer, BOS included) on the Alpaca split.
 */
import { readJson } from '../../src/util/fs.js';
import { countTokens, llamaTokenizer } from '../../src/tokenizer/llama.js';
import { repoPath } from '../helpers/paths.js';

const tok = llamaTokenizer();

describe('llamaTokenizer', () => {
  // Ids of HF transformers' LlamaTokenizer (LLaMA-1 sentencepiece model) for these strings.
  test.each([
    ['Hello world!', [1, 15043, 3186, 29991]],
    ['grabbed', [1, 2646, 1327, 287]],
    [' grabbed', [1, 29871, 2646, 1327, 287]],
    ['           grabbed', [1, 9651, 2646, 1327, 287]],
    ['\n', [1, 29871, 13]],
    [' \n', [1, 259, 13]],
    ['\ttabs\t\t\t\tout here', [1, 29871, 12, 21175, 12, 12, 12, 12, 449, 1244]],
    ['ax\n####\nboo', [1, 4853, 13, 4136, 13, 833, 29877]],
    ['镇', [1, 29871, 30411]],
    ['🦙', [1, 29871, 243, 162, 169, 156]],
  ])('encode(%j) = HF ids', (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
    expect(tok.encode(text, { addBos: false })).toEqual(ids.slice(1));
  });

  test('special ids and sizes', () => {
    expect([tok.unkId, tok.bosId, tok.eosId, tok.padId, tok.vocabSize]).toEqual([0, 1, 2, 0, 32000]);
    expect([0, 1, 2, 29871].map((i) => tok.piece(i))).toEqual(['<unk>', '<s>', '</s>', '▁']);
  });

  test('no piece holds "▁" after another character (what makes the word-by-word BPE in llama.ts exact)', () => {
    const pieces = Array.from({ length: tok.vocabSize }, (_, i) => tok.piece(i));
    expect(pieces.filter((p) => /[^▁]▁/.test(p))).toEqual([]);
    expect(pieces.filter((p) => /^▁+$/.test(p)).length).toBe(16); // whitespace runs are pieces of their own
  });

  test('empty text is [BOS] as in HF (llama-tokenizer-js alone returns [])', () => {
    expect(tok.encode('')).toEqual([1]);
    expect(tok.encode('', { addBos: false })).toEqual([]);
    expect(countTokens('')).toBe(1);
  });

  test('special-token strings become their ids; each chunk gets its own dummy-prefix space (transformers legacy)', () => {
    const ids = tok.encode('a</s>b<s><unk>');
    expect(ids.map((i) => tok.piece(i))).toEqual(['<s>', '▁a', '</s>', '▁b', '<s>', '<unk>']);
    // FastChat's training text ends in "</s>": the same ids as encoding without it and appending EOS.
    const text = 'USER: hi ASSISTANT: Hello there.';
    expect(tok.encode(text + '</s>')).toEqual([...tok.encode(text), 2]);
  });

  test.each(['Hello world!', '  two  spaces ', 'line\nbreaks\n\nand\ttabs', 'Ünïcödé 镇 🦙 Ꙋ', '1.Eat 2. Sleep'])(
    'decode(encode(%j)) round-trips',
    (text) => {
      expect(tok.decode(tok.encode(text))).toBe(text);
    },
  );

  test('decode skips special ids and rejects ids outside the vocabulary', () => {
    expect(tok.decode([1, 15043, 3186, 29991, 2])).toBe('Hello world!');
    expect(tok.decode([])).toBe('');
    expect(() => tok.decode([32000])).toThrow(/token id 32000 outside \[0, 32000\)/);
  });
});

type Conv = { id: string; conversations: { from: string; value: string }[] };
type Len = { id: string; L_gt: number };

describe("countTokens = the paper's L_gt on Alpaca", () => {
  test.each(['val', 'train'])('alpaca-%s-10k: countTokens(gpt answer) == L_gt for >= 99.5% of items', (split) => {
    const convs = readJson<Conv[]>(repoPath(`data/alpaca/alpaca-${split}-10k.json.gz`));
    const lens = readJson<Len[]>(repoPath(`data/alpaca/alpaca-${split}-10k-length.json.gz`));
    expect(convs.length).toBe(10000);
    expect(lens.length).toBe(convs.length);
    let match = 0;
    const misses: string[] = [];
    convs.forEach((c, i) => {
      expect(lens[i].id).toBe(c.id); // the two files are aligned item by item
      const answer = c.conversations.find((t) => t.from === 'gpt')!.value;
      const n = countTokens(answer);
      if (n === lens[i].L_gt) match++;
      else if (misses.length < 5) misses.push(`id ${c.id}: ours ${n}, L_gt ${lens[i].L_gt}`);
    });
    // eslint-disable-next-line no-console
    console.log(
      `alpaca-${split}-10k: countTokens == L_gt for ${match}/${convs.length} answers${misses.length ? `; e.g. ${misses.join('; ')}` : ''}`,
    );
    expect(match / convs.length).toBeGreaterThanOrEqual(0.995);
  });
});
