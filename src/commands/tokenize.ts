/**
 * `seqsch tokenize`: token counts or ids of a conversation file's turns, one JSON line per item. With the
 * default LLaMA-1 tokenizer, `--count` gives the paper's lengths (`len(tokenizer(answer).input_ids)`, BOS
 * included) — the L_gt of a `*-length.json`. It does not write files; redirect stdout.
 */
import { JSON_OPTION } from '../core/options/common.js';
import { command, defineOptions } from '../core/options/spec.js';

export const tokenizeOptions = defineOptions({
  data: { type: 'string', describe: 'FastChat conversations JSON' },
  text: { type: 'string', describe: 'tokenize this text instead of --data (id "text")' },
  count: { type: 'boolean', default: false, describe: 'print token counts instead of ids' },
  tokenizer: { type: 'string', default: 'llama', describe: "'llama' (built-in LLaMA-1), or a folder with tokenizer.json / tokenizer_idmap.json" },
  role: { type: 'choice', choices: ['gpt', 'human'] as const, default: 'gpt', describe: 'which turn to tokenize (the first of that role)' },
  bos: { type: 'boolean', default: true, describe: 'include BOS (--no-bos to leave it out)' },
  json: JSON_OPTION,
});

export const tokenizeCommand = command({
  command: 'tokenize',
  describe: 'token counts ({"id", "tokens"}) or ids ({"id", "ids"}) of each item\'s answer, one JSON line per item',
  options: tokenizeOptions,
  builder: (y) =>
    y
      .check((a) => {
        if ((a.data === undefined) === (a.text === undefined)) throw new Error('give exactly one of --data or --text');
        return true;
      })
      .example('$0 tokenize --data data/alpaca/alpaca-val-10k.json.gz --count', 'L_gt of every answer'),
  handler: async (argv) => {
    const [{ firstTurn, loadConversations }, { loadTokenizer }] = await Promise.all([import('../data/conversation.js'), import('../tokenizer/tokenizer.js')]);
    const tok = await loadTokenizer(argv.tokenizer);
    const items = argv.text !== undefined
      ? [{ id: 'text', value: argv.text }]
      : loadConversations(argv.data!).map((c) => ({ id: c.id, value: firstTurn(c, argv.role) }));
    let total = 0;
    const lines: string[] = [];
    for (const { id, value } of items) {
      const ids = tok.encode(value, { addBos: argv.bos });
      total += ids.length;
      lines.push(JSON.stringify(argv.count ? { id, tokens: ids.length } : { id, ids }));
      if (lines.length >= 1000) process.stdout.write(lines.splice(0).join('\n') + '\n');
    }
    if (lines.length) process.stdout.write(lines.join('\n') + '\n');
    if (argv.json) console.log(JSON.stringify({ items: items.length, tokens_total: total, tokenizer: tok.name, role: argv.role, bos: argv.bos }));
  },
});
