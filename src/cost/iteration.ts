/**
 * The contract of a GPU iteration cost model: what one forward of an iteration-level (continuous) batching server
 * costs, from what is in it — prefill chunks (attention growing with the square of their tokens), decode rows and
 * the KV they attend, and a fixed per-iteration overhead — plus the model and GPU shape the memory model needs
 * (KV bytes per token, weight bytes, GPU memory). It knows nothing of requests, slots or order; the simulated step
 * engine (src/engines/step-sim.ts) builds each iteration's shape and asks it.
 */

/** One request's prefill work in an iteration (a whole prompt, or a chunk of it under chunked prefill). */
export interface PrefillChunk {
  /** prompt tokens computed in this iteration */
  tokens: number;
  /** KV tokens the request already holds before them (a cached prefix, earlier chunks) */
  cached: number;
}

/** What one iteration (one forward) holds. */
export interface IterationShape {
  prefills: PrefillChunk[];
  /** decode rows: each computes one token */
  decodeRows: number;
  /** Σ over the decode rows of the KV tokens each attends (prompt + tokens generated so far) */
  decodeContext: number;
}

/** A LLaMA-family model's shape: what the memory model and the cost model's linear terms read. */
export interface ModelShape {
  name: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  vocab: number;
  /** bytes per weight and per KV element (2: fp16/bf16) */
  dtypeBytes: number;
}

export interface GpuSpec {
  name: string;
  /** device memory, GiB */
  memoryGiB: number;
}

export interface IterationCostModel {
  description: string;
  gpu: GpuSpec;
  model: ModelShape;
  /** set when a term is not measured but derived (e.g. the H100 attention term): says which and how */
  estimated?: string;
  /** milliseconds of one iteration of this shape */
  iterationMs(s: IterationShape): number;
}

/** KV-cache bytes one token takes: K and V × layers × KV heads × head dim × bytes per element. */
export function kvBytesPerToken(m: ModelShape): number {
  return 2 * m.layers * m.kvHeads * (m.hidden / m.heads) * m.dtypeBytes;
}

/** Parameters of a LLaMA of this shape: embeddings and LM head (untied), per layer attention + gated MLP + 2 norms. */
export function parameterCount(m: ModelShape): number {
  const headDim = m.hidden / m.heads;
  const attention = m.hidden * m.hidden * 2 + m.hidden * m.kvHeads * headDim * 2; // q, o; k, v
  const mlp = 3 * m.hidden * m.intermediate; // gate, up, down
  return 2 * m.vocab * m.hidden + m.layers * (attention + mlp + 2 * m.hidden) + m.hidden;
}
