/**
 * What the proxy length predictor reads of a query: the instruction (and its optional input) without the
 * Alpaca template's constant preamble, as LLaMA-1 token ids, plus the token counts of both parts. The
 * preamble and "### Response:" carry no information (every query has them), so dropping them saves ~30 of
 * the ~55 tokens a query has; a text without the template is read whole. It does not map ids to the
 * predictor's reduced vocabulary (./model.ts does).
 */
import type { Tokenizer } from '../tokenizer/types.js';

/** The Alpaca prompt template (with or without "### Input:"), as FastChat's alpaca conversion writes it. */
const ALPACA =
  /^Below is an instruction[^\n]*\n\n### Instruction:\n([\s\S]*?)(?:\n\n### Input:\n([\s\S]*?))?\n\n### Response:\s*$/;

export interface QueryParts {
  instruction: string;
  /** the "### Input:" context; '' when the query has none */
  input: string;
}

/** Split an Alpaca-template query into instruction and input; other texts are all instruction. */
export function queryParts(text: string): QueryParts {
  const m = ALPACA.exec(text);
  return m ? { instruction: m[1], input: m[2] ?? '' } : { instruction: text, input: '' };
}

/** The text the predictor tokenizes: the instruction, then the input behind a fixed marker. */
export function predictorText(p: QueryParts): string {
  return p.input ? `${p.instruction}\nInput:\n${p.input}` : p.instruction;
}

export interface QueryTokens {
  /** LLaMA-1 ids of predictorText, BOS first (not truncated) */
  ids: number[];
  /** token counts of the instruction and the input (0 when absent), without BOS */
  instructionTokens: number;
  inputTokens: number;
}

export function queryTokens(tokenizer: Tokenizer, text: string): QueryTokens {
  const p = queryParts(text);
  return {
    ids: tokenizer.encode(predictorText(p)),
    instructionTokens: tokenizer.encode(p.instruction, { addBos: false }).length,
    inputTokens: p.input ? tokenizer.encode(p.input, { addBos: false }).length : 0,
  };
}
