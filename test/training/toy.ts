/** Helpers for the trainer tests: a toy next-token model (embedding → linear) with weight save/load callbacks. */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import type { Batch, Example } from '../../src/training/batches.js';
import type { TrainOptions } from '../../src/training/trainer.js';
import { causalLmLoss } from '../../src/training/losses.js';

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export const VOCAB = 11;
const DIM = 8;

/** logits (B, T, V) = embed[ids] (B, T, D) @ out (D, V) */
export class Toy {
  readonly embed: tf.Variable;
  readonly out: tf.Variable;
  constructor(seed: number) {
    this.embed = tf.variable(tf.randomNormal([VOCAB, DIM], 0, 0.5, 'float32', seed));
    this.out = tf.variable(tf.randomNormal([DIM, VOCAB], 0, 0.5, 'float32', seed + 1));
  }
  get params(): tf.Variable[] {
    return [this.embed, this.out];
  }
  loss = (batch: Batch): tf.Scalar =>
    tf.tidy(() => {
      const [B, T] = batch.inputIds.shape;
      const h = tf.gather(this.embed, batch.inputIds.reshape([B * T])); // (B·T, D)
      const logits = tf.matMul(h, this.out).reshape([B, T, VOCAB]); // (B, T, V)
      return causalLmLoss(logits, batch.inputIds, batch.labelMask);
    });
  save = async (dir: string): Promise<void> => {
    for (const [i, p] of this.params.entries())
      writeFileSync(join(dir, `w${i}.bin`), Buffer.from(((await p.data()) as Float32Array).buffer));
  };
  load = async (dir: string): Promise<void> => {
    this.params.forEach((p, i) => {
      const b = readFileSync(join(dir, `w${i}.bin`));
      p.assign(tf.tensor(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)), p.shape));
    });
  };
  snapshot(): number[][] {
    return this.params.map((p) => Array.from(p.dataSync()));
  }
  dispose(): void {
    tf.dispose(this.params);
  }
}

/** Sequences 2..`maxLen` long following a noisy rule (next = 2·prev + 1 mod V), target = second half. */
export function toyExamples(n: number, seed: number, maxLen = 9): Example[] {
  const rng = seedrandom(String(seed));
  return Array.from({ length: n }, () => {
    const len = 2 + Math.floor(rng() * (maxLen - 1));
    const ids = [1 + Math.floor(rng() * (VOCAB - 1))];
    while (ids.length < len) ids.push(rng() < 0.9 ? (2 * ids.at(-1)! + 1) % VOCAB : Math.floor(rng() * VOCAB));
    const labelMask = ids.map((_, t) => (t >= Math.floor(len / 2) ? 1 : 0));
    return { ids, labelMask };
  });
}

// 13 examples, batch 2, accumulation 2: 7 micro-batches per epoch, 4 optimizer steps per epoch (the last one
// averages a single micro-batch), 3 epochs = 12 steps; warmup ceil(0.1 × 12) = 2 steps; weight decay on.
export const TOY_EXAMPLES = toyExamples(13, 7);
export function toyTrainOptions(toy: Toy, outDir: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    params: toy.params,
    lossFn: toy.loss,
    examples: TOY_EXAMPLES,
    batchSize: 2,
    gradAccum: 2,
    epochs: 3,
    lr: 0.05,
    weightDecay: 0.01,
    warmupRatio: 0.1,
    maxGradNorm: 1.0,
    seed: 3,
    outDir,
    saveState: toy.save,
    loadState: toy.load,
    ...extra,
  };
}
