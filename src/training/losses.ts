/**
 * Causal language-model loss with a label mask: the logits at position t predict token t+1, and the
 * loss is the mean cross-entropy over target positions whose label mask is 1 (answer tokens and EOS;
 * prompt and padding are 0), as FastChat's training does with labels set to -100 outside the answer.
 * It does not pad, truncate or build masks (see batches.ts, data/conversation.ts).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * @param logits    (B, T, V) float32 model outputs
 * @param inputIds  (B, T) int32 token ids (the targets are these ids shifted left by one)
 * @param labelMask (B, T) 1 where token t is a target, aligned with inputIds (position 0 is never a target)
 * @returns scalar mean negative log-likelihood over the masked targets; 0 when no target is masked
 *          (where PyTorch would give NaN: a micro-batch of prompts only contributes no gradient here)
 */
export function causalLmLoss(logits: tf.Tensor, inputIds: tf.Tensor, labelMask: tf.Tensor): tf.Scalar {
  if (logits.rank !== 3) throw new Error(`causalLmLoss: logits must be (B, T, V), got [${logits.shape}]`);
  const [B, T, V] = logits.shape;
  for (const [name, t] of [
    ['inputIds', inputIds],
    ['labelMask', labelMask],
  ] as const) {
    if (t.rank !== 2 || t.shape[0] !== B || t.shape[1] !== T) {
      throw new Error(`causalLmLoss: ${name} must be (${B}, ${T}) to match logits, got [${t.shape}]`);
    }
  }
  if (inputIds.dtype !== 'int32') throw new Error(`causalLmLoss: inputIds must be int32, got ${inputIds.dtype}`);
  return tf.tidy(() => {
    const N = B * (T - 1);
    const logProbs = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [B, T - 1, V]).reshape([N, V])); // (N, V)
    const targets = tf.slice(inputIds, [0, 1], [B, T - 1]).reshape([N]); // (N,) the next token
    const mask = tf
      .slice(labelMask, [0, 1], [B, T - 1])
      .reshape([N])
      .toFloat(); // (N,)
    // pick logProbs[n, targets[n]] from the flattened (N·V) array; its gradient is a scatter (UnsortedSegmentSum)
    const flatIndex = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), targets); // (N,)
    const targetLogProbs = tf.gather(logProbs.reshape([N * V]), flatIndex); // (N,)
    const count = tf.maximum(tf.sum(mask), 1);
    return tf.div(tf.neg(tf.sum(tf.mul(targetLogProbs, mask))), count) as tf.Scalar;
  });
}
