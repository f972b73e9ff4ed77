/**
 * The two model-backed length predictors of the paper, as `LengthPredictor`s both loops call:
 * - `seqsch`: the base model with the LoRA length-perception adapter switched on answers QUERY_PROMPT with one
 *   number (greedy, mini-batches of 128, at most 8 new tokens, as upstream's Predictor); the adapter is
 *   switched off again afterwards — even on error — so generation runs the same loaded base weights.
 * - `po` (Perception in Advance): the base model, adapter off, answers PIA_PROMPT; the length stated on the
 *   first line of its answer is read with upstream's extract_all_numbers (parsePoLength).
 * `askLengths` is the shared core that eval also uses. The time of a prediction is measured (wall seconds,
 * tokenization and decoding included, elapsed here) and the benchmark counts it, as upstream. `realPredictor`
 * picks a strategy's predictor when a model is loaded (both loops).
 */
import type { Llama } from '../model/llama.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { BenchItem } from '../core/query.js';
import { generate } from '../generation/generate.js';
import { insertLengthPrompt, parsePoLength, parseQueryLength, PIA_PROMPT, QUERY_PROMPT } from '../data/prompts.js';
import type { LengthPredictor } from '../core/predictor.js';
import { filePredictor, gtPredictor, vanillaPredictor } from './predictor.js';
import type { StrategyName } from '../core/names.js';

/**
 * The length used when an answer holds no number: 0, as upstream's extract_all_numbers gives for po (upstream
 * seqsch would crash on int()). In scheduling it puts the query in the first bucket, so FCR recovers it; eval
 * scores it as a prediction of 0 and reports how many there were.
 */
export const UNPARSEABLE_LENGTH = 0;

/** max new tokens of the seqsch predictor in the benchmark (upstream Predictor: 8) */
export const SEQSCH_MAX_NEW_TOKENS = 8;
/**
 * max new tokens of the po predictor. Upstream uses 8 for both strategies, which cuts a verbose first line
 * ("Estimated length: 150" is 9 LLaMA tokens) inside its number; 16 holds such a line, and only the first
 * line is parsed, so numbers of the response itself ("Step 1: …") never enter the mean.
 */
export const PO_MAX_NEW_TOKENS = 16;
/** upstream's length-prediction mini-batch (generate_group's lenpred_bs) */
export const PREDICT_BATCH = 128;

export type ModelStrategy = 'seqsch' | 'po';

export interface AskOptions {
  strategy: ModelStrategy;
  maxNewTokens: number;
  batchSize?: number;
}

export interface AskResult {
  /** the parsed length of each prompt (UNPARSEABLE_LENGTH where no number was found) */
  lengths: number[];
  /** whether each answer held a number */
  parsed: boolean[];
  /** the decoded answers */
  texts: string[];
  seconds: number;
}

/** The number a length answer states, or null: seqsch reads the integer, po the first line's numbers. */
export function parseLengthAnswer(strategy: ModelStrategy, text: string): number | null {
  if (strategy === 'seqsch') return parseQueryLength(text);
  const firstLine = text.trim().split('\n')[0];
  return /[0-9]/.test(firstLine) ? parsePoLength(firstLine) : null;
}

/**
 * Ask the model for the length of each vicuna prompt (full prompts ending in " ASSISTANT:"): insert the
 * strategy's length prompt, generate greedily in mini-batches, parse. seqsch needs `model.lora` and runs with
 * it enabled; po runs with it disabled. On return (or error) the adapter is disabled. Within a call, prompts
 * are batched by token length to save padding (greedy answers do not depend on the batch).
 */
