/**
 * The tokenizer in a GGUF file's metadata, both ways. Writing (`tokenizerEntries`): tokenizer.ggml.model = 'llama'
 * (SentencePiece BPE) with one piece per model id — its string, score and type — and the special ids, for the LLaMA-1
 * tokenizer and for an id-mapped one (the tiny models: model id i is LLaMA-1 id kept_ids[i]); an id-mapped vocabulary
 * also records its map under seqsch.tokenizer.* so reading it back gives the same tokenizer exactly. Scores: LLaMA-1's
 * BPE merges a pair into a piece in the order of llama-tokenizer-js's merge list (the same order as LLaMA-1's
 * sentencepiece model); a piece's score is minus the rank of its first merge, so "highest score first" (llama.cpp)
 * merges in that order; pieces no merge makes (single characters) score below every merge, specials and bytes 0.
 * Reading (`ggufTokenizer`): the seqsch map when present, the built-in LLaMA-1 tokenizer when the pieces are exactly
 * LLaMA-1's, else the SentencePiece tokenizer of the pieces and scores (./spm.ts). Other tokenizer models (gpt2 BPE)
 * are refused with the key named.
 */
import llamaBpe from 'llama-tokenizer-js';
import { llamaTokenizer, LLAMA_VOCAB_SIZE } from '../../tokenizer/llama.js';
import { remapTokenizer } from '../../tokenizer/idmap.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { GgufValueType, type GgufEntry } from './format.js';
import type { GgufFile } from './read.js';
import { spmTokenizer, TokenType } from './spm.js';

/** LLaMA-1's piece, score and type of every base id (computed once). */
let llama1: { pieces: string[]; scores: Float32Array; types: Int32Array } | undefined;
function llama1Vocab() {
  if (llama1) return llama1;
  const pieces = llamaBpe.vocabById.slice(0, LLAMA_VOCAB_SIZE);
  const byPiece = llamaBpe.vocabByString;
  const rank = new Map<number, number>(); // piece id → rank of the first merge that makes it
  for (const [pair, prio] of llamaBpe.merges) {
    const id = byPiece.get(pair.replace(' ', ''));
    if (id !== undefined && !(rank.get(id)! <= prio)) rank.set(id, prio);
  }
  const scores = new Float32Array(LLAMA_VOCAB_SIZE);
  const types = new Int32Array(LLAMA_VOCAB_SIZE);
  pieces.forEach((p, id) => {
    if (id === 0) types[id] = TokenType.UNKNOWN;
    else if (id === 1 || id === 2) types[id] = TokenType.CONTROL;
    else if (/^<0x[0-9A-F]{2}>$/.test(p)) types[id] = TokenType.BYTE;
    else {
      types[id] = TokenType.NORMAL;
      scores[id] = -(rank.get(id) ?? llamaBpe.merges.size + id);
    }
  });
  return (llama1 = { pieces, scores, types });
}

const u32 = (value: number): GgufEntry => ({ type: GgufValueType.UINT32, value });

