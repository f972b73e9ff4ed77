/**
 * The generic training loop: seeded shuffled batches, gradient accumulation (each micro-batch loss is
 * divided by the number of micro-batches in the step, as HF divides by the accumulation steps), clipping
 * by global norm, AdamW under a cosine-with-warmup schedule, a CSV loss curve, atomic checkpoints every N
 * optimizer steps and exact resume from the newest one. Full-parameter or LoRA-only training is just which
 * variables are passed in `params`; the model is reached only through `lossFn` and the save/load callbacks.
 *
 * Step accounting: an epoch has ceil(micro-batches / gradAccum) optimizer steps; its last step may average
 * fewer micro-batches. (HF 4.28 uses floor and carries the leftover gradient into the next epoch; with
 * micro-batches divisible by gradAccum both agree.) Optimizer step s (1-based) uses the schedule's value
 * at s − 1, so the first update of a run with warmup has lr 0, as in HF.
 *
 * Health: settings are checked before the first step (lr finite and > 0, …); a run stops with an error naming
 * the step — before writing any further checkpoint, so the newest one on disk is the last good state — when the
 * loss or the gradient norm is not finite, when an update leaves a non-finite weight, or when the gradient norm
 * is exactly 0 for `stallSteps` steps in a row (or at the last step) while the loss is not: a saturated model
 * (e.g. lr 1e9) that no further step can change.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync } from 'node:fs';
import { AdamW, type AdamWOptions } from './optim.js';
import { learningRate } from './schedule.js';
import {
  batchTensors,
  collate,
  disposeBatch,
  epochBatches,
  type Batch,
  type Example,
  type PadSide,
} from './batches.js';
import {
  assertSameConfig,
  hashExamples,
  latestCheckpoint,
  readTrainerState,
  removeStaleTemporaries,
  writeCheckpoint,
  type LogEntry,
  type RunConfig,
  type TrainerState,
} from './checkpoint.js';
import { appendCurve, resetCurve } from './curve.js';
import { progress } from '../util/progress.js';

/** What the loss function learns about the micro-batch it is computing. */
export interface MicroStep {
  /** the optimizer step being computed (1-based) */
  step: number;
  /** 0-based epoch and micro-batch index within it */
  epoch: number;
  microBatch: number;
  /** a seed for dropout, distinct per micro-batch and the same when the run is resumed */
  seed: number;
}

export interface TrainOptions {
  /** the variables to train (all of the model, or only the LoRA factors), always in the same order */
  params: tf.Variable[];
  /** scalar loss of one micro-batch, e.g. causalLmLoss(model.forward(...), ...) */
  lossFn: (batch: Batch, micro: MicroStep) => tf.Scalar;
  examples: Example[];
  batchSize: number;
  gradAccum?: number;
  epochs: number;
  /** peak learning rate */
  lr: number;
  weightDecay?: number;
  warmupRatio?: number;
  /** clip the global gradient norm to this (HF default 1.0); 0 turns clipping off */
  maxGradNorm?: number;
  adam?: Omit<AdamWOptions, 'weightDecay'>;
  seed: number;
  maxLength?: number;
  padSide?: PadSide;
  padId?: number;
  /** checkpoints land in outDir/checkpoint-STEP/, the curve in outDir/log.csv */
  outDir: string;
  /** save every this many optimizer steps (0: only at the end); the last step is always saved */
  saveEvery?: number;
  /** keep only the newest this many checkpoints */
  keepCheckpoints?: number;
  /** write the trained weights (model or adapter) into a checkpoint folder */
  saveState: (dir: string) => Promise<void>;
  /** read them back from a checkpoint folder when resuming */
  loadState: (dir: string) => Promise<void>;
  /** called after each optimizer step, after its CSV row is written and before its checkpoint */
  onLog?: (entry: LogEntry) => void | Promise<void>;
  /** stop (after checkpointing) once this optimizer step is done, e.g. to split a run under a time budget */
  stopAtStep?: number;
  /** stop with an error after this many steps in a row with a gradient norm of exactly 0 (default 3) */
  stallSteps?: number;
  /** progress-bar label */
  label?: string;
}

export interface TrainResult {
  /** optimizer steps done so far (equal to totalSteps when finished) */
  step: number;
  totalSteps: number;
  finished: boolean;
  /** the step the run resumed from (0: fresh start) */
  resumedFrom: number;
  /** the whole loss curve, including steps done before a resume */
  history: LogEntry[];
  /** the newest checkpoint folder */
  checkpoint: string;
}

