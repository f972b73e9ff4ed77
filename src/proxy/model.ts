/**
 * The proxy length predictor's network: the query's tokens (LLaMA-1 ids mapped to a reduced vocabulary built
 * from the training split) → A numbers per query, read by a head (./heads.ts). Two encoders:
 *  - `llama`: a few of the project's LLaMA decoder layers (src/model/llama.ts) over [BOS, query…, EOS], left
 *    padded; the vocabulary gets A extra "length tokens" and the tied LM head's logits for them at the last
 *    position (EOS) are the outputs, as a causal LM would answer with a length token.
 *  - `bow`: a bag of embeddings (masked mean) with the log token counts of instruction and input → one hidden
 *    ReLU layer → A outputs (fastText-like; the mean loses the count, so the counts are given explicitly).
 * Folder layout: proxy_config.json, tokenizer_idmap.json, and the weights (llama: an HF checkpoint in
 * encoder/, bow: bow.safetensors). Training and data handling are elsewhere (./train.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import seedrandom from 'seedrandom';
import { Llama } from '../model/llama.js';
import type { LlamaConfig } from '../model/config.js';
import { loadLlama, saveLlama } from '../model/checkpoint.js';
import { readSafetensors, writeSafetensors } from '../model/safetensors.js';
import { llamaTokenizer } from '../tokenizer/llama.js';
import { loadIdMap, remapTokenizer, saveIdMap, type RemappedTokenizer } from '../tokenizer/idmap.js';
import { readJson, writeJson } from '../util/fs.js';
import { headOutputs, type HeadConfig } from '../scoring/heads.js';
import { queryTokens } from './query.js';
import type { EncoderKind } from '../scoring/kinds.js';
import { CONFIG_FILE } from './folder.js';

export const NUM_FEATURES = 3; // log1p(instruction tokens), log1p(input tokens), has input

export interface ProxyConfig {
  format: 'seqsch-proxy-1';
  encoder: EncoderKind;
  hiddenSize: number;
  /** llama: decoder layers, heads, SwiGLU width; bow: `intermediateSize` is the hidden ReLU layer */
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  /** tokens kept per query (BOS + query truncated + EOS) */
  maxTokens: number;
  /** reduced vocabulary size (kept LLaMA ids; the llama encoder adds the head's outputs as length tokens) */
  keptVocab: number;
  head: HeadConfig;
}

/** One query as the network reads it. */
export interface EncodedQuery {
  ids: number[]; // model ids: BOS, query (truncated), EOS
  features: number[]; // (NUM_FEATURES)
}

/** A left-padded batch. */
export interface ProxyBatch {
  inputIds: tf.Tensor2D; // (B, T) int32
  attentionMask: tf.Tensor2D; // (B, T) int32, 1 on real tokens
  features: tf.Tensor2D; // (B, NUM_FEATURES) float32
}

export function encodeQuery(tok: RemappedTokenizer, text: string, maxTokens: number): EncodedQuery {
  const q = queryTokens(tok.base, text);
  const body = tok.toModel(q.ids).slice(0, maxTokens - 1); // BOS first
  return {
    ids: [...body, tok.eosId],
    features: [Math.log1p(q.instructionTokens), Math.log1p(q.inputTokens), q.inputTokens > 0 ? 1 : 0],
  };
}

export function makeBatch(queries: EncodedQuery[]): ProxyBatch {
  const B = queries.length;
  const T = Math.max(...queries.map((q) => q.ids.length));
  const ids = new Int32Array(B * T);
  const mask = new Int32Array(B * T);
  const feats = new Float32Array(B * NUM_FEATURES);
  queries.forEach((q, i) => {
    const off = i * T + T - q.ids.length; // left padding: the EOS is always the last column
    ids.set(q.ids, off);
    mask.fill(1, off, (i + 1) * T);
    feats.set(q.features, i * NUM_FEATURES);
  });
  return {
    inputIds: tf.tensor2d(ids, [B, T], 'int32'),
    attentionMask: tf.tensor2d(mask, [B, T], 'int32'),
    features: tf.tensor2d(feats, [B, NUM_FEATURES]),
  };
}

