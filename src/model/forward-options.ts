/**
 * What a forward of src/model/llama.ts takes: the inputs every forward needs (where each token sits, the cache
 * it extends, the mode) and the named read-outs (which positions' logits, which hidden state), each with its
 * shape; and the checks that reject a malformed one before any op runs. B rows, T new positions per row,
 * `past` positions already cached, d = hidden size, V = vocabulary.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { AttentionCache } from './kvcache.js';

/** What every forward needs besides the input ids (B, T). */
export interface ForwardInputs {
  /** (B, past + T), 1 = real token, 0 = padding (left padding); int32 or float32. Default: all real. */
  attentionMask?: tf.Tensor2D;
  /** (B, T) int32; default cumsum(attentionMask) − 1 over past + T (padding → 1, as HF), else past + arange(T) */
  positionIds?: tf.Tensor2D;
  /** incremental decoding: keys/values of the past are read from and this step's appended to it */
  cache?: AttentionCache;
  /** applies LoRA dropout and keeps every op on the gradient tape's variables */
  training?: boolean;
}

/** Which positions' logits a forward returns; by default every position's, (B, T, V). */
export interface LogitsReadOut {
  /** the last position's only, (B, 1, V): what generation needs after a left-padded prefill */
  lastOnly?: boolean;
  /**
   * one position per row only, (B, 1, V): int32 (B), row b's position in [0, T) — the last real token of
   * right-padded prompts (continuous batching's prefill, src/engines/step-tfjs.ts). Overrides lastOnly.
   */
  logitsAt?: tf.Tensor1D;
}

/** Which hidden state forwardWithHidden returns beside the logits, at no extra cost (what a length probe reads). */
export interface HiddenReadOut {
  /**
   * numbered as HF's output_hidden_states: 0 = the token embeddings, l = the residual stream after decoder layer
   * l, numLayers = after the final norm. Shape (B, T, d), or (B, 1, d) with lastOnly.
   */
  hiddenLayer: number;
  /** with lastOnly: still every position's hidden state, (B, T, d) (for pooling over a prompt) */
  hiddenAll?: boolean;
}

/** Every option of a forward. */
export type ForwardOptions = ForwardInputs & LogitsReadOut & Partial<HiddenReadOut>;

/** Throws, naming the option and the expected shape, when an input does not fit ids (B, T) after `past` positions. */
export function checkForward(inputIds: tf.Tensor2D, opts: ForwardInputs & LogitsReadOut, past: number): void {
  const [B, T] = inputIds.shape;
  const mask = opts.attentionMask;
  if (mask && (mask.shape[0] !== B || mask.shape[1] !== past + T)) {
    const want = `[${B}, ${past + T}] (batch, past + new positions)`;
    throw new Error(`attentionMask has shape [${mask.shape}], expected ${want}`);
  }
  if (opts.positionIds && (opts.positionIds.shape[0] !== B || opts.positionIds.shape[1] !== T)) {
    throw new Error(`positionIds has shape [${opts.positionIds.shape}], expected [${B}, ${T}]`);
  }
  if (inputIds.dtype !== 'int32') throw new Error(`inputIds must be int32, got ${inputIds.dtype}`);
  const at = opts.logitsAt;
  if (at && (at.shape[0] !== B || at.dtype !== 'int32')) {
    throw new Error(`logitsAt has shape [${at.shape}] ${at.dtype}, expected int32 [${B}] (one position per row)`);
  }
}

/** Throws unless `hiddenLayer` names a hidden state of a model with L decoder layers. */
export function checkHiddenLayer(hiddenLayer: number, L: number): void {
  if (!Number.isInteger(hiddenLayer) || hiddenLayer < 0 || hiddenLayer > L) {
    const range = `[0, ${L}] (0 = embeddings, ${L} = after the final norm)`;
    throw new Error(`hiddenLayer must be an integer in ${range}, got ${hiddenLayer}`);
  }
}