/** The data plan: which micro-batches make up each optimizer step. */
interface Plan {
  microPerEpoch: number;
  stepsPerEpoch: number;
  totalSteps: number;
}

function makePlan(nExamples: number, batchSize: number, gradAccum: number, epochs: number): Plan {
  const microPerEpoch = Math.ceil(nExamples / batchSize);
  const stepsPerEpoch = Math.ceil(microPerEpoch / gradAccum);
  return { microPerEpoch, stepsPerEpoch, totalSteps: stepsPerEpoch * epochs };
}

/** Train, resuming from the newest checkpoint in outDir when there is one. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const gradAccum = o.gradAccum ?? 1;
  const weightDecay = o.weightDecay ?? 0;
  const warmupRatio = o.warmupRatio ?? 0;
  const maxGradNorm = o.maxGradNorm ?? 1.0;
  const saveEvery = o.saveEvery ?? 0;
  const padSide = o.padSide ?? 'right';
  const padId = o.padId ?? 0;
  if (o.examples.length === 0) throw new Error('train: no examples');
  if (o.params.length === 0) throw new Error('train: no parameters to train');
  for (const [key, v] of [
    ['batchSize', o.batchSize],
    ['gradAccum', gradAccum],
    ['epochs', o.epochs],
  ] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`train: ${key} must be a positive integer, got ${v}`);
  }
  if (!(Number.isFinite(o.lr) && o.lr > 0)) throw new Error(`train: lr must be a finite number > 0, got ${o.lr}`);
  for (const [key, v] of [
    ['weightDecay', weightDecay],
    ['warmupRatio', warmupRatio],
    ['maxGradNorm', maxGradNorm],
  ] as const) {
    if (!(Number.isFinite(v) && v >= 0)) throw new Error(`train: ${key} must be a finite number ≥ 0, got ${v}`);
  }
  const stallSteps = o.stallSteps ?? 3;
  const plan = makePlan(o.examples.length, o.batchSize, gradAccum, o.epochs);
  const config: RunConfig = {
    examples: o.examples.length,
    dataHash: hashExamples(o.examples),
    params: o.params.map((p) => p.shape),
    batchSize: o.batchSize,
    gradAccum,
    epochs: o.epochs,
    lr: o.lr,
    weightDecay,
    warmupRatio,
    maxGradNorm,
    seed: o.seed,
    maxLength: o.maxLength ?? null,
    padSide,
    padId,
  };

  mkdirSync(o.outDir, { recursive: true });
  removeStaleTemporaries(o.outDir);
  const optimizer = new AdamW(o.params, { ...o.adam, weightDecay });
  let step = 0;
  let tokens = 0;
  let secondsBefore = 0;
  let history: LogEntry[] = [];
  let checkpoint = '';
  const resume = latestCheckpoint(o.outDir);
  try {
    if (resume) {
      const state = readTrainerState(resume.dir);
      assertSameConfig(`${resume.dir}/trainer_state.json`, state.config, config);
      await o.loadState(resume.dir);
      optimizer.load(resume.dir);
      ({ step, tokens, seconds: secondsBefore } = state);
      history = state.log_history;
      checkpoint = resume.dir;
    }
    resetCurve(o.outDir, history); // drops rows logged after the checkpoint by a killed run

    const resumedFrom = step;
    const started = performance.now();
    let tokensThisRun = 0;
    const bar = progress(o.label ?? 'train', plan.totalSteps - step, { loss: '-', lr: '-', tok_s: '-' });
    let zeroGradSteps = 0;
    let epochOrder: EpochOrder | undefined;
    try {
      while (step < plan.totalSteps && !(o.stopAtStep !== undefined && step >= o.stopAtStep)) {
        const sp = stepPlanOf(o, plan, step, gradAccum, { padSide, padId, maxLength: o.maxLength }, epochOrder);
        epochOrder = sp.order;
        const { epoch } = sp;
        const last = sp.micro[sp.micro.length - 1].index + 1;
        const {
          loss,
          gradNorm,
          tokens: stepTokens,
        } = await optimizerStep(o, optimizer, {
          ...sp,
          lr: learningRate(step, o.lr, plan.totalSteps, warmupRatio),
          maxGradNorm,
        });
        step += 1;
        tokens += stepTokens;
        tokensThisRun += stepTokens;
        const seconds = (performance.now() - started) / 1000;
        const entry: LogEntry = {
          step,
          epoch: epoch + last / plan.microPerEpoch,
          loss,
          lr: learningRate(step - 1, o.lr, plan.totalSteps, warmupRatio),
          grad_norm: gradNorm,
          tokens,
          seconds: secondsBefore + seconds,
        };
        history.push(entry);
        appendCurve(o.outDir, entry);
        const kept = checkpoint ? ` The newest checkpoint, ${checkpoint}, is kept` : ' No checkpoint was written';
        const bad = await nonFiniteParams(o.params);
        if (bad.length) {
          throw new Error(
            `training stopped at optimizer step ${step}: the update (lr ${entry.lr.toExponential(2)}) left non-finite values in ` +
              `${bad.length} of ${o.params.length} trained tensors (the first is #${bad[0]}, shape [${o.params[bad[0]].shape}]).${kept}; nothing is marked done.`,
          );
        }
        zeroGradSteps = gradNorm === 0 && loss > 0 ? zeroGradSteps + 1 : 0;
        if (zeroGradSteps >= stallSteps || (zeroGradSteps > 0 && step === plan.totalSteps)) {
          throw new Error(
            `training stopped at optimizer step ${step}: the gradient norm has been 0 for ${zeroGradSteps} step${zeroGradSteps > 1 ? 's' : ''} ` +
              `while the loss is ${loss.toFixed(4)}, so no further step can change the weights (saturated outputs: lr ${o.lr} too high?).${kept}; nothing is marked done.`,
          );
        }
        bar.tick(1, {
          loss: loss.toFixed(4),
          lr: entry.lr.toExponential(2),
          tok_s: Math.round(tokensThisRun / seconds),
        });
        if (o.onLog) await o.onLog(entry);

        const due = (saveEvery > 0 && step % saveEvery === 0) || step === plan.totalSteps || step === o.stopAtStep;
        if (due) {
          const state: TrainerState = {
            format: 'seqsch-trainer-1',
            step,
            totalSteps: plan.totalSteps,
            next: { epoch: Math.floor(step / plan.stepsPerEpoch), microBatch: (step % plan.stepsPerEpoch) * gradAccum },
            tokens,
            seconds: entry.seconds,
            config,
            log_history: history,
          };
          checkpoint = await writeCheckpoint(
            o.outDir,
            state,
            async (dir) => {
              await o.saveState(dir);
              await optimizer.save(dir);
            },
            o.keepCheckpoints,
          );
        }
      }
    } finally {
      bar.stop();
    }
    return { step, totalSteps: plan.totalSteps, finished: step === plan.totalSteps, resumedFrom, history, checkpoint };
  } finally {
    optimizer.dispose();
  }
}

type EpochOrder = { epoch: number; batches: number[][] };

/** The micro-batches and settings of optimizer step `done + 1` (`order`: the epoch's shuffle, reused while it lasts). */
function stepPlanOf(
  o: TrainOptions,
  plan: Plan,
  done: number,
  gradAccum: number,
  collateOpts: StepPlan['collateOpts'],
  order?: EpochOrder,
): Omit<StepPlan, 'lr' | 'maxGradNorm'> & { order: EpochOrder } {
  const epoch = Math.floor(done / plan.stepsPerEpoch);
  const first = (done % plan.stepsPerEpoch) * gradAccum; // first micro-batch of this step in the epoch
  const last = Math.min(first + gradAccum, plan.microPerEpoch);
  if (order?.epoch !== epoch) order = { epoch, batches: epochBatches(o.examples.length, o.batchSize, o.seed, epoch) };
  return {
    step: done + 1,
    epoch,
    microGlobalOffset: epoch * plan.microPerEpoch,
    collateOpts,
    order,
    micro: order.batches.slice(first, last).map((b, k) => ({ indices: b, index: first + k })),
  };
}