export function disposeProxyBatch(b: ProxyBatch): void {
  tf.dispose([b.inputIds, b.attentionMask, b.features]);
}

export interface ProxyModel {
  readonly config: ProxyConfig;
  readonly tokenizer: RemappedTokenizer;
  /** head inputs (B, A) */
  outputs(batch: ProxyBatch, training?: boolean): tf.Tensor2D;
  variables(): tf.Variable[];
  numParameters(): number;
  save(dir: string): void;
  dispose(): void;
}

// ─── llama encoder ────────────────────────────────────────────────────────────────────────────────────

function llamaConfig(c: ProxyConfig): LlamaConfig {
  return {
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    numKvHeads: c.numHeads,
    headDim: c.hiddenSize / c.numHeads,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    maxPositionEmbeddings: c.maxTokens,
    vocabSize: c.keptVocab + headOutputs(c.head), // + the length tokens
    tieWordEmbeddings: true,
    bosTokenId: 1,
    eosTokenId: 2,
    padTokenId: 0,
  };
}

class LlamaProxy implements ProxyModel {
  constructor(
    readonly config: ProxyConfig,
    readonly tokenizer: RemappedTokenizer,
    readonly llama: Llama,
  ) {}
  outputs(b: ProxyBatch, training = false): tf.Tensor2D {
    return tf.tidy(() => {
      const logits = this.llama.forward(b.inputIds, { attentionMask: b.attentionMask, lastOnly: true, training }); // (B, 1, V)
      const B = b.inputIds.shape[0];
      const A = headOutputs(this.config.head);
      return tf.reshape(tf.slice(logits, [0, 0, this.config.keptVocab], [B, 1, A]), [B, A]) as tf.Tensor2D; // the length tokens
    });
  }
  variables(): tf.Variable[] {
    return this.llama.baseVariables();
  }
  numParameters(): number {
    return this.llama.numParameters();
  }
  save(dir: string): void {
    const enc = join(dir, 'encoder');
    mkdirSync(enc, { recursive: true });
    saveLlama(this.llama, enc);
  }
  dispose(): void {
    this.llama.dispose();
  }
}

// ─── bag-of-embeddings encoder ────────────────────────────────────────────────────────────────────────

const BOW_FILE = 'bow.safetensors';

