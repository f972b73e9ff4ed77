/** The paper's length prompts, their insertion and the answer parsers, pinned to the upstream strings and semantics. */
import {
  PIA_PROMPT,
  QUERY_PROMPT,
  insertLengthPrompt,
  parsePoLength,
  parseQueryLength,
} from '../../src/data/prompts.js';
import { vicunaPrompt } from '../../src/data/conversation.js';

describe('length prompts', () => {
  test('strings are the upstream ones, character for character', () => {
    expect(QUERY_PROMPT).toBe(
      "\nDon't output the response for the above instruction. Instead, you need to predict the number of tokens in your response. Output one number only.",
    );
    expect(PIA_PROMPT).toBe(
      '\nBefore responding to the above instruction, you have to predict the length of your response. Print the estimated number of tokens in your response in the first line. Then change to a new line to respond to the instruction.',
    );
  });

  test('insertLengthPrompt puts the prompt before the final " ASSISTANT:" (p[:-11] + PROMPT + p[-11:])', () => {
    const p = vicunaPrompt('Name a color.');
    expect(insertLengthPrompt(p, QUERY_PROMPT)).toBe(
      "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: Name a color.\nDon't output the response for the above instruction. Instead, you need to predict the number of tokens in your response. Output one number only. ASSISTANT:",
    );
    expect(insertLengthPrompt(p, PIA_PROMPT)).toBe(p.slice(0, -11) + PIA_PROMPT + p.slice(-11));
    expect(() => insertLengthPrompt('USER: hi ASSISTANT: ', QUERY_PROMPT)).toThrow(/must end with " ASSISTANT:"/);
  });
});

describe('parsers', () => {
  test.each([
    ['', 0],
    ['I will write a short poem.', 0],
    ['120\nHere is my answer.', 120],
    ['The estimated number of tokens is 85.', 85],
    ['100-150\nSure!', 125],
    ['Between 80 and 95 tokens, in 3 paragraphs', 87.5],
    ['007', 7],
  ])('parsePoLength(%j) = %p (upstream extract_all_numbers)', (text, n) => {
    expect(parsePoLength(text)).toBe(n);
  });

  test.each([
    ['150', 150],
    ['  42 \n', 42],
    ['-5', -5], // int("-5") upstream
    ['about 200 tokens, maybe 250', 200],
    ['I cannot tell.', null],
    ['', null],
  ])('parseQueryLength(%j) = %p', (text, n) => {
    expect(parseQueryLength(text)).toBe(n);
  });
});
