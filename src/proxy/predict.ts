/**
 * Inference of the proxy length predictor: query texts → head outputs in length-sorted batches (little padding),
 * back in input order → predicted lengths by the model's decode rule (or every rule, for model selection).
 * Reading files and writing the `[{id, predicted}]` list the simulator reads is the command's job.
 */
import * as tf from '@tensorflow/tfjs-core';
import { decode, decodeAll, headOutputs } from '../scoring/heads.js';
import type { DecodeRule, NamedDecodeRule } from '../scoring/kinds.js';
import { disposeProxyBatch, encodeQuery, makeBatch, type EncodedQuery, type ProxyModel } from './model.js';

/** Head outputs for every query, (N·A) row-major in the given order. */
export async function predictOutputs(
  model: ProxyModel,
  queries: EncodedQuery[],
  batchSize = 64,
): Promise<Float32Array> {
  const A = headOutputs(model.config.head);
  const out = new Float32Array(queries.length * A);
  const order = queries.map((_, i) => i).sort((a, b) => queries[a].ids.length - queries[b].ids.length);
  for (let s = 0; s < order.length; s += batchSize) {
    const idx = order.slice(s, s + batchSize);
    const batch = makeBatch(idx.map((i) => queries[i]));
    const y = model.outputs(batch, false); // (b, A)
    const data = (await y.data()) as Float32Array;
    tf.dispose(y);
    disposeProxyBatch(batch);
    idx.forEach((i, r) => out.set(data.subarray(r * A, (r + 1) * A), i * A));
  }
  return out;
}

export function encodeAll(model: ProxyModel, texts: string[]): EncodedQuery[] {
  return texts.map((t) => encodeQuery(model.tokenizer, t, model.config.maxTokens));
}

/** Predicted lengths (tokens) by the model's decode rule (or `rule`), and the seconds taken (tokenizing included). */
export async function predictLengths(
  model: ProxyModel,
  texts: string[],
  batchSize = 64,
  rule?: DecodeRule,
): Promise<{ lengths: number[]; seconds: number }> {
  const t0 = performance.now();
  const out = await predictOutputs(model, encodeAll(model, texts), batchSize);
  const lengths = decode({ ...model.config.head, decode: rule ?? model.config.head.decode }, out, texts.length);
  return { lengths, seconds: (performance.now() - t0) / 1000 };
}

/** Predicted lengths under every decode rule the head has (for choosing one on held-out data). */
export async function predictAllRules(
  model: ProxyModel,
  queries: EncodedQuery[],
  batchSize = 64,
): Promise<Partial<Record<NamedDecodeRule, number[]>>> {
  return decodeAll(model.config.head, await predictOutputs(model, queries, batchSize), queries.length);
}