class BowProxy implements ProxyModel {
  readonly embed: tf.Variable; // (V, d)
  readonly w1: tf.Variable; // (d + NUM_FEATURES, h)
  readonly b1: tf.Variable; // (h)
  readonly w2: tf.Variable; // (h, A)
  readonly b2: tf.Variable; // (A)
  constructor(
    readonly config: ProxyConfig,
    readonly tokenizer: RemappedTokenizer,
    weights: Map<string, Float32Array> | null,
    seed: number,
  ) {
    const { keptVocab: V, hiddenSize: d, intermediateSize: h } = config;
    const A = headOutputs(config.head);
    const rng = seedrandom(`seqsch-proxy-bow/${seed}`);
    const normal = (n: number, std: number) => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
      return out;
    };
    const v = (name: string, shape: number[], init: () => Float32Array) => {
      const data = weights ? weights.get(name) : init();
      const n = shape.reduce((a, b) => a * b, 1);
      if (!data || data.length !== n)
        throw new Error(`${BOW_FILE}: tensor '${name}' missing or not of shape [${shape}]`);
      const t = tf.tensor(data, shape);
      const variable = tf.variable(t, true);
      t.dispose();
      return variable;
    };
    this.embed = v('embed', [V, d], () => normal(V * d, 0.1));
    this.w1 = v('w1', [d + NUM_FEATURES, h], () => normal((d + NUM_FEATURES) * h, Math.sqrt(2 / (d + NUM_FEATURES))));
    this.b1 = v('b1', [h], () => new Float32Array(h));
    this.w2 = v('w2', [h, A], () => normal(h * A, 0.01));
    this.b2 = v('b2', [A], () => new Float32Array(A));
  }
  outputs(b: ProxyBatch): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, T] = b.inputIds.shape;
      const d = this.config.hiddenSize;
      const m = tf.cast(b.attentionMask, 'float32'); // (B, T)
      const e = tf.reshape(tf.gather(this.embed, tf.reshape(b.inputIds, [B * T])), [B, T, d]); // (B, T, d)
      const pooled = tf.div(tf.sum(tf.mul(e, tf.expandDims(m, 2)), 1), tf.sum(m, 1, true)); // masked mean (B, d)
      const x = tf.concat([pooled, b.features], 1); // (B, d + F)
      const hid = tf.relu(tf.add(tf.matMul(x, this.w1), this.b1)); // (B, h)
      return tf.add(tf.matMul(hid, this.w2), this.b2) as tf.Tensor2D; // (B, A)
    });
  }
  variables(): tf.Variable[] {
    return [this.embed, this.w1, this.b1, this.w2, this.b2];
  }
  numParameters(): number {
    return this.variables().reduce((s, x) => s + x.size, 0);
  }
  save(dir: string): void {
    const named = { embed: this.embed, w1: this.w1, b1: this.b1, w2: this.w2, b2: this.b2 };
    writeSafetensors(
      join(dir, BOW_FILE),
      Object.entries(named).map(([n, x]) => [
        n,
        { dtype: 'float32', shape: x.shape.slice(), read: () => x.dataSync() as Float32Array },
      ]),
    );
  }
  dispose(): void {
    tf.dispose(this.variables());
  }
}

// ─── create / save / load ─────────────────────────────────────────────────────────────────────────────

export function createProxyModel(config: ProxyConfig, keptIds: number[], seed: number): ProxyModel {
  if (keptIds.length !== config.keptVocab)
    throw new Error(`createProxyModel: ${keptIds.length} kept ids but keptVocab = ${config.keptVocab}`);
  const tok = remapTokenizer(llamaTokenizer(), keptIds);
  if (config.encoder === 'bow') return new BowProxy(config, tok, null, seed);
  if (config.hiddenSize % config.numHeads !== 0)
    throw new Error(`hidden size ${config.hiddenSize} is not divisible by ${config.numHeads} heads`);
  return new LlamaProxy(config, tok, Llama.random(llamaConfig(config), `seqsch-proxy/${seed}`));
}

/** Write the whole predictor folder (config, id map, weights). */
export function saveProxyModel(model: ProxyModel, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, CONFIG_FILE), model.config);
  saveIdMap(dir, [...model.tokenizer.keptIds]);
  model.save(dir);
}

/** Save only the weights (checkpoints inside a training run; config and id map live in the model folder). */
export function saveProxyWeights(model: ProxyModel, dir: string): void {
  mkdirSync(dir, { recursive: true });
  model.save(dir);
}

/** Load weights written by saveProxyWeights into `model` (for resume). */
export function loadProxyWeights(model: ProxyModel, dir: string): void {
  const fresh = readProxyWeights(model.config, model.tokenizer, dir);
  const src = fresh.variables();
  model.variables().forEach((v, i) => v.assign(src[i]));
  fresh.dispose();
}

function readProxyWeights(config: ProxyConfig, tok: RemappedTokenizer, dir: string): ProxyModel {
  if (config.encoder === 'bow') {
    const w = new Map([...readSafetensors(join(dir, BOW_FILE))].map(([n, t]) => [n, t.data as Float32Array]));
    return new BowProxy(config, tok, w, 0);
  }
  const llama = loadLlama(join(dir, 'encoder'));
  const want = llamaConfig(config);
  if (
    llama.config.vocabSize !== want.vocabSize ||
    llama.config.hiddenSize !== want.hiddenSize ||
    llama.config.numLayers !== want.numLayers
  ) {
    llama.dispose();
    throw new Error(
      `${join(dir, 'encoder')}: encoder does not match ${CONFIG_FILE} (vocab ${want.vocabSize}, d ${want.hiddenSize}, ${want.numLayers} layers)`,
    );
  }
  return new LlamaProxy(config, tok, llama);
}