/** The dropout seed of a micro-batch: depends only on (run seed, epoch, micro-batch), so a resumed run repeats it. */
const microSeed = (o: TrainOptions, s: Pick<StepPlan, 'microGlobalOffset'>, index: number) =>
  (o.seed * 1_000_003 + s.microGlobalOffset + index) % 2_147_483_647;

/**
 * The loss of optimizer step `step`'s micro-batches (same batches, same dropout masks) under the current weights,
 * forward only, as that step logged it. After training, step 1's beside history[0].loss says whether training
 * changed the loss at all, free of the batch-to-batch noise of the curve.
 */
export async function stepLossNow(o: TrainOptions, step = 1): Promise<number> {
  const gradAccum = o.gradAccum ?? 1;
  const plan = makePlan(o.examples.length, o.batchSize, gradAccum, o.epochs);
  const s = stepPlanOf(o, plan, step - 1, gradAccum, {
    padSide: o.padSide ?? 'right',
    padId: o.padId ?? 0,
    maxLength: o.maxLength,
  });
  let sum = 0;
  for (const { indices, index } of s.micro) {
    const batch = batchTensors(
      collate(
        indices.map((i) => o.examples[i]),
        s.collateOpts,
      ),
    );
    try {
      const l = o.lossFn(batch, { step: s.step, epoch: s.epoch, microBatch: index, seed: microSeed(o, s, index) });
      sum += (await l.data())[0];
      l.dispose();
    } finally {
      disposeBatch(batch);
    }
  }
  return sum / s.micro.length;
}

