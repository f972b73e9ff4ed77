/**
 * A LLaMA as GGUF, in llama.cpp's terms: its tensor names (token_embd, blk.N.attn_q …, output_norm, output), its
 * metadata keys (llama.*), and its Q/K row order. HF checkpoints order each head's q/k rows as two halves (rotate_half:
 * rows i and i + head_dim/2 form a rotary pair); llama.cpp rotates adjacent pairs (rows 2i, 2i+1), so writing
 * permutes each head's rows (n_head, 2, head_dim/2) → (n_head, head_dim/2, 2) and reading undoes it — the same
 * reordering llama.cpp's convert_hf_to_gguf.py applies (MIT; re-derived here, not copied). Matrices are stored as HF
 * stores them, (out, in) row-major (ggml dims [in, out]); 1-D norms always F32.
 * Reading: `readLlamaGguf` → the model the pipeline runs (weights dequantized to float32); writing is ./export.ts
 * (kept apart so loading a checkpoint does not load the LLaMA-1 vocabulary the tokenizer metadata needs).
 */
import type { LlamaConfig } from '../config.js';
import { Llama } from '../llama.js';
import { assertFiniteWeights } from '../../util/finite.js';
import { FILE_TYPE, GgufValueType, typeName, type GgufEntry } from './format.js';
import { GgufFile } from './read.js';

export type GgufWeightType = 'f32' | 'f16' | 'q8_0';

const PROJ: Record<string, string> = {
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
  input_layernorm: 'attn_norm',
  post_attention_layernorm: 'ffn_norm',
};

