/**
 * lenpred (upstream src/lenpred.py): answer each query with the model at temperatures 0.0, 0.3, 0.5 and 0.7
 * and record how long the answers are, `{id, L_gt, L_t0.0, L_t0.3, L_t0.5, L_t0.7}` — the data the length
 * predictor is tuned on (train split) and scored against (val split, via L_max). Lengths are upstream's
 * counts: LLaMA-1 tokens with BOS of the decoded answer text. This module collects; construct.ts turns the
 * records into instruction data and evaluate.ts scores predictions.
 *
 * Batching differs from upstream (file order, batch 16) for speed only: queries are batched by their
 * reference answer length, so that rows of one batch end at similar steps (a batch runs until its longest
 * row ends; in file order most batches ran to max_length). Greedy answers do not depend on the batch
 * (left padding is exact); sampled answers depend on the seed, which is derived from the batch's ids.
 */
import type { Llama } from '../model/llama.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { countTokens } from '../tokenizer/llama.js';
import { generate } from '../generation/generate.js';
import {
  firstTurn,
  LENGTH_TEMPERATURES,
  vicunaPrompt,
  type Conversation,
  type LengthRecord,
} from '../data/conversation.js';
import { progress } from '../util/progress.js';

/**
 * Upstream's `num_output_tokens` of one generated answer: decode prompt + answer, cut the decoded prompt
 * off the front and count the rest with the LLaMA-1 tokenizer, BOS included. The cut keeps the space that
 * separates "ASSISTANT:" from the answer (upstream slices `sentence[len(prompt):]`), so an answer "The cat"
 * counts as " The cat": BOS, "▁", "▁The", "▁cat" = 4, one more than countTokens of the reference text —
 * exactly as in the paper's recorded lengths. An answer cut by max_length is counted as far as it got.
 */
export function answerTokenCount(tokenizer: Tokenizer, promptIds: number[], outputIds: number[]): number {
  return countTokens(answerText(tokenizer, promptIds, outputIds));
}

/** The decoded answer as upstream slices it (leading space kept). */
export function answerText(tokenizer: Tokenizer, promptIds: number[], outputIds: number[]): string {
  if (outputIds.length === 0) return '';
  const full = tokenizer.decode([...promptIds, ...outputIds]);
  const prompt = tokenizer.decode(promptIds);
  // decode(prompt) is a prefix of decode(prompt + answer) unless a byte-fallback character spans the boundary
  return full.startsWith(prompt) ? full.slice(prompt.length) : ` ${tokenizer.decode(outputIds)}`;
}

export interface LenpredOptions {
  /** max new tokens per answer (upstream max_length; 512 for Vicuna, 256 for the embedded default) */
  maxLength: number;
  temperatures?: readonly number[];
  /** queries per generate call */
  batchSize: number;
  /** sampling seed; each (batch, temperature) draws from a stream named by it, the temperature and the batch's first id */
  seed: number | string;
  /** records already collected (resume): their ids are skipped and they are returned first */
  done?: CollectedRecord[];
  /** called after each batch with every record so far (for a resumable partial file) */
  onBatch?: (records: CollectedRecord[]) => void;
  label?: string;
}

/** `L_t${T}` as Python's f"L_t{t}" prints a float: 0 → "L_t0.0", 0.3 → "L_t0.3". */
export function lengthKey(t: number): string {
  return `L_t${Number.isInteger(t) ? t.toFixed(1) : String(t)}`;
}

/** A length record plus, per temperature key, whether that answer ended with EOS before max_length. */
export type CollectedRecord = LengthRecord & { finished: Record<string, boolean> };

/**
 * Generate every query's answer at each temperature and return one record per query, in the input order.
 * Records carry a key per temperature; with the default temperatures that is the upstream LengthRecord.
 */
export async function collectLengths(
  model: Llama,
  tokenizer: Tokenizer,
  convs: Conversation[],
  o: LenpredOptions,
): Promise<CollectedRecord[]> {
  const temps = o.temperatures ?? LENGTH_TEMPERATURES;
  if (!(o.batchSize >= 1)) throw new Error(`lenpred: batch size must be ≥ 1, got ${o.batchSize}`);
  const done = new Map((o.done ?? []).map((r) => [r.id, r]));
  const todo = convs
    .filter((c) => !done.has(c.id))
    .map((c) => {
      const reference = firstTurn(c, 'gpt');
      const ids = tokenizer.encode(vicunaPrompt(firstTurn(c, 'human')));
      return { id: c.id, ids, lGt: countTokens(reference) };
    });
  // longest reference answers first: similar answer lengths share a batch, and the ETA is pessimistic early
  todo.sort((a, b) => b.lGt - a.lGt || b.ids.length - a.ids.length);

  const records = [...done.values()];
  const bar = progress(o.label ?? 'lenpred', todo.length * temps.length, { tok_s: '-' });
  let tokens = 0;
  let seconds = 0;
  try {
    for (let i = 0; i < todo.length; i += o.batchSize) {
      const batch = todo.slice(i, i + o.batchSize);
      const prompts = batch.map((q) => q.ids);
      const rec = batch.map(
        (q) => ({ id: q.id, L_gt: q.lGt, finished: {} }) as unknown as CollectedRecord & Record<string, number>,
      );
      for (const t of temps) {
        const r = await generate(model, prompts, {
          maxNewTokens: o.maxLength,
          temperature: t,
          seed: `${o.seed}:${t}:${batch[0].id}`,
        });
        r.items.forEach((it, b) => {
          rec[b][lengthKey(t)] = answerTokenCount(tokenizer, prompts[b], it.outputIds);
          rec[b].finished[lengthKey(t)] = it.isFinished;
        });
        tokens += r.decodeSteps * batch.length;
        seconds += r.seconds;
        bar.tick(batch.length, { tok_s: Math.round(tokens / seconds) });
      }
      records.push(...rec);
      o.onBatch?.(records);
    }
  } finally {
    bar.stop();
  }
  const byId = new Map(records.map((r) => [r.id, r]));
  return convs.map((c) => byId.get(c.id)!);
}

/** Per temperature key: the share of answers that ended with EOS before max_length. */
export function finishedShare(records: CollectedRecord[]): Record<string, number> {
  const keys = Object.keys(records[0]?.finished ?? {});
  return Object.fromEntries(keys.map((k) => [k, records.filter((r) => r.finished[k]).length / records.length]));
}