export async function askLengths(
  model: Llama,
  tokenizer: Tokenizer,
  prompts: string[],
  o: AskOptions,
): Promise<AskResult> {
  const t0 = performance.now();
  if (o.strategy === 'seqsch' && !model.lora)
    throw new Error('seqsch length prediction needs the LoRA length-perception adapter (load it with --lora)');
  const batchSize = o.batchSize ?? PREDICT_BATCH;
  const ids = prompts.map((p) =>
    tokenizer.encode(insertLengthPrompt(p, o.strategy === 'seqsch' ? QUERY_PROMPT : PIA_PROMPT)),
  );
  const order = ids.map((_, i) => i).sort((a, b) => ids[a].length - ids[b].length);
  const texts = new Array<string>(prompts.length);
  if (model.lora) model.lora.enabled = o.strategy === 'seqsch';
  try {
    for (let i = 0; i < order.length; i += batchSize) {
      const rows = order.slice(i, i + batchSize);
      const r = await generate(
        model,
        rows.map((k) => ids[k]),
        { maxNewTokens: o.maxNewTokens, temperature: 0 },
      );
      r.items.forEach((it, b) => (texts[rows[b]] = tokenizer.decode(it.outputIds)));
    }
  } finally {
    if (model.lora) model.lora.enabled = false;
  }
  const numbers = texts.map((t) => parseLengthAnswer(o.strategy, t));
  return {
    lengths: numbers.map((n) => n ?? UNPARSEABLE_LENGTH),
    parsed: numbers.map((n) => n !== null),
    texts,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * The seqsch predictor: LoRA on for the prediction, off afterwards. `model.lora` must hold the trained
 * length-perception adapter; the engine that generates the answers uses the same `model` with it off.
 */
export function seqschPredictor(
  model: Llama,
  tokenizer: Tokenizer,
  o: { batchSize?: number; maxNewTokens?: number } = {},
): LengthPredictor {
  if (!model.lora) throw new Error('seqsch predictor: the model has no LoRA adapter attached');
  model.lora.enabled = false;
  return {
    name: 'seqsch',
    predict: async (items: BenchItem[]) => {
      const r = await askLengths(
        model,
        tokenizer,
        items.map((it) => it.prompt),
        { strategy: 'seqsch', maxNewTokens: o.maxNewTokens ?? SEQSCH_MAX_NEW_TOKENS, batchSize: o.batchSize },
      );
      return { lengths: r.lengths, seconds: r.seconds, charged: false };
    },
  };
}

/** The po predictor: the base model (adapter off, if one is attached) states its length in advance. */
export function poPredictor(
  model: Llama,
  tokenizer: Tokenizer,
  o: { batchSize?: number; maxNewTokens?: number } = {},
): LengthPredictor {
  return {
    name: 'po',
    predict: async (items: BenchItem[]) => {
      const r = await askLengths(
        model,
        tokenizer,
        items.map((it) => it.prompt),
        { strategy: 'po', maxNewTokens: o.maxNewTokens ?? PO_MAX_NEW_TOKENS, batchSize: o.batchSize },
      );
      return { lengths: r.lengths, seconds: r.seconds, charged: false };
    },
  };
}

/**
 * The strategy's predictor beside a loaded model: vanilla, gt (recorded lengths), or po/seqsch — from a predictions
 * file when one is given, else the model itself (seqsch: its LoRA adapter; po: the base model's PiA answer), timed
 * as part of the run. The probe reads a prompt store the engine shares (engines/prompt-store.ts), so not here.
 */
export function realPredictor(
  strategy: StrategyName,
  loaded: { model: Llama; tokenizer: Tokenizer },
  o: { maxLength: number; predictions?: string },
): LengthPredictor {
  if (strategy === 'vanilla') return vanillaPredictor(o.maxLength);
  if (strategy === 'gt') return gtPredictor;
  if (o.predictions) return filePredictor(strategy, o.predictions);
  if (strategy === 'probe')
    throw new Error(
      'strategy probe runs through benchmarkReal (its prefill is shared with the engine), or from a predictions file',
    );
  if (strategy === 'seqsch') {
    if (!loaded.model.lora)
      throw new Error(`strategy seqsch needs the length-perception adapter (--lora DIR / lora:) or a predictions file`);
    return seqschPredictor(loaded.model, loaded.tokenizer);
  }
  return poPredictor(loaded.model, loaded.tokenizer);
}
