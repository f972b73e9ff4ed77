/**
 * Next-token choice from the last position's logits, on the device: greedy (argmax) at temperature 0,
 * else a draw from softmax(logits / temperature) seeded per step from one seedrandom stream, so a
 * seed reproduces a whole generation. Only the chosen ids (B int32) ever leave the device — except greedy on the
 * wasm backend with few logits (pickOnHost: the heap is the host's memory, and one argMax dispatch plus an async read
 * cost more than reading B·V ≤ 2^16 floats there; the same ids as tf.argMax, first maximum on ties).
 * No top-k / top-p: the paper samples from the full distribution.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';

/** Below this temperature sampling is greedy (the paper's generate.py uses the same 1e-4 cut). */
export const GREEDY_BELOW = 1e-4;

/** Greedy picks on the host only up to this many logits per step (B·V; a batch-1 step of a small vocabulary). */
export const HOST_ARGMAX_MAX = 2 ** 16;

let hostArgmax = true;
/** Switch the host-side greedy pick off (every pick through tf.argMax) or on; returns the previous setting. */
export function setHostArgmax(on: boolean): boolean {
  const was = hostArgmax;
  hostArgmax = on;
  return was;
}

export class Sampler {
  private readonly rng: seedrandom.PRNG;
  private readonly invTemperature: tf.Scalar | null;

  constructor(
    readonly temperature = 0,
    seed: string | number = 0,
  ) {
    if (!(temperature >= 0)) throw new Error(`temperature must be ≥ 0, got ${temperature}`);
    this.rng = seedrandom(`sampler:${seed}`);
    this.invTemperature = temperature < GREEDY_BELOW ? null : tf.keep(tf.scalar(1 / temperature));
  }

  get greedy(): boolean {
    return this.invTemperature === null;
  }

  /** logits (B, V) → token ids (B) int32, still on the device. */
  sample(logits: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      if (!this.invTemperature) return tf.cast(tf.argMax(logits, -1), 'int32') as tf.Tensor1D;
      const seed = Math.floor(this.rng() * 2 ** 31);
      const draws = tf.multinomial(tf.mul(logits, this.invTemperature) as tf.Tensor2D, 1, seed, false); // (B, 1)
      return tf.reshape(tf.cast(draws, 'int32'), [logits.shape[0]]) as tf.Tensor1D;
    });
  }

  /**
   * Greedy ids of logits (B, V) read on the host, as tf.argMax gives them (first maximum; a NaN never wins over a
   * number after it), when that is cheaper: greedy, the wasm backend, B·V ≤ HOST_ARGMAX_MAX. Else null: sample().
   */
  pickOnHost(logits: tf.Tensor2D): Int32Array | null {
    const [B, V] = logits.shape;
    if (!hostArgmax || !this.greedy || B * V > HOST_ARGMAX_MAX || tf.getBackend() !== 'wasm') return null;
    const x = logits.dataSync() as Float32Array;
    const ids = new Int32Array(B);
    for (let b = 0, o = 0; b < B; b++, o += V) {
      let best = x[o],
        at = 0;
      for (let j = 1; j < V; j++)
        if (x[o + j] > best) {
          best = x[o + j];
          at = j;
        }
      ids[b] = at;
    }
    return ids;
  }

  dispose(): void {
    this.invTemperature?.dispose();
  }
}
