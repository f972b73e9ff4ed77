/**
 * GGUF in and out for the LLaMA model. Reading: `readLlamaGguf` (./llama.ts; loadLlama in ../checkpoint.ts takes a
 * .gguf path too) and `loadModelTokenizer`, the one call the loaders make for "the tokenizer that goes with this model
 * path". Writing: ./export.ts (`writeLlamaGguf`). The format: ./format.ts, ./read.ts, ./write.ts; the tokenizer in the
 * metadata: ./tokenizer.ts, ./spm.ts. Loaded lazily where it pulls in the LLaMA-1 vocabulary.
 */
import { loadTokenizer } from '../../tokenizer/tokenizer.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { isGguf } from './llama.js';
import { GgufFile } from './read.js';

export { readLlamaGguf, isGguf, configFromGguf, permuteRotary, type GgufWeightType } from './llama.js';
export { GgufFile } from './read.js';
export { writeGguf, type GgufTensorOut } from './write.js';

/** The tokenizer of a model path: a .gguf file's own metadata, else loadTokenizer (a folder, a file or a name). */
export async function loadModelTokenizer(pathOrName: string): Promise<Tokenizer> {
  if (!isGguf(pathOrName)) return loadTokenizer(pathOrName);
  const { ggufTokenizer } = await import('./tokenizer.js');
  const g = GgufFile.open(pathOrName);
  try {
    return ggufTokenizer(g);
  } finally {
    g.close();
  }
}
