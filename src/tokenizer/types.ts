/** The tokenizer contract every part of seqsch uses; its implementations are llama.ts, idmap.ts and hf.ts. */

export interface EncodeOptions {
  /** Prepend the BOS token (default true, as HF's `tokenizer(text).input_ids`). */
  addBos?: boolean;
}

export interface Tokenizer {
  /** Text → token ids. With the LLaMA tokenizer, `encode(text).length` is the paper's token count (BOS included). */
  encode(text: string, opts?: EncodeOptions): number[];
  /** Token ids → text, special tokens skipped (HF `decode(ids, skip_special_tokens=True)`). */
  decode(ids: number[]): string;
  /** Special ids; -1 where a tokenizer has none. */
  bosId: number;
  eosId: number;
  padId: number;
  unkId: number;
  /** Number of ids the model's embedding/output layer must hold. */
  vocabSize: number;
  /** What this is, e.g. 'llama-1' or 'llama-1+idmap(812)'. */
  name: string;
}
