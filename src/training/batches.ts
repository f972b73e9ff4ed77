/**
 * Training batches: a seeded shuffle of the examples per epoch (seedrandom), cut into batches, each
 * truncated to a maximum length and padded to its longest row with an attention mask. Right padding is
 * the default (as FastChat's training tokenizer); left padding (as in generation) also works because
 * the model takes position ids = cumsum(mask) − 1. It does not tokenize or decide which tokens are targets.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';

/** One tokenized training example, as `trainingExample` in data/conversation.ts returns it. */
export interface Example {
  /** token ids, BOS first */
  ids: number[];
  /** 1 where ids[t] is a target (answer tokens and EOS), 0 elsewhere; same length as ids */
  labelMask: number[];
}

export type PadSide = 'left' | 'right';

export interface CollateOptions {
  /** which side padding goes (default 'right') */
  padSide?: PadSide;
  /** id written into padded positions (default 0, LLaMA's <unk>, which FastChat uses as pad) */
  padId?: number;
  /** keep only the first maxLength tokens of each example, as FastChat truncates (default: no limit) */
  maxLength?: number;
}

/** A padded batch as flat row-major arrays of shape (B, T). */
export interface CollatedBatch {
  shape: [number, number];
  inputIds: Int32Array; // (B, T)
  attentionMask: Int32Array; // (B, T) 1 on real tokens, 0 on padding
  labelMask: Float32Array; // (B, T) 1 on target tokens
  /** real (non-padding) tokens in the batch */
  tokens: number;
  /** target tokens in the batch */
  targets: number;
}

/** The batch as tensors, handed to the loss function. */
export interface Batch {
  inputIds: tf.Tensor2D; // (B, T) int32
  attentionMask: tf.Tensor2D; // (B, T) int32
  labelMask: tf.Tensor2D; // (B, T) float32
  tokens: number;
  targets: number;
}

/** A permutation of 0..n-1 for `epoch`, from seed and epoch alone (so a resumed run needs no RNG state). */
export function shuffledOrder(n: number, seed: number, epoch: number): number[] {
  const rng = seedrandom(`seqsch-train/${seed}/${epoch}`);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    // Fisher–Yates
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Example indices of each batch of `epoch`; the last batch may be smaller (like drop_last=False). */
export function epochBatches(n: number, batchSize: number, seed: number, epoch: number): number[][] {
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const order = shuffledOrder(n, seed, epoch);
  const batches: number[][] = [];
  for (let i = 0; i < n; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/** Truncate each example to maxLength and pad the batch to its longest row. */
export function collate(examples: Example[], opts: CollateOptions = {}): CollatedBatch {
  const { padSide = 'right', padId = 0, maxLength = Infinity } = opts;
  if (examples.length === 0) throw new Error('collate: empty batch');
  const rows = examples.map((ex, i) => {
    if (ex.ids.length !== ex.labelMask.length) {
      throw new Error(`collate: example ${i} has ${ex.ids.length} ids but ${ex.labelMask.length} label-mask entries`);
    }
    if (ex.ids.length === 0) throw new Error(`collate: example ${i} is empty`);
    const n = Math.min(ex.ids.length, maxLength);
    return { ids: ex.ids.slice(0, n), labelMask: ex.labelMask.slice(0, n) };
  });
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.ids.length));
  const inputIds = new Int32Array(B * T).fill(padId);
  const attentionMask = new Int32Array(B * T);
  const labelMask = new Float32Array(B * T);
  let tokens = 0;
  let targets = 0;
  rows.forEach((r, b) => {
    const start = b * T + (padSide === 'left' ? T - r.ids.length : 0);
    r.ids.forEach((id, t) => {
      inputIds[start + t] = id;
      attentionMask[start + t] = 1;
      labelMask[start + t] = r.labelMask[t] ? 1 : 0;
      targets += r.labelMask[t] ? 1 : 0;
    });
    tokens += r.ids.length;
  });
  return { shape: [B, T], inputIds, attentionMask, labelMask, tokens, targets };
}

export function batchTensors(c: CollatedBatch): Batch {
  return {
    inputIds: tf.tensor2d(c.inputIds, c.shape, 'int32'),
    attentionMask: tf.tensor2d(c.attentionMask, c.shape, 'int32'),
    labelMask: tf.tensor2d(c.labelMask, c.shape, 'float32'),
    tokens: c.tokens,
    targets: c.targets,
  };
}

export function disposeBatch(b: Batch): void {
  tf.dispose([b.inputIds, b.attentionMask, b.labelMask]);
}
