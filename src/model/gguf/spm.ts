/**
 * The tokenizer a GGUF file describes when its tokenizer.ggml.model is 'llama' (SentencePiece BPE): pieces with
 * scores, the way llama.cpp's SPM tokenizer uses them — spaces become '▁', one '▁' is prepended, the text starts as one
 * symbol per character, and the adjacent pair whose concatenation is a piece with the highest score is merged
 * (leftmost first on ties) until none is; a symbol that is not a piece falls back to its UTF-8 bytes as <0xXX> pieces,
 * else unk. Decoding joins the pieces, turns '▁' into spaces and <0xXX> into bytes, skips control/unknown pieces and
 * drops the leading space. Special-token strings in the text are not parsed (text only). The algorithm follows
 * llama.cpp's llm_tokenizer_spm (MIT), re-written; O(n²) per word, which is fine for prompts.
 */
import type { EncodeOptions, Tokenizer } from '../../tokenizer/types.js';

/** tokenizer.ggml.token_type values. */
export enum TokenType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

export interface SpmVocab {
  tokens: string[];
  scores: ArrayLike<number>;
  types: ArrayLike<number>;
  bosId: number;
  eosId: number;
  unkId: number;
  padId: number;
  addBos: boolean;
  name: string;
}

export function spmTokenizer(v: SpmVocab): Tokenizer {
  const byId = v.tokens;
  const byPiece = new Map<string, number>();
  byId.forEach((p, i) => {
    if (!byPiece.has(p)) byPiece.set(p, i);
  });
  const byteIds = new Int32Array(256).fill(-1);
  for (let b = 0; b < 256; b++) {
    const id = byPiece.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    if (id !== undefined && v.types[id] === TokenType.BYTE) byteIds[b] = id;
  }
  const encoder = new TextEncoder();

  function encodeWord(text: string, out: number[]): void {
    const sym = Array.from(text); // code points
    for (;;) {
      let best = -1;
      let bestScore = -Infinity;
      for (let i = 0; i + 1 < sym.length; i++) {
        const id = byPiece.get(sym[i] + sym[i + 1]);
        if (id !== undefined && v.scores[id] > bestScore) {
          best = i;
          bestScore = v.scores[id];
        }
      }
      if (best < 0) break;
      sym.splice(best, 2, sym[best] + sym[best + 1]);
    }
    for (const s of sym) {
      const id = byPiece.get(s);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const b of encoder.encode(s)) out.push(byteIds[b] >= 0 ? byteIds[b] : v.unkId);
    }
  }

  return {
    encode(text: string, opts: EncodeOptions = {}): number[] {
      const ids: number[] = (opts.addBos ?? v.addBos) && v.bosId >= 0 ? [v.bosId] : [];
      if (text === '') return ids;
      encodeWord('▁' + text.replace(/ /g, '▁'), ids);
      return ids;
    },
    decode(ids: number[]): string {
      const bytes: number[] = [];
      for (const id of ids) {
        const p = byId[id];
        if (p === undefined) throw new Error(`${v.name} decode: token id ${id} outside [0, ${byId.length})`);
        const t = v.types[id];
        if (t === TokenType.CONTROL || t === TokenType.UNKNOWN || t === TokenType.UNUSED) continue;
        if (t === TokenType.BYTE) bytes.push(parseInt(p.slice(3, 5), 16));
        else bytes.push(...encoder.encode(p.replace(/▁/g, ' ')));
      }
      const s = new TextDecoder().decode(new Uint8Array(bytes));
      return s.startsWith(' ') ? s.slice(1) : s;
    },
    bosId: v.bosId,
    eosId: v.eosId,
    padId: v.padId,
    unkId: v.unkId,
    vocabSize: byId.length,
    name: v.name,
  };
}
