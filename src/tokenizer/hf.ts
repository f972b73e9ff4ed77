/**
 * Any Hugging Face `tokenizer.json` (BPE, WordPiece, Unigram, WordLevel, …) as a seqsch Tokenizer, through
 * @xenova/transformers and strictly offline: we read tokenizer.json (+ tokenizer_config.json beside it when
 * present) ourselves and pick the class exactly as transformers.js' AutoTokenizer.from_pretrained does
 * (`tokenizer_class` without "Fast", else PreTrainedTokenizer), so no code path can reach the Hub and a folder
 * without tokenizer_config.json still loads. It is not used for the paper's counts (see ./llama.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readJson } from '../util/fs.js';
import type { EncodeOptions, Tokenizer } from './types.js';

/** Load FILE (an HF tokenizer.json); special tokens come from tokenizer_config.json, else conventional names. */
export async function hfTokenizer(file: string): Promise<Tokenizer> {
  // A computed specifier keeps bundlers (the GPU bundle, scripts/bundle-gpu.sh) from pulling in
  // @xenova/transformers' native onnxruntime/sharp dependencies; it is loaded only when needed.
  const pkg = '@xenova/transformers';
  const transformers = (await import(pkg)) as typeof import('@xenova/transformers');
  transformers.env.allowRemoteModels = false; // belt and braces: nothing in seqsch may download a model
  const json = readJson<Record<string, unknown>>(file);
  for (const key of ['model', 'added_tokens']) {
    if (!(key in json)) throw new Error(`${file}: not an HF tokenizer.json (no "${key}" key)`);
  }
  const configFile = join(dirname(file), 'tokenizer_config.json');
  const config = existsSync(configFile) ? readJson<Record<string, unknown>>(configFile) : {};

  const className = (
    typeof config.tokenizer_class === 'string' ? config.tokenizer_class : 'PreTrainedTokenizer'
  ).replace(/Fast$/, '');
  const mapping = (transformers.AutoTokenizer as unknown as { TOKENIZER_CLASS_MAPPING: Record<string, unknown> })
    .TOKENIZER_CLASS_MAPPING;
  const Cls = (mapping[className] ?? transformers.PreTrainedTokenizer) as new (j: unknown, c: unknown) => HfTok;
  let tok: HfTok;
  try {
    tok = new Cls(json, config);
  } catch (e) {
    throw new Error(`${file}: transformers.js could not build a ${className} from it (${(e as Error).message})`);
  }

  const idOf = (...tokens: (string | null | undefined)[]) => {
    for (const t of tokens) {
      const id = t == null ? undefined : tok.model.tokens_to_ids.get(t);
      if (id !== undefined) return id;
    }
    return -1;
  };
  const fromConfig = (key: string) => {
    const v = config[key];
    return typeof v === 'string'
      ? v
      : v && typeof v === 'object' && 'content' in v
        ? String((v as { content: unknown }).content)
        : undefined;
  };
  const eosId = idOf(fromConfig('eos_token'), '</s>', '[SEP]', '<|endoftext|>');
  const padId = idOf(fromConfig('pad_token'), '<pad>', '[PAD]'); // none → eos, as transformers.js does
  return {
    encode: (text: string, opts: EncodeOptions = {}) =>
      tok.encode(text, null, { add_special_tokens: opts.addBos ?? true }),
    decode: (ids: number[]) => (ids.length === 0 ? '' : tok.decode(ids, { skip_special_tokens: true })),
    bosId: idOf(fromConfig('bos_token'), '<s>', '[CLS]'),
    eosId,
    unkId: idOf(fromConfig('unk_token'), '<unk>', '[UNK]'),
    padId: padId >= 0 ? padId : eosId,
    vocabSize: tok.model.vocab.length,
    name: `hf:${file}`,
  };
}

/** The part of transformers.js' PreTrainedTokenizer we use. */
interface HfTok {
  model: { tokens_to_ids: Map<string, number>; vocab: string[] };
  encode(text: string, pair: null, opts: { add_special_tokens: boolean }): number[];
  decode(ids: number[], opts: { skip_special_tokens: boolean }): string;
}
