/**
 * tokenize as a job (a CLI tool, no stage): token counts or ids of a conversation file's turns, one JSON line per
 * item, written to stdout as it goes. With the default LLaMA-1 tokenizer, `--count` gives the paper's lengths
 * (`len(tokenizer(answer).input_ids)`, BOS included) — the L_gt of a `*-length.json`. It writes no files; the
 * record ({items, tokens_total, tokenizer, role, bos}) is the --json line after the items.
 */
import { defineJob } from '../core/job.js';
import { defineOptions } from '../core/options/spec.js';

export const tokenizeOptions = defineOptions({
  data: { type: 'string', describe: 'FastChat conversations JSON' },
  text: { type: 'string', describe: 'tokenize this text instead of --data (id "text")' },
  count: { type: 'boolean', default: false, describe: 'print token counts instead of ids' },
  tokenizer: {
    type: 'string',
    default: 'llama',
    describe: "'llama' (built-in LLaMA-1), or a folder with tokenizer.json / tokenizer_idmap.json",
  },
  role: {
    type: 'choice',
    choices: ['gpt', 'human'] as const,
    default: 'gpt',
    describe: 'which turn to tokenize (the first of that role)',
  },
  bos: { type: 'boolean', default: true, describe: 'include BOS (--no-bos to leave it out)' },
});

export const tokenizeJob = defineJob({
  name: 'tokenize',
  describe: 'token counts ({"id", "tokens"}) or ids ({"id", "ids"}) of each item\'s answer, one JSON line per item',
  options: tokenizeOptions,
  yaml: false,
  examples: [['$0 tokenize --data data/alpaca/alpaca-val-10k.json.gz --count', 'L_gt of every answer']],
  check: (c, key) =>
    (c.data === undefined) === (c.text === undefined)
      ? `give exactly one of ${key('data')} or ${key('text')}`
      : undefined,
  run: async (c) => {
    const [{ firstTurn, loadConversations }, { loadTokenizer }] = await Promise.all([
      import('../data/conversation.js'),
      import('../tokenizer/tokenizer.js'),
    ]);
    const tok = await loadTokenizer(c.tokenizer);
    const items =
      c.text !== undefined
        ? [{ id: 'text', value: c.text }]
        : loadConversations(c.data!).map((conv) => ({ id: conv.id, value: firstTurn(conv, c.role) }));
    let total = 0;
    const lines: string[] = [];
    for (const { id, value } of items) {
      const ids = tok.encode(value, { addBos: c.bos });
      total += ids.length;
      lines.push(JSON.stringify(c.count ? { id, tokens: ids.length } : { id, ids }));
      if (lines.length >= 1000) process.stdout.write(lines.splice(0).join('\n') + '\n');
    }
    if (lines.length) process.stdout.write(lines.join('\n') + '\n');
    // the items are the output; --json adds the summary line
    return {
      record: { items: items.length, tokens_total: total, tokenizer: tok.name, role: c.role, bos: c.bos },
      text: '',
    };
  },
});
