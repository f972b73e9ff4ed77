/**
 * How much of a data set a tokenizer cannot read: the share of its tokens that come out as the unknown id. A
 * model whose vocabulary does not cover the data (an id-mapped tiny model given Alpaca conversations, an id map
 * holding part of the model's ids) would train on, or answer, mostly unk while every loss and length looks
 * normal; above MAX_UNKNOWN_SHARE it is refused, naming the data file. Counting only; the ids come from the
 * caller's own tokenization.
 */
import type { Tokenizer } from './types.js';

/**
 * 1 %: the LLaMA-1 tokenizer (byte fallback) yields no unk on any committed corpus, nor does the tiny models' id
 * map on the corpus it was built from (data/synthetic-v3: 0 of its tokens); the failures it guards against sit at
 * 42 % (an id map holding 500 of the model's 891 ids) and about half (Alpaca given to the tiny model).
 */
export const MAX_UNKNOWN_SHARE = 0.01;

/** Unknown tokens / all tokens over `idLists` (0 for a tokenizer without an unk id). */
export function unknownShare(
  tokenizer: Tokenizer,
  idLists: Iterable<readonly number[]>,
): { unknown: number; total: number } {
  let unknown = 0;
  let total = 0;
  for (const ids of idLists) {
    total += ids.length;
    if (tokenizer.unkId >= 0) for (const id of ids) if (id === tokenizer.unkId) unknown++;
  }
  return { unknown, total };
}

/** Refuse data whose unknown-token share exceeds MAX_UNKNOWN_SHARE; `source` names the data file(s). */
export function checkUnknownShare(tokenizer: Tokenizer, idLists: Iterable<readonly number[]>, source: string): void {
  const { unknown, total } = unknownShare(tokenizer, idLists);
  if (total > 0 && unknown / total > MAX_UNKNOWN_SHARE)
    throw new Error(
      `${source}: ${((100 * unknown) / total).toFixed(1)} % of its tokens (${unknown} of ${total}) are unknown to the tokenizer ${tokenizer.name} (at most ${100 * MAX_UNKNOWN_SHARE} % accepted): the model's vocabulary does not cover this data; give a model and tokenizer that do`,
    );
}
