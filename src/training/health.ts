/**
 * Is a finished training's result fit to save? The trainer checks every step's loss and gradient (trainer.ts);
 * this looks at what the updates left: the trained tensors' norm against their norm at the start, and the loss of
 * step 1's batches under the final weights against step 1's logged loss (the same batches and dropout masks, so the
 * two differ only by what the updates did — a truly held-out batch would have to be withheld from training and
 * would change every result). A result that fails is not written (finetune.ts), the error names --lr. It does not
 * judge whether the model is good, only that it did not blow up.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Largest accepted growth of the trained tensors' L2 norm, end / start. Measured on ckpts/tiny-v3 with LoRA (A
 * kaiming-uniform, B zero, r 8 on q_proj,v_proj: start norm 4.59): the committed ckpts/tiny-v3-lenpred (lr 3e-3,
 * 320 steps) grew 1.76×; the issue's 4-step run (16 examples, batch 4) 1.002× at lr 1e-3 and 10.9× at lr 0.3 (its
 * loss still fell); lr 1e3 grew 3.7·10⁴×. 100× sits 50× above the largest normal run measured and ~400× below
 * the diverged one. Full-parameter training of a 2.1 M-weight model moves its norm by well under 1 %.
 */
export const MAX_NORM_GROWTH = 100;

/**
 * Largest accepted loss of step 1's batches after training, as a multiple of its loss before the first update
 * (and at least +1 nat, so a near-zero first loss is not held to a tiny bound). Normal runs lower it (the 4-step
 * run above: 10.09 → 9.64 at lr 1e-3, → 8.83 at lr 0.3). A diverged LoRA on this tiny model need not raise it
 * (lr 1e3: 10.09 → 7.27; the norm bound catches that run), so this guards against a different failure: an update
 * that leaves the model worse than it started on the very batches it trained on, or a non-finite loss.
 */
export const MAX_LOSS_GROWTH = 2;

/** The L2 norm of all `params` together (one reduction per tensor, one read back). */
export async function paramNorm(params: tf.Variable[]): Promise<number> {
  if (!params.length) return 0;
  const sq = tf.tidy(() => tf.addN(params.map((p) => tf.sum(tf.square(p)))));
  const v = (await sq.data())[0];
  sq.dispose();
  return Math.sqrt(v);
}

export interface HealthInputs {
  /** L2 norm of the trained tensors before the first update and after the last */
  startNorm: number;
  endNorm: number;
  /** step 1's logged loss (before its update) and the loss of the same batches under the final weights */
  firstLoss: number;
  lossAfter: number;
  lr: number;
  /** where the result would have been written */
  outDir: string;
}

/** Why the result must not be saved, or null. */
export function unhealthyResult(h: HealthInputs): string | null {
  const why: string[] = [];
  const growth = h.endNorm / h.startNorm;
  if (!Number.isFinite(h.endNorm)) why.push(`the trained weights' norm is ${h.endNorm}`);
  else if (h.startNorm > 0 && growth > MAX_NORM_GROWTH)
    why.push(
      `the trained weights' norm grew ${formatRatio(growth)} from the start (${h.startNorm.toPrecision(4)} → ${h.endNorm.toPrecision(4)}; a normal run stays within ${MAX_NORM_GROWTH}×)`,
    );
  if (!Number.isFinite(h.lossAfter)) why.push(`the loss of step 1's batches after the last update is ${h.lossAfter}`);
  else if (Number.isFinite(h.firstLoss) && h.lossAfter > Math.max(MAX_LOSS_GROWTH * h.firstLoss, h.firstLoss + 1))
    why.push(
      `the loss of step 1's batches rose from ${h.firstLoss.toFixed(4)} before training to ${h.lossAfter.toFixed(4)} after the last update`,
    );
  if (!why.length) return null;
  const loss = `loss of step 1's batches ${h.firstLoss.toFixed(4)} before training, ${h.lossAfter.toFixed(4)} after`;
  return `training diverged: ${why.join('; ')} (${loss}). The learning rate (--lr / lr = ${h.lr}) is too high for this run; the result was not saved in ${h.outDir} (an earlier result there is kept)`;
}

const formatRatio = (r: number) => (r >= 100 ? `${r.toExponential(1)}×` : `${r.toFixed(1)}×`);
