/**
 * FastChat conversation/length I/O, the vicuna_v1.1 template strings, and `trainingExample` against FastChat's
 * own masking arithmetic (re-stated below from fastchat/train/train.py, fschat 0.2.9) on Alpaca val items.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ASSISTANT_TAG,
  VICUNA_SYSTEM,
  firstTurn,
  lMax,
  loadConversations,
  loadLengths,
  saveConversations,
  saveLengths,
  trainingExample,
  vicunaPrompt,
  vicunaTrainingText,
  type Conversation,
  type LengthRecord,
} from '../../src/data/conversation.js';
import { llamaTokenizer } from '../../src/tokenizer/llama.js';
import { ALPACA } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'seqsch-conv-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tok = llamaTokenizer();

describe('vicuna_v1.1 template', () => {
  test('prompt and training text strings', () => {
    expect(VICUNA_SYSTEM).toBe(
      "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.",
    );
    expect(ASSISTANT_TAG).toHaveLength(11);
    expect(vicunaPrompt('Name a color.')).toBe(`${VICUNA_SYSTEM} USER: Name a color. ASSISTANT:`);
    expect(vicunaTrainingText('Name a color.', 'Blue.')).toBe(
      `${VICUNA_SYSTEM} USER: Name a color. ASSISTANT: Blue.</s>`,
    );
  });

  test('trainingExample: ids of the FastChat text; loss on the answer tokens and EOS only', () => {
    const ex = trainingExample(tok, 'Name a color.', 'Blue is a color.');
    expect(ex.ids).toEqual(tok.encode(vicunaTrainingText('Name a color.', 'Blue is a color.')));
    const promptLen = tok.encode(vicunaPrompt('Name a color.')).length;
    expect(ex.labelMask).toEqual(ex.ids.map((_, i) => (i < promptLen ? 0 : 1)));
    const labelled = ex.ids.filter((_, i) => ex.labelMask[i] === 1);
    expect(labelled.map((i) => tok.piece(i))).toEqual(['▁Blue', '▁is', '▁a', '▁color', '.', '</s>']);
  });
});

/** FastChat's masking for one vicuna_v1.1 round (train.py preprocess): returns the label mask it produces. */
function fastchatMask(instruction: string, answer: string): { ids: number[]; mask: number[] } {
  const conversation = vicunaTrainingText(instruction, answer);
  const ids = tok.encode(conversation);
  const mask = ids.map(() => 1);
  const sep = ' ASSISTANT: ';
  let curLen = 1;
  mask[0] = 0;
  for (const rou of conversation.split('</s>')) {
    if (rou === '') break;
    const parts = rou.split(sep);
    if (parts.length !== 2) break;
    const roundLen = tok.encode(rou).length;
    const instructionLen = tok.encode(parts[0] + sep).length - 2;
    for (let i = curLen; i < curLen + instructionLen; i++) mask[i] = 0;
    curLen += roundLen;
  }
  for (let i = curLen; i < mask.length; i++) mask[i] = 0;
  return { ids, mask };
}

describe('trainingExample = FastChat on Alpaca val', () => {
  test('first 1000 items: same ids, same mask; prompt ids are a prefix of the example', () => {
    const convs = loadConversations(ALPACA.valData).slice(0, 1000);
    for (const c of convs) {
      const [instruction, answer] = [firstTurn(c, 'human'), firstTurn(c, 'gpt')];
      if (answer.includes(' ASSISTANT: ')) continue; // FastChat's split would break; none in Alpaca
      const ex = trainingExample(tok, instruction, answer);
      const ref = fastchatMask(instruction, answer);
      expect({ id: c.id, ids: ex.ids, mask: ex.labelMask }).toEqual({ id: c.id, ids: ref.ids, mask: ref.mask });
      const promptIds = tok.encode(vicunaPrompt(instruction));
      expect(ex.ids.slice(0, promptIds.length)).toEqual(promptIds);
    }
    expect(convs.length).toBe(1000);
  });
});

describe('conversation and length files', () => {
  const items: Conversation[] = [
    {
      id: '1',
      conversations: [
        { from: 'human', value: 'Say hi.' },
        { from: 'gpt', value: 'Hi!' },
      ],
    },
    {
      id: '7',
      conversations: [
        { from: 'human', value: 'Count to 3.' },
        { from: 'gpt', value: '1, 2, 3.' },
      ],
    },
  ];

  test('save → load round trip; firstTurn', () => {
    const path = join(tmp, 'conv.json');
    saveConversations(path, items);
    const back = loadConversations(path);
    expect(back).toEqual(items);
    expect([firstTurn(back[1], 'human'), firstTurn(back[1], 'gpt')]).toEqual(['Count to 3.', '1, 2, 3.']);
    expect(() => firstTurn({ id: '9', conversations: [] }, 'gpt')).toThrow(/conversation 9: has no "gpt" turn/);
  });

  test.each([
    [{ a: 1 }, /expected a JSON array of conversations/],
    [[{ id: 1, conversations: [] }], /item 0: "id" must be a string \(got 1\)/],
    [[{ id: '1', conversations: [] }, { id: '2' }], /item 1 \(id 2\): "conversations" must be an array/],
    [
      [{ id: '3', conversations: [{ from: 'user', value: 'x' }] }],
      /item 0 \(id 3\): conversations\[0\]: "from" must be "human" or "gpt" \(got "user"\)/,
    ],
    [
      [{ id: '3', conversations: [{ from: 'gpt', value: 5 }] }],
      /item 0 \(id 3\): conversations\[0\]: "value" must be a string/,
    ],
  ])('loadConversations refuses %j naming file, item and key', (content, message) => {
    const path = join(tmp, 'bad-conv.json');
    writeFileSync(path, JSON.stringify(content));
    expect(() => loadConversations(path)).toThrow(message);
    expect(() => loadConversations(path)).toThrow(/bad-conv\.json/);
  });

  test('lengths: save → load round trip, lMax, errors', () => {
    const recs: LengthRecord[] = [{ id: '1', L_gt: 54, 'L_t0.0': 115, 'L_t0.3': 126, 'L_t0.5': 53, 'L_t0.7': 61 }];
    const path = join(tmp, 'x-length.json');
    saveLengths(path, recs);
    expect(loadLengths(path)).toEqual(recs);
    expect(lMax(recs[0])).toBe(126);
    writeFileSync(path, JSON.stringify([{ ...recs[0], 'L_t0.5': -1 }]));
    expect(() => loadLengths(path)).toThrow(
      /x-length\.json: item 0 \(id 1\): "L_t0.5" must be a token count ≥ 0 \(got -1\)/,
    );
    writeFileSync(path, JSON.stringify([{ id: '1', L_gt: 3 }]));
    expect(() => loadLengths(path)).toThrow(/"L_t0.0" must be a token count/);
  });
});

describe('upstream length file', () => {
  test('alpaca-val-10k-length.json loads; L_max of id 1 is 126 (max of 115, 126, 53, 61)', () => {
    const recs = loadLengths(ALPACA.valLengths);
    expect(recs).toHaveLength(10000);
    expect(recs[0]).toEqual({ id: '1', L_gt: 54, 'L_t0.0': 115, 'L_t0.3': 126, 'L_t0.5': 53, 'L_t0.7': 61 });
    expect(lMax(recs[0])).toBe(126);
  });
});
