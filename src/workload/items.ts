/**
 * Build the benchmark's query list: read a conversations file and its recorded lengths, sample the subset
 * numpy-exactly (`--num-data N --seed S`), and attach to each query its vicuna_v1.1 prompt, prompt token
 * count (LLaMA-1, BOS included) and recorded lengths. Reading and sampling only; prediction and scheduling
 * happen later.
 */
import { firstTurn, LENGTH_KEYS, loadConversations, loadLengths, vicunaPrompt } from '../data/conversation.js';
import { sampleIndices } from './sample.js';
import { countTokens } from '../tokenizer/llama.js';
import type { BenchItem } from '../core/query.js';

export interface LoadItemsOptions {
  data: string;
  lengths?: string;
  /** sample this many queries with numpy's permutation (all, in file order, when omitted) */
  numData?: number;
  seed: number;
  /** count prompt tokens with the LLaMA tokenizer (the simulator's prefill cost); default true */
  countPromptTokens?: boolean;
}

export function loadBenchItems(o: LoadItemsOptions): BenchItem[] {
  const convs = loadConversations(o.data);
  const lengths = o.lengths
    ? new Map(loadLengths(o.lengths).map(({ id, ...rec }) => [id, rec as Record<string, number>]))
    : undefined;
  if (o.numData !== undefined && (o.numData < 1 || o.numData > convs.length)) {
    throw new Error(`--num-data ${o.numData}: ${o.data} has ${convs.length} queries`);
  }
  // upstream samples only when --num-data is given; otherwise the file's order is kept
  const picked = o.numData === undefined ? convs.map((_, k) => k) : sampleIndices(convs.length, o.numData, o.seed);
  return picked.map((k, index) => {
    const c = convs[k];
    const real = lengths?.get(c.id);
    if (lengths && !real) throw new Error(`${o.lengths}: no recorded lengths for query id ${c.id}`);
    const prompt = vicunaPrompt(firstTurn(c, 'human'));
    return {
      id: c.id,
      index,
      prompt,
      promptTokens: o.countPromptTokens === false ? undefined : countTokens(prompt),
      realLengths: real,
    };
  });
}

/**
 * How far above its max_length a recorded length can be: lenpred counts the answer re-tokenized with BOS, so a
 * recording cut at its limit L records up to L + 2 (the Alpaca val lengths, recorded at 512, hold 514;
 * src/engines/batch-sim.ts reads such a row as "never finished").
 */
export const RECORDING_OVERHANG = 2;

/**
 * Refuse a `recorded_max_length` below the lengths the file records: a generated length (L_t…) above
 * recordedMaxLength + RECORDING_OVERHANG cannot come from a recording cut there, and the simulator would treat
 * every such query as one that never ends. Names the lengths file, the query id, the key and the flag.
 * (L_gt, the reference answer's length, is not bounded by the recording.)
 */
export function checkRecordedMaxLength(items: BenchItem[], lengthsPath: string, recordedMaxLength: number): void {
  for (const it of items) {
    for (const k of LENGTH_KEYS) {
      const v = it.realLengths?.[k];
      if (v !== undefined && v > recordedMaxLength + RECORDING_OVERHANG)
        throw new Error(
          `${lengthsPath}: query id ${it.id} records ${k} = ${v}, which a recording cut at recorded_max_length (--recorded-max-length) ${recordedMaxLength} cannot hold (at most ${recordedMaxLength + RECORDING_OVERHANG}); give the max_length the lengths were recorded with (upstream lenpred: 512)`,
        );
    }
  }
}