/** llama.cpp's name of the HF tensor `name`. */
export function ggufName(name: string): string {
  if (name === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (name === 'model.norm.weight') return 'output_norm.weight';
  if (name === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(name);
  const p = m && PROJ[m[2]];
  if (!m || !p) throw new Error(`no GGUF name for tensor '${name}'`);
  return `blk.${m[1]}.${p}.weight`;
}

/** Heads whose rows are in rotary order: q (numHeads), k (numKvHeads), else 0. */
export function rotaryHeads(name: string, cfg: LlamaConfig): number {
  if (name.endsWith('self_attn.q_proj.weight')) return cfg.numHeads;
  if (name.endsWith('self_attn.k_proj.weight')) return cfg.numKvHeads;
  return 0;
}

/**
 * Reorder the rows of a (heads·head_dim, cols) q/k matrix. toGguf: HF row h·hd + j·hd/2 + i → row h·hd + 2i + j
 * (halves → interleaved pairs); !toGguf: the inverse.
 */
export function permuteRotary(w: Float32Array, heads: number, cols: number, toGguf: boolean): Float32Array {
  const rows = w.length / cols;
  const hd = rows / heads;
  if (!Number.isInteger(hd) || hd % 2 !== 0)
    throw new Error(`permuteRotary: ${rows} rows do not split into ${heads} heads of an even size`);
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < hd / 2; i++)
      for (let j = 0; j < 2; j++) {
        const hf = h * hd + j * (hd / 2) + i;
        const gg = h * hd + 2 * i + j;
        const [from, to] = toGguf ? [hf, gg] : [gg, hf];
        out.set(w.subarray(from * cols, (from + 1) * cols), to * cols);
      }
  return out;
}

const u32 = (value: number): GgufEntry => ({ type: GgufValueType.UINT32, value });
const f32 = (value: number): GgufEntry => ({ type: GgufValueType.FLOAT32, value });
const str = (value: string): GgufEntry => ({ type: GgufValueType.STRING, value });

/** The general.* and llama.* metadata of `cfg`. */
export function llamaEntries(cfg: LlamaConfig, name: string, type: GgufWeightType): [string, GgufEntry][] {
  return [
    ['general.architecture', str('llama')],
    ['general.name', str(name)],
    ['general.file_type', u32(FILE_TYPE[type])],
    ['llama.vocab_size', u32(cfg.vocabSize)],
    ['llama.context_length', u32(cfg.maxPositionEmbeddings)],
    ['llama.embedding_length', u32(cfg.hiddenSize)],
    ['llama.block_count', u32(cfg.numLayers)],
    ['llama.feed_forward_length', u32(cfg.intermediateSize)],
    ['llama.rope.dimension_count', u32(cfg.headDim)],
    ['llama.attention.head_count', u32(cfg.numHeads)],
    ['llama.attention.head_count_kv', u32(cfg.numKvHeads)],
    ['llama.attention.key_length', u32(cfg.headDim)],
    ['llama.attention.value_length', u32(cfg.headDim)],
    ['llama.attention.layer_norm_rms_epsilon', f32(cfg.rmsNormEps)],
    ['llama.rope.freq_base', f32(cfg.ropeTheta)],
  ];
}

/** The shortest decimal that is the same float32 (f32 metadata such as 1e-5 reads back as 1e-5, not 9.99999974e-6). */
function shortestF32(x: number): number {
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

/** The model's hyperparameters from a GGUF LLaMA's metadata (and token_embd's shape: the vocabulary size). */
export function configFromGguf(g: GgufFile): LlamaConfig {
  const arch = g.get('general.architecture', 'string');
  if (arch !== 'llama') throw new Error(`${g.file}: key 'general.architecture' is '${arch}', expected 'llama'`);
  const int = (key: string, fallback?: number) => {
    const v = g.get(key, 'number', fallback);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${g.file}: key '${key}' must be a non-negative integer`);
    return v;
  };
  const scaling = g.metadata.get('llama.rope.scaling.type');
  if (scaling !== undefined && scaling !== 'none')
    throw new Error(
      `${g.file}: key 'llama.rope.scaling.type' is '${String(scaling)}'; only unscaled rotary is supported`,
    );
  if (int('llama.expert_count', 0) > 0)
    throw new Error(`${g.file}: key 'llama.expert_count' > 0 (mixture of experts) is not supported`);
  const hiddenSize = int('llama.embedding_length');
  const numHeads = int('llama.attention.head_count');
  if (numHeads === 0) throw new Error(`${g.file}: key 'llama.attention.head_count' must be > 0`);
  const numKvHeads = int('llama.attention.head_count_kv', numHeads);
  if (numKvHeads === 0 || numHeads % numKvHeads !== 0)
    throw new Error(
      `${g.file}: key 'llama.attention.head_count_kv' (${numKvHeads}) must divide head_count (${numHeads})`,
    );
  const headDim = int('llama.attention.key_length', Math.floor(hiddenSize / numHeads));
  if (int('llama.attention.value_length', headDim) !== headDim)
    throw new Error(`${g.file}: key 'llama.attention.value_length' differs from key_length (not supported)`);
  if (int('llama.rope.dimension_count', headDim) !== headDim)
    throw new Error(
      `${g.file}: key 'llama.rope.dimension_count' differs from the head size ${headDim} (partial rotary is not supported)`,
    );
  const embd = g.shape('token_embd.weight');
  if (embd.length !== 2 || embd[1] !== hiddenSize)
    throw new Error(
      `${g.file}: tensor 'token_embd.weight' has shape [${embd.join(', ')}], expected [vocab, ${hiddenSize}]`,
    );
  const tokenId = (key: string, fallback: number) => int(key, fallback);
  return {
    hiddenSize,
    intermediateSize: int('llama.feed_forward_length'),
    numLayers: int('llama.block_count'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: shortestF32(g.get('llama.attention.layer_norm_rms_epsilon', 'number')),
    ropeTheta: shortestF32(g.get('llama.rope.freq_base', 'number', 10000)),
    maxPositionEmbeddings: int('llama.context_length', 2048),
    vocabSize: embd[0],
    tieWordEmbeddings: !g.tensors.has('output.weight'),
    bosTokenId: tokenId('tokenizer.ggml.bos_token_id', 1),
    eosTokenId: tokenId('tokenizer.ggml.eos_token_id', 2),
    padTokenId: tokenId('tokenizer.ggml.padding_token_id', tokenId('tokenizer.ggml.unknown_token_id', 0)),
  };
}

/** Load a GGUF LLaMA (F32, F16, BF16, Q8_0 tensors; dequantized to float32) as the model the pipeline runs. */
export function readLlamaGguf(file: string): Llama {
  const g = GgufFile.open(file);
  try {
    const config = configFromGguf(g);
    // every tensor the file holds must be one the model reads
    const expected = new Map<string, string>(); // gguf name → HF name
    const hfNames = [
      'model.embed_tokens.weight',
      'model.norm.weight',
      ...(config.tieWordEmbeddings ? [] : ['lm_head.weight']),
    ];
    for (let l = 0; l < config.numLayers; l++)
      for (const p of Object.keys(PROJ)) hfNames.push(`model.layers.${l}.${p}.weight`);
    for (const n of hfNames) expected.set(ggufName(n), n);
    for (const n of expected.keys()) g.info(n); // throws naming the missing tensor
    for (const n of g.tensors.keys())
      if (!expected.has(n))
        throw new Error(`${file}: unexpected tensor '${n}' for a ${config.numLayers}-layer LLaMA (configFromGguf)`);
    return new Llama(config, (name, shape) => {
      const gn = ggufName(name);
      const s = g.shape(gn);
      if (s.join(',') !== shape.join(','))
        throw new Error(
          `${file}: tensor '${gn}' (${typeName(g.info(gn).type)}) has shape [${s.join(', ')}], expected [${shape.join(', ')}]`,
        );
      let data = g.read(gn);
      assertFiniteWeights(data, file, gn);
      const heads = rotaryHeads(name, config);
      if (heads) data = permuteRotary(data, heads, shape[1], false);
      return data;
    });
  } finally {
    g.close();
  }
}

/** True when `path` names a GGUF file (by its extension). */
export function isGguf(path: string): boolean {
  return /\.gguf$/i.test(path);
}
