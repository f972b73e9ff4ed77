/**
 * LLaMA hyperparameters, read from and written to a Hugging Face `config.json`.
 *
 * One table maps HF keys onto our camelCase names; defaults follow transformers' LlamaConfig
 * (head_dim = hidden/heads, num_key_value_heads = heads, rope_theta 10000). rope_theta sits at the top
 * level in older checkpoints and under `rope_parameters` in transformers ≥ 5. Only the default rotary
 * scheme is supported: a config asking for rope scaling is refused rather than silently mis-run.
 */

export interface LlamaConfig {
  hiddenSize: number; // d_model
  intermediateSize: number; // SwiGLU hidden width
  numLayers: number;
  numHeads: number; // query heads
  numKvHeads: number; // key/value heads (< numHeads: grouped-query attention)
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  vocabSize: number;
  tieWordEmbeddings: boolean; // lm_head shares model.embed_tokens.weight
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
}

type Json = Record<string, unknown>;

function num(json: Json, key: string, file: string, fallback?: number): number {
  const v = json[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${file}: missing key '${key}'`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new Error(`${file}: key '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function int(json: Json, key: string, file: string, fallback?: number): number {
  const v = num(json, key, file, fallback);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${file}: key '${key}' must be a non-negative integer, got ${v}`);
  return v;
}

/** A token id key that may be a number, a list (first entry taken, as for eos) or null. */
function tokenId(json: Json, key: string, file: string, fallback: number): number {
  let v = json[key];
  if (Array.isArray(v)) v = v[0];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new Error(`${file}: key '${key}' must be an integer token id, got ${JSON.stringify(json[key])}`);
  return v;
}

/** Parse an HF LLaMA `config.json` object; `file` names the source in errors. */
export function configFromHF(json: unknown, file = 'config.json'): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${file}: expected a JSON object`);
  const j = json as Json;
  if (j.model_type !== undefined && j.model_type !== 'llama' && j.model_type !== 'mistral') {
    throw new Error(`${file}: key 'model_type' is '${String(j.model_type)}', expected 'llama'`);
  }
  if (j.hidden_act !== undefined && j.hidden_act !== 'silu')
    throw new Error(`${file}: key 'hidden_act' is '${String(j.hidden_act)}', only 'silu' is supported`);
  for (const k of ['attention_bias', 'mlp_bias'])
    if (j[k] === true) throw new Error(`${file}: key '${k}' = true is not supported`);

  const hiddenSize = int(j, 'hidden_size', file);
  const numHeads = int(j, 'num_attention_heads', file);
  if (numHeads === 0) throw new Error(`${file}: key 'num_attention_heads' must be > 0`);
  const numKvHeads = int(j, 'num_key_value_heads', file, numHeads);
  if (numKvHeads === 0 || numHeads % numKvHeads !== 0) {
    throw new Error(`${file}: key 'num_key_value_heads' (${numKvHeads}) must divide num_attention_heads (${numHeads})`);
  }
  if (j.head_dim === undefined && hiddenSize % numHeads !== 0) {
    throw new Error(
      `${file}: key 'hidden_size' (${hiddenSize}) is not divisible by num_attention_heads (${numHeads}) and head_dim is absent`,
    );
  }
  const headDim = int(j, 'head_dim', file, hiddenSize / numHeads);

  // rope_theta: transformers ≥ 5 nests it (and the scaling type) under rope_parameters.
  const rp = (j.rope_parameters ?? null) as Json | null;
  const rs = (j.rope_scaling ?? null) as Json | null;
  for (const [key, obj] of [
    ['rope_parameters', rp],
    ['rope_scaling', rs],
  ] as const) {
    if (obj === null) continue;
    if (typeof obj !== 'object') throw new Error(`${file}: key '${key}' must be an object`);
    const type = obj.rope_type ?? obj.type;
    if (type !== undefined && type !== 'default')
      throw new Error(
        `${file}: key '${key}.rope_type' is '${String(type)}'; only 'default' rotary embeddings are supported`,
      );
  }
  const ropeTheta =
    rp && rp.rope_theta !== undefined
      ? num(rp, 'rope_theta', `${file} (rope_parameters)`)
      : num(j, 'rope_theta', file, 10000);

  return {
    hiddenSize,
    intermediateSize: int(j, 'intermediate_size', file),
    numLayers: int(j, 'num_hidden_layers', file),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num(j, 'rms_norm_eps', file, 1e-6),
    ropeTheta,
    maxPositionEmbeddings: int(j, 'max_position_embeddings', file, 2048),
    vocabSize: int(j, 'vocab_size', file),
    tieWordEmbeddings: j.tie_word_embeddings === undefined ? false : Boolean(j.tie_word_embeddings),
    bosTokenId: tokenId(j, 'bos_token_id', file, 1),
    eosTokenId: tokenId(j, 'eos_token_id', file, 2),
    padTokenId: tokenId(j, 'pad_token_id', file, 0),
  };
}

/** The HF `config.json` object for `cfg` (transformers ≥ 5 layout, loadable by older versions too). */
export function configToHF(cfg: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    attention_bias: false,
    attention_dropout: 0.0,
    hidden_act: 'silu',
    mlp_bias: false,
    hidden_size: cfg.hiddenSize,
    intermediate_size: cfg.intermediateSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    num_key_value_heads: cfg.numKvHeads,
    head_dim: cfg.headDim,
    rms_norm_eps: cfg.rmsNormEps,
    rope_theta: cfg.ropeTheta,
    rope_parameters: { rope_theta: cfg.ropeTheta, rope_type: 'default' },
    max_position_embeddings: cfg.maxPositionEmbeddings,
    vocab_size: cfg.vocabSize,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    pad_token_id: cfg.padTokenId,
    dtype: 'float32',
    torch_dtype: 'float32',
  };
}

/** Number of parameters (embedding and lm_head counted once each; once in total when tied). */
export function countParameters(cfg: LlamaConfig): number {
  const d = cfg.hiddenSize;
  const attn = d * cfg.numHeads * cfg.headDim * 2 + d * cfg.numKvHeads * cfg.headDim * 2;
  const mlp = 3 * d * cfg.intermediateSize;
  const perLayer = attn + mlp + 2 * d;
  return cfg.vocabSize * d * (cfg.tieWordEmbeddings ? 1 : 2) + cfg.numLayers * perLayer + d;
}
