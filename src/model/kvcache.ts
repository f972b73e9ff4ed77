/**
 * Key/value cache for incremental decoding: per layer, the rotated keys and the values of every
 * position seen so far, laid out head-major as attention consumes them.
 *
 * The cache owns its tensors (kept outside any tidy) and frees the previous step's when it appends.
 * It holds no attention mask: the caller passes the mask of past + new positions to each forward,
 * as Hugging Face does. It does not evict or reorder rows (a finished row just keeps being padded).
 */
import * as tf from '@tensorflow/tfjs-core';

export class KVCache {
  /** per layer: (B, nKvHeads, pastLength, headDim) */
  private keys: (tf.Tensor4D | null)[];
  private values: (tf.Tensor4D | null)[];
  /** number of cached positions (identical for every layer once a forward has finished) */
  length = 0;

  constructor(readonly numLayers: number) {
    this.keys = new Array(numLayers).fill(null);
    this.values = new Array(numLayers).fill(null);
  }

  /**
   * Append this step's keys/values for `layer` ((B, nKv, T, hd) each) and return the full
   * (B, nKv, past + T, hd) tensors. The returned tensors belong to the cache: do not dispose them.
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const oldK = this.keys[layer];
    const oldV = this.values[layer];
    const newK = oldK ? tf.concat4d([oldK, k], 2) : k.clone();
    const newV = oldV ? tf.concat4d([oldV, v], 2) : v.clone();
    tf.keep(newK);
    tf.keep(newV);
    if (oldK) oldK.dispose();
    if (oldV) oldV.dispose();
    this.keys[layer] = newK;
    this.values[layer] = newV;
    if (layer === this.numLayers - 1) this.length = newK.shape[2];
    return [newK, newV];
  }

  /** Past length seen by `layer` before this step's append. */
  pastLength(layer = 0): number {
    return this.keys[layer]?.shape[2] ?? 0;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.length = 0;
  }
}
