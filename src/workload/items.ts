/**
 * Build the benchmark's query list: read a conversations file and its recorded lengths, sample the subset
 * numpy-exactly (`--num-data N --seed S`), and attach to each query its vicuna_v1.1 prompt, prompt token
 * count (LLaMA-1, BOS included) and recorded lengths. Reading and sampling only; prediction and scheduling
 * happen later.
 */
import { firstTurn, loadConversations, loadLengths, vicunaPrompt } from '../data/conversation.js';
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
