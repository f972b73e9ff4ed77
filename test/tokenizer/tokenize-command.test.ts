/** `seqsch tokenize` handler: one JSON line per item, counts with BOS as `len(tokenizer(answer).input_ids)`. */
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandOf } from '../../src/commands/mount.js';
import { tokenizeJob } from '../../src/jobs/tokenize.js';
import { saveConversations } from '../../src/data/conversation.js';
import { conversation } from '../helpers/conversations.js';

const tmp = mkdtempSync(join(tmpdir(), 'seqsch-tokcmd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: Record<string, unknown>): Promise<string[]> {
  const out: string[] = [];
  const w = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  const l = jest.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s) + '\n'));
  try {
    await (commandOf(tokenizeJob).handler as (a: unknown) => Promise<void>)({
      count: false,
      tokenizer: 'llama',
      role: 'gpt',
      bos: true,
      json: false,
      ...args,
    });
  } finally {
    w.mockRestore();
    l.mockRestore();
  }
  return out.join('').trimEnd().split('\n');
}

test('--count prints {"id", "tokens"} per item (gpt turn, BOS included); ids without --count; --json summary last', async () => {
  const data = join(tmp, 'conv.json');
  saveConversations(data, [conversation('1', 'Greet.', 'Hello world!'), conversation('2', 'Say nothing.', '')]);
  expect(await run({ data, count: true })).toEqual(['{"id":"1","tokens":4}', '{"id":"2","tokens":1}']);
  expect(await run({ data })).toEqual(['{"id":"1","ids":[1,15043,3186,29991]}', '{"id":"2","ids":[1]}']);
  const withJson = await run({ data, count: true, json: true, bos: false });
  expect(withJson.slice(0, 2)).toEqual(['{"id":"1","tokens":3}', '{"id":"2","tokens":0}']);
  expect(JSON.parse(withJson[2])).toEqual({ items: 2, tokens_total: 3, tokenizer: 'llama-1', role: 'gpt', bos: false });
});