interface StepPlan {
  step: number;
  epoch: number;
  micro: { indices: number[]; index: number }[];
  lr: number;
  microGlobalOffset: number;
  maxGradNorm: number;
  collateOpts: { padSide: PadSide; padId: number; maxLength?: number };
}

/** Accumulate gradients over the step's micro-batches, check, clip, update. Returns loss, pre-clip norm, tokens. */
async function optimizerStep(
  o: TrainOptions,
  optimizer: AdamW,
  s: StepPlan,
): Promise<{ loss: number; gradNorm: number; tokens: number }> {
  const n = s.micro.length;
  let tokens = 0;
  let acc: (tf.Tensor | undefined)[] = o.params.map(() => undefined);
  let lossSum: tf.Tensor = tf.scalar(0);
  try {
    for (const { indices, index } of s.micro) {
      const batch = batchTensors(
        collate(
          indices.map((i) => o.examples[i]),
          s.collateOpts,
        ),
      );
      tokens += batch.tokens;
      const micro: MicroStep = {
        step: s.step,
        epoch: s.epoch,
        microBatch: index,
        seed: microSeed(o, s, index),
      };
      let value: tf.Scalar;
      let grads: tf.NamedTensorMap;
      try {
        ({ value, grads } = tf.variableGrads(() => tf.div(o.lossFn(batch, micro), n) as tf.Scalar, o.params));
      } finally {
        disposeBatch(batch);
      }
      const prev = lossSum;
      lossSum = tf.add(lossSum, value);
      tf.dispose([prev, value]);
      acc = acc.map((a, i) => {
        const g = grads[o.params[i].name];
        if (!a || !g) return a ?? g;
        const sum = tf.add(a, g);
        tf.dispose([a, g]);
        return sum;
      });
    }
    const present = acc.filter((g): g is tf.Tensor => g !== undefined);
    const normT = tf.tidy(() => tf.sqrt(tf.addN(present.map((g) => tf.sum(tf.square(g)))))); // global L2 norm
    const [loss, gradNorm] = [(await lossSum.data())[0], (await normT.data())[0]];
    normT.dispose();
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      const what = !Number.isFinite(loss) ? `loss is ${loss}` : `gradient norm is ${gradNorm} (loss ${loss})`;
      throw new Error(
        `training diverged at optimizer step ${s.step} (epoch ${s.epoch + 1}, micro-batches ${s.micro[0].index}-${s.micro[n - 1].index}): ${what}; ` +
          'the weights of the step before are unchanged and no checkpoint was written for it; nothing is marked done.',
      );
    }
    // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1
    const coef = s.maxGradNorm > 0 ? s.maxGradNorm / (gradNorm + 1e-6) : 1;
    if (coef < 1) {
      acc = acc.map((g) => {
        if (!g) return g;
        const scaled = tf.mul(g, coef);
        g.dispose();
        return scaled;
      });
    }
    optimizer.step(acc, s.lr);
    return { loss, gradNorm, tokens };
  } finally {
    tf.dispose([lossSum, ...acc.filter((g): g is tf.Tensor => g !== undefined)]);
  }
}

/** Indices of the variables holding a NaN or ±Infinity (one reduction per variable, one read back). */
export async function nonFiniteParams(params: tf.Variable[]): Promise<number[]> {
  const flags = tf.tidy(() => tf.stack(params.map((p) => tf.all(tf.isFinite(p)))));
  const ok = await flags.data();
  flags.dispose();
  return params.map((_, i) => i).filter((i) => !ok[i]);
}