/** tokenizer.ggml.* (and, for an id map, seqsch.tokenizer.*) entries of a LLaMA-1 or id-mapped LLaMA-1 tokenizer. */
export function tokenizerEntries(tok: Tokenizer, where: string): [string, GgufEntry][] {
  const mapped = tok as Tokenizer & { base?: Tokenizer; keptIds?: readonly number[] };
  let baseIds: number[];
  if (tok.name === 'llama-1') baseIds = Array.from({ length: LLAMA_VOCAB_SIZE }, (_, i) => i);
  else if (mapped.base?.name === 'llama-1' && mapped.keptIds) baseIds = [...mapped.keptIds];
  else
    throw new Error(
      `${where}: GGUF export writes LLaMA-1 vocabularies (the built-in tokenizer or an id map over it); tokenizer ${tok.name} is not one`,
    );
  const v = llama1Vocab();
  const entries: [string, GgufEntry][] = [
    ['tokenizer.ggml.model', { type: GgufValueType.STRING, value: 'llama' }],
    [
      'tokenizer.ggml.tokens',
      { type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value: baseIds.map((b) => v.pieces[b]) },
    ],
    [
      'tokenizer.ggml.scores',
      { type: GgufValueType.ARRAY, elementType: GgufValueType.FLOAT32, value: baseIds.map((b) => v.scores[b]) },
    ],
    [
      'tokenizer.ggml.token_type',
      { type: GgufValueType.ARRAY, elementType: GgufValueType.INT32, value: baseIds.map((b) => v.types[b]) },
    ],
    ['tokenizer.ggml.bos_token_id', u32(tok.bosId)],
    ['tokenizer.ggml.eos_token_id', u32(tok.eosId)],
    ['tokenizer.ggml.unknown_token_id', u32(tok.unkId)],
    ...(tok.padId >= 0 ? ([['tokenizer.ggml.padding_token_id', u32(tok.padId)]] as [string, GgufEntry][]) : []),
    ['tokenizer.ggml.add_bos_token', { type: GgufValueType.BOOL, value: true }],
    ['tokenizer.ggml.add_eos_token', { type: GgufValueType.BOOL, value: false }],
  ];
  if (tok.name !== 'llama-1')
    entries.push(
      ['seqsch.tokenizer.base', { type: GgufValueType.STRING, value: 'llama-1' }],
      ['seqsch.tokenizer.kept_ids', { type: GgufValueType.ARRAY, elementType: GgufValueType.INT32, value: baseIds }],
    );
  return entries;
}

/** The tokenizer of a GGUF file's metadata. */
export function ggufTokenizer(g: GgufFile): Tokenizer {
  const model = g.get('tokenizer.ggml.model', 'string');
  if (model !== 'llama')
    throw new Error(
      `${g.file}: key 'tokenizer.ggml.model' is '${model}'; only 'llama' (SentencePiece BPE) is supported`,
    );
  const tokens = g.get('tokenizer.ggml.tokens', 'array');
  if (tokens.some((t) => typeof t !== 'string'))
    throw new Error(`${g.file}: key 'tokenizer.ggml.tokens' must be an array of strings`);
  const pieces = tokens as string[];
  const v = llama1Vocab();
  const kept = g.metadata.get('seqsch.tokenizer.kept_ids');
  if (kept !== undefined) {
    const base = g.get('seqsch.tokenizer.base', 'string');
    if (base !== 'llama-1') throw new Error(`${g.file}: key 'seqsch.tokenizer.base' is '${base}', expected 'llama-1'`);
    if (!Array.isArray(kept) || kept.length !== pieces.length)
      throw new Error(`${g.file}: key 'seqsch.tokenizer.kept_ids' must hold one id per token (${pieces.length})`);
    const ids = kept as number[];
    const bad = ids.findIndex((b, i) => v.pieces[b] !== pieces[i]);
    if (bad >= 0)
      throw new Error(
        `${g.file}: key 'seqsch.tokenizer.kept_ids'[${bad}] = ${ids[bad]} is LLaMA-1 piece '${v.pieces[ids[bad]]}', but the token is '${pieces[bad]}'`,
      );
    return remapTokenizer(llamaTokenizer(), ids);
  }
  if (pieces.length === LLAMA_VOCAB_SIZE && pieces.every((p, i) => p === v.pieces[i])) return llamaTokenizer();
  const n = pieces.length;
  const scores = g.get('tokenizer.ggml.scores', 'array', new Array<number>(n).fill(0)) as number[];
  const types = g.get('tokenizer.ggml.token_type', 'array', new Array<number>(n).fill(TokenType.NORMAL)) as number[];
  for (const [key, a] of [
    ['tokenizer.ggml.scores', scores],
    ['tokenizer.ggml.token_type', types],
  ] as const)
    if (a.length !== n) throw new Error(`${g.file}: key '${key}' has ${a.length} entries for ${n} tokens`);
  const id = (key: string, fallback: number) => g.get(key, 'number', fallback);
  return spmTokenizer({
    tokens: pieces,
    scores,
    types,
    bosId: id('tokenizer.ggml.bos_token_id', 1),
    eosId: id('tokenizer.ggml.eos_token_id', 2),
    unkId: id('tokenizer.ggml.unknown_token_id', 0),
    padId: id('tokenizer.ggml.padding_token_id', -1),
    addBos: g.get('tokenizer.ggml.add_bos_token', 'boolean', true),
    name: `gguf-spm(${n})`,
  });
}
