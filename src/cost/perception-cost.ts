/**
 * What asking the model for response lengths costs under a cost model (the GPU regime, where no measurement
 * exists): the length prompt inserted into each query, then generate calls over mini-batches of the queries,
 * each a prefill of the widest prompt in it and a few new tokens (upstream's Predictor: batches of 128,
 * 8 tokens). Used by the calibrate stage and the serving simulator; it runs no model.
 */
import { batchSeconds, type CostModel } from './costmodel.js';
import { insertLengthPrompt, PIA_PROMPT, QUERY_PROMPT } from '../data/prompts.js';
import { countTokens } from '../tokenizer/llama.js';

/** Tokens the length prompt adds to a query's prompt (seqsch: QUERY_PROMPT, po: PIA_PROMPT), LLaMA-1 counted. */
export function lengthPromptTokens(strategy: 'seqsch' | 'po'): number {
  return (
    countTokens(insertLengthPrompt(' ASSISTANT:', strategy === 'seqsch' ? QUERY_PROMPT : PIA_PROMPT)) -
    countTokens(' ASSISTANT:')
  );
}

export interface PerceptionCallOptions {
  strategy: 'seqsch' | 'po';
  /** queries per generate call (upstream: 128) */
  batch: number;
  /** new tokens per call (upstream seqsch: 8) */
  steps: number;
}

/** Seconds of one prediction over queries with these prompt token counts, in the given order. */
export function perceptionSeconds(cm: CostModel, promptTokens: number[], o: PerceptionCallOptions): number {
  const extra = lengthPromptTokens(o.strategy);
  let total = 0;
  for (let i = 0; i < promptTokens.length; i += o.batch) {
    const batch = promptTokens.slice(i, i + o.batch);
    total += batchSeconds(cm, batch.length, Math.max(...batch) + extra, o.steps);
  }
  return total;
}
