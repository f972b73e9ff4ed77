/**
 * The LLaMA-1 tokenizer (32000-piece SentencePiece BPE, bos 1, eos 2, unk 0) built into the package, so it
 * works with no download, and `countTokens`, the one place where response lengths are counted the paper's
 * way: `len(tokenizer(text).input_ids)` of HF's slow LlamaTokenizer as of fschat 0.2.9 / transformers 4.28
 * (BOS included, SentencePiece's dummy-prefix space). It does not know about the tiny model's id map (./idmap.ts).
 *
 * The BPE itself is llama-tokenizer-js (same vocabulary and merge order as the LLaMA-1 sentencepiece model).
 * Around it we reproduce what the slow HF tokenizer adds:
 *  - the empty string encodes to [BOS] (llama-tokenizer-js returns [] — 8 of the 10,000 Alpaca val answers);
 *  - the special-token strings "<unk>", "<s>", "</s>" in the text become their ids, and every text chunk
 *    between them is encoded separately with its own dummy-prefix space (transformers' legacy behaviour,
 *    which FastChat's training relies on: "... ASSISTANT: answer</s>" ends in the EOS id).
 */
import llamaBpe from 'llama-tokenizer-js';
import type { EncodeOptions, Tokenizer } from './types.js';

export const LLAMA_UNK_ID = 0;
export const LLAMA_BOS_ID = 1;
export const LLAMA_EOS_ID = 2;
export const LLAMA_VOCAB_SIZE = 32000;

/**
 * BPE of one text chunk, with SentencePiece's dummy-prefix space. Speed-up, same ids: no LLaMA-1 piece holds
 * "▁" after another character (checked over the vocabulary in test/tokenizer/llama.test.ts), so no merge crosses
 * a point where a space follows a non-space; we split there and encode the words separately, each word once
 * (a cache). ~5x faster than the whole-string BPE on the Alpaca answers.
 */
const WORD_START = /(?<=[^ ])(?= )/;
const wordCache = new Map<string, number[]>();
const WORD_CACHE_MAX = 200_000;

function bpeWithDummyPrefix(chunk: string, out: number[]): void {
  for (const word of (' ' + chunk).split(WORD_START)) {
    let ids = wordCache.get(word);
    if (ids === undefined) {
      ids = llamaBpe.encode(word, false, false);
      if (wordCache.size >= WORD_CACHE_MAX) wordCache.clear();
      wordCache.set(word, ids);
    }
    for (const id of ids) out.push(id);
  }
}

// Capturing group: String.split keeps the special strings at the odd indices.
const SPECIAL_SPLIT = /(<unk>|<s>|<\/s>)/;
const SPECIAL_IDS: Record<string, number> = { '<unk>': LLAMA_UNK_ID, '<s>': LLAMA_BOS_ID, '</s>': LLAMA_EOS_ID };

class LlamaTokenizer implements Tokenizer {
  readonly bosId = LLAMA_BOS_ID;
  readonly eosId = LLAMA_EOS_ID;
  readonly unkId = LLAMA_UNK_ID;
  /** LLaMA-1 has no pad token; FastChat pads with unk (`tokenizer.pad_token = tokenizer.unk_token`). */
  readonly padId = LLAMA_UNK_ID;
  readonly vocabSize = LLAMA_VOCAB_SIZE;
  readonly name = 'llama-1';

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids: number[] = (opts.addBos ?? true) ? [LLAMA_BOS_ID] : [];
    const chunks = text.split(SPECIAL_SPLIT);
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c];
      if (c % 2 === 1) ids.push(SPECIAL_IDS[chunk]);
      else if (chunk !== '') bpeWithDummyPrefix(chunk, ids);
    }
    return ids;
  }

  decode(ids: number[]): string {
    const pieces: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= LLAMA_VOCAB_SIZE)
        throw new Error(`llama-1 decode: token id ${id} outside [0, ${LLAMA_VOCAB_SIZE})`);
      if (id > LLAMA_EOS_ID) pieces.push(id); // skip <unk>, <s>, </s>
    }
    // Removes the one dummy-prefix space at the start, as SentencePiece's decode does.
    return pieces.length === 0 ? '' : llamaBpe.decode(pieces, false, true);
  }

  /** The SentencePiece piece for an id, e.g. 450 → '▁The' (for debugging and id-map reports). */
  piece(id: number): string {
    const p = llamaBpe.vocabById[id];
    if (p === undefined) throw new Error(`llama-1: token id ${id} outside [0, ${LLAMA_VOCAB_SIZE})`);
    return p;
  }
}

let instance: LlamaTokenizer | undefined;

/** The built-in LLaMA-1 tokenizer (one shared instance; it is stateless). */
export function llamaTokenizer(): Tokenizer & { piece(id: number): string } {
  instance ??= new LlamaTokenizer();
  return instance;
}

/** The paper's token count of a text: LLaMA-1 ids with BOS, i.e. `len(tokenizer(text).input_ids)`. */
export function countTokens(text: string): number {
  return (instance ?? llamaTokenizer()).encode(text).length;
}
