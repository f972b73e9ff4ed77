/**
 * Memory a tfjs engine needs, estimated before it allocates anything, so a batch that cannot fit is refused with
 * how much it needs and what to lower, instead of dying inside a kernel after gigabytes of work (`--max-batch
 * 100000` on the real engine did, at 3.9 GB). Float32 throughout:
 *   KV cache     rows × positions × layers × 2 (K, V) × KV heads × head dim × 4 bytes
 *   weights      parameters × 4 bytes (the model on the same heap)
 *   activations  rows × (4·hidden + 2·intermediate + vocab) × 4 bytes: one decode step's hidden states, Q/K/V and
 *                attention output, the gated MLP's two intermediates and the logits — a lower bound (a prefill
 *                holds them for every prompt token of its rows)
 * against the backend's limit: the wasm heap is 32-bit linear memory (4 GiB at most), any other backend the
 * machine's memory. It estimates and refuses; it allocates nothing.
 */
import { totalmem } from 'node:os';
import type { LlamaConfig } from '../model/config.js';

/** wasm32 linear memory: at most 2³² bytes, whatever the machine has. */
export const WASM_HEAP_BYTES = 2 ** 32;

export interface EngineMemory {
  kvBytes: number;
  weightBytes: number;
  activationBytes: number;
  totalBytes: number;
  /** bytes the backend can hold */
  limitBytes: number;
  /** the most rows that fit with these positions (0 when not even the weights fit) */
  maxRows: number;
}

const F32 = 4;

/** The estimate for `rows` batch rows of `positions` cached positions each (see the header). */
export function engineMemory(
  c: LlamaConfig,
  rows: number,
  positions: number,
  parameters: number,
  backend: string,
): EngineMemory {
  const kvPerRow = positions * c.numLayers * 2 * c.numKvHeads * c.headDim * F32;
  const actPerRow = (4 * c.hiddenSize + 2 * c.intermediateSize + c.vocabSize) * F32;
  const weightBytes = parameters * F32;
  const limitBytes = backend === 'wasm' ? Math.min(WASM_HEAP_BYTES, totalmem()) : totalmem();
  const kvBytes = rows * kvPerRow;
  const activationBytes = rows * actPerRow;
  return {
    kvBytes,
    weightBytes,
    activationBytes,
    totalBytes: kvBytes + weightBytes + activationBytes,
    limitBytes,
    maxRows: Math.max(0, Math.floor((limitBytes - weightBytes) / (kvPerRow + actPerRow))),
  };
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 3 : 1)} GiB`;

/**
 * Throw before allocating when `rows` rows of `positions` positions cannot fit; `lower` names what the user sets
 * (`max batch (--max-batch / max_batch)`), `what` the buffer (`the continuous-batching KV cache`).
 */
export function requireEngineMemory(
  c: LlamaConfig,
  o: { rows: number; positions: number; parameters: number; backend: string; what: string; lower: string },
): EngineMemory {
  const m = engineMemory(c, o.rows, o.positions, o.parameters, o.backend);
  if (m.totalBytes > m.limitBytes) {
    const heap = o.backend === 'wasm' ? 'the wasm heap (32-bit: 4 GiB at most)' : `this machine's memory`;
    throw new Error(
      `${o.what}: ${o.rows} rows × ${o.positions} positions need about ${gib(m.totalBytes)} ` +
        `(KV cache ${gib(m.kvBytes)} = rows × positions × ${c.numLayers} layers × 2 × ${c.numKvHeads} KV heads × ${c.headDim} × 4 bytes, ` +
        `weights ${gib(m.weightBytes)}, activations ≥ ${gib(m.activationBytes)}) but ${heap} holds ${gib(m.limitBytes)}: ` +
        `lower the ${o.lower} to at most ${m.maxRows}`,
    );
  }
  return m;
}