export function loadProxyModel(dir: string): ProxyModel {
  const file = join(dir, CONFIG_FILE);
  const raw = readJson<ProxyConfig | EnsembleFile>(file);
  if (raw?.format === ENSEMBLE_FORMAT) {
    const e = raw as EnsembleFile;
    if (!Array.isArray(e.members) || e.members.length === 0)
      throw new Error(`${file}: "members" must list the member folders`);
    const members: ProxyModel[] = [];
    try {
      for (const m of e.members) members.push(loadProxyModel(join(dir, m)));
      return ensembleOf(members);
    } catch (err) {
      for (const m of members) m.dispose();
      throw err;
    }
  }
  const config = raw as ProxyConfig;
  if (config?.format !== 'seqsch-proxy-1')
    throw new Error(`${file}: not a proxy predictor config (format must be "seqsch-proxy-1" or "${ENSEMBLE_FORMAT}")`);
  const { base, keptIds } = loadIdMap(dir);
  if (base !== 'llama-1') throw new Error(`${dir}/tokenizer_idmap.json: base tokenizer "${base}", expected "llama-1"`);
  if (keptIds.length !== config.keptVocab)
    throw new Error(
      `${dir}: tokenizer_idmap.json keeps ${keptIds.length} ids, ${CONFIG_FILE} says ${config.keptVocab}`,
    );
  return readProxyWeights(config, remapTokenizer(llamaTokenizer(), keptIds), dir);
}

// ─── ensembles ────────────────────────────────────────────────────────────────────────────────────────

const ENSEMBLE_FORMAT = 'seqsch-proxy-ensemble-1';
interface EnsembleFile {
  format: typeof ENSEMBLE_FORMAT;
  members: string[];
}

/**
 * Members with the same config and vocabulary combined: the buckets head averages the members' bin
 * probabilities (outputs = log of the mean, so the head's softmax gives the mean back); regression heads
 * average the outputs.
 */
export function ensembleOf(members: ProxyModel[]): ProxyModel {
  const c0 = members[0].config;
  for (const m of members) {
    if (
      JSON.stringify({ ...m.config, head: { ...m.config.head, decode: '' } }) !==
      JSON.stringify({ ...c0, head: { ...c0.head, decode: '' } })
    ) {
      throw new Error('ensemble: members must share the config (encoder, sizes, vocabulary, head)');
    }
  }
  return {
    get config() {
      return members[0].config;
    },
    tokenizer: members[0].tokenizer,
    outputs: (b, training = false) =>
      tf.tidy(() => {
        const outs = members.map((m) => m.outputs(b, training));
        if (c0.head.kind !== 'buckets') return tf.div(tf.addN(outs), members.length) as tf.Tensor2D;
        return tf.log(tf.div(tf.addN(outs.map((o) => tf.softmax(o))), members.length)) as tf.Tensor2D; // (B, K)
      }),
    variables: () => members.flatMap((m) => m.variables()),
    numParameters: () => members.reduce((s, m) => s + m.numParameters(), 0),
    save: () => {
      throw new Error('ensemble: save with saveEnsemble');
    },
    dispose: () => members.forEach((m) => m.dispose()),
  };
}

/** Each member in DIR/member-k (a whole predictor folder), and DIR/proxy_config.json listing them. */
export function saveEnsemble(members: ProxyModel[], dir: string): void {
  const names = members.map((_, k) => `member-${k}`);
  members.forEach((m, k) => saveProxyModel(m, join(dir, names[k])));
  writeJson(join(dir, CONFIG_FILE), { format: ENSEMBLE_FORMAT, members: names } satisfies EnsembleFile);
}
