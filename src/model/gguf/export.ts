/**
 * `writeLlamaGguf`: a model's base weights and its tokenizer's vocabulary as one GGUF file llama.cpp loads — llama.cpp's
 * names and Q/K row order (./llama.ts), matrices as F32, F16 or Q8_0 and 1-D norms always F32 (as llama.cpp's own
 * converter keeps them; with Q8_0, matrices whose rows are not a multiple of 32 long fall back to F16), the tokenizer
 * metadata of ./tokenizer.ts.
 */
import type { Llama } from '../llama.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { GgmlType } from './format.js';
import { ggufName, llamaEntries, permuteRotary, rotaryHeads, type GgufWeightType } from './llama.js';
import { tokenizerEntries } from './tokenizer.js';
import { writeGguf, type GgufTensorOut } from './write.js';

/** Write `model` (its base weights; merge an adapter first) and `tokenizer`'s vocabulary as a GGUF file. */
export function writeLlamaGguf(
  model: Llama,
  tokenizer: Tokenizer,
  path: string,
  type: GgufWeightType,
  name = 'seqsch',
): void {
  const cfg = model.config;
  if (model.lora) throw new Error(`${path}: merge the LoRA adapter into the model before writing GGUF`);
  if (tokenizer.vocabSize !== cfg.vocabSize)
    throw new Error(
      `${path}: tokenizer ${tokenizer.name} has ${tokenizer.vocabSize} ids, the model ${cfg.vocabSize}; GGUF needs one piece per row`,
    );
  const matrix = type === 'f32' ? GgmlType.F32 : type === 'f16' ? GgmlType.F16 : GgmlType.Q8_0;
  const tensors: GgufTensorOut[] = model.hfWeights().map(([hf, t]) => {
    const heads = rotaryHeads(hf, cfg);
    const values = () => ('read' in t ? t.read() : t.data) as Float32Array;
    return {
      name: ggufName(hf),
      shape: t.shape,
      // Q8_0 blocks run along a row: a matrix whose rows are not a multiple of 32 is written F16 instead
      type:
        t.shape.length === 1
          ? GgmlType.F32
          : matrix === GgmlType.Q8_0 && t.shape[t.shape.length - 1] % 32 !== 0
            ? GgmlType.F16
            : matrix,
      read: () => (heads ? permuteRotary(values(), heads, t.shape[1], true) : values()),
    };
  });
  writeGguf(path, [...llamaEntries(cfg, name, type), ...tokenizerEntries(tokenizer, path)], tensors);
}
