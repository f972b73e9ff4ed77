/**
 * construct (upstream src/construct.py): the query prompt lands right before the final " ASSISTANT:" of the
 * vicuna prompt, and the answer is String(buckit(L_max, cell)) with L_max over the four temperatures.
 */
import { constructInstructData } from '../../src/perception/construct.js';
import { insertLengthPrompt, QUERY_PROMPT } from '../../src/data/prompts.js';
import { vicunaPrompt, type Conversation, type LengthRecord } from '../../src/data/conversation.js';

const conv = (id: string, q: string, a: string): Conversation => ({
  id,
  conversations: [
    { from: 'human', value: q },
    { from: 'gpt', value: a },
  ],
});
const rec = (id: string, l: [number, number, number, number], gt = 7): LengthRecord => ({
  id,
  L_gt: gt,
  'L_t0.0': l[0],
  'L_t0.3': l[1],
  'L_t0.5': l[2],
  'L_t0.7': l[3],
});

const convs = [
  conv('1', 'List three animals.', '1. Cat\n2. Dog\n3. Cow'),
  conv('2', 'Tell a story.', 'Once…'),
  conv('3', 'Say hi.', 'Hi.'),
];

test('exact output: query prompt appended to the instruction, bucketed L_max as the answer, records order', () => {
  const out = constructInstructData(convs, [
    rec('2', [120, 180, 151, 90]),
    rec('1', [12, 50, 20, 31]),
    rec('3', [0, 0, 0, 0]),
  ]);
  expect(out).toEqual([
    conv('2', `Tell a story.${QUERY_PROMPT}`, '200'), // L_max 180 → 200
    conv('1', `List three animals.${QUERY_PROMPT}`, '50'), // exact multiple stays
    conv('3', `Say hi.${QUERY_PROMPT}`, '0'), // buckit(0) = 0, as upstream
  ]);
  expect(out[0].conversations[0].value).toBe(
    "Tell a story.\nDon't output the response for the above instruction. Instead, you need to predict the number of tokens in your response. Output one number only.",
  );
});

test('the template places the query prompt exactly where insertLengthPrompt does (before the last 11 characters)', () => {
  const [c] = constructInstructData(convs, [rec('1', [51, 1, 1, 1])]);
  const prompt = vicunaPrompt(c.conversations[0].value);
  expect(prompt).toBe(insertLengthPrompt(vicunaPrompt('List three animals.'), QUERY_PROMPT));
  expect(prompt.endsWith(`${QUERY_PROMPT} ASSISTANT:`)).toBe(true);
  expect(c.conversations[1].value).toBe('100'); // 51 → 100
});

test('other cells, and a record without its query is an error naming the id', () => {
  expect(constructInstructData(convs, [rec('1', [26, 3, 4, 5])], 25)[0].conversations[1].value).toBe('50');
  expect(() => constructInstructData(convs, [rec('9', [1, 2, 3, 4])])).toThrow(/id 9/);
});
