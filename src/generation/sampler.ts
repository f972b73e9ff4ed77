/**
 * Next-token choice from the last position's logits, on the device: greedy (argmax) at temperature 0,
 * else a draw from softmax(logits / temperature) seeded per step from one seedrandom stream, so a
 * seed reproduces a whole generation. Only the chosen ids (B int32) ever leave the device.
 * No top-k / top-p: the paper samples from the full distribution.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';

/** Below this temperature sampling is greedy (the paper's generate.py uses the same 1e-4 cut). */
export const GREEDY_BELOW = 1e-4;

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

  dispose(): void {
    this.invTemperature?.dispose();
  }
}
