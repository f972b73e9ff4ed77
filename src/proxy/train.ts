/**
 * Train a proxy length predictor: TRAIN queries (minus any that leak from the excluded validation files) are
 * split into a fitting part and a held-out part; the reduced vocabulary comes from the fitting part only
 * (held-out ids unseen there become unk, as validation ids would); the network is fitted with the project's
 * trainer (AdamW, cosine schedule with warmup, clipping, resume); after every epoch the held-out Error / Acc-50 /
 * Acc-100 of each decode rule is logged, and the rule that is best on held-out `selectBy` is written into the
 * saved model. Validation data is never used here except to exclude it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { llamaTokenizer } from '../tokenizer/llama.js';
import { buildIdMap } from '../tokenizer/idmap.js';
import { train } from '../training/trainer.js';
import { epochBatches, type Example } from '../training/batches.js';
import { writeJson } from '../util/fs.js';
import { DECODE_RULES, headLoss, type DecodeRule, type HeadConfig } from './heads.js';
import { excludeLeaks, loadQueries, splitHoldout, type LabeledQuery } from './data.js';
import { lengthMetrics, type LengthMetrics } from './metrics.js';
import {
  createProxyModel, encodeQuery, loadProxyWeights, NUM_FEATURES, saveProxyModel, saveProxyWeights,
  type EncoderKind, type ProxyConfig, type ProxyModel,
} from './model.js';
import { predictAllRules } from './predict.js';
import { predictorText, queryParts } from './query.js';

export interface TrainPredictorOptions {
  data: string;
  lengths: string;
  /** conversations files whose queries must not be trained on (by id and by instruction text) */
  exclude: string[];
  outDir: string;
  encoder: EncoderKind;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxTokens: number;
  head: HeadConfig;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
  /** fraction of TRAIN held out for model selection */
  holdout: number;
  seed: number;
  /** held-out metric that picks the decode rule */
  selectBy: 'error' | 'acc50' | 'acc100';
  /** train on at most this many queries (quick runs and tests) */
  numData?: number;
}

export interface TrainPredictorSummary {
  parameters: number;
  keptVocab: number;
  trainQueries: number;
  heldOutQueries: number;
  droppedAsLeaks: number;
  trainSeconds: number;
  /** held-out metrics per decode rule after each epoch */
  curve: { epoch: number; loss: number; heldOut: Partial<Record<DecodeRule, LengthMetrics>> }[];
  decode: DecodeRule;
  heldOut: LengthMetrics;
}

/** Better-is-larger score of a metric, for choosing a decode rule. */
const score = (m: LengthMetrics, by: TrainPredictorOptions['selectBy']) => (by === 'error' ? -m.error : by === 'acc50' ? m.acc50 : m.acc100);

export async function trainPredictor(o: TrainPredictorOptions): Promise<TrainPredictorSummary> {
  // ---- data: TRAIN minus leaks, split into fit / held out
  let all: LabeledQuery[] = loadQueries(o.data, { lengths: o.lengths, numData: o.numData });
  let dropped = 0;
  for (const file of o.exclude) {
    const r = excludeLeaks(all, loadQueries(file));
    all = r.kept;
    dropped += r.dropped;
  }
  const { fit, held } = splitHoldout(all, o.holdout, o.seed);
  if (fit.length === 0) throw new Error(`${o.data}: no training queries left after the holdout split`);

  // ---- reduced vocabulary from the fitting part only
  const base = llamaTokenizer();
  const keptIds = buildIdMap(fit.map((q) => predictorText(queryParts(q.text))), base);
  const config: ProxyConfig = {
    format: 'seqsch-proxy-1',
    encoder: o.encoder,
    hiddenSize: o.hiddenSize,
    numLayers: o.numLayers,
    numHeads: o.numHeads,
    intermediateSize: o.intermediateSize,
    maxTokens: o.maxTokens,
    keptVocab: keptIds.length,
    head: { ...o.head },
  };
  const model = createProxyModel(config, keptIds, o.seed);
  try {
    const enc = fit.map((q) => encodeQuery(model.tokenizer, q.text, o.maxTokens));
    const targets = fit.map((q) => q.target!);
    const heldEnc = held.map((q) => encodeQuery(model.tokenizer, q.text, o.maxTokens));
    const heldTargets = held.map((q) => q.target!);
    const examples: Example[] = enc.map((e) => ({ ids: e.ids, labelMask: e.ids.map(() => 0) }));

    const evalHeld = async () => {
      if (held.length === 0) return {};
      const all = await predictAllRules(model, heldEnc);
      return Object.fromEntries(Object.entries(all).map(([rule, p]) => [rule, lengthMetrics(p, heldTargets)]));
    };

    // ---- fit with the project's trainer; the batch's queries are recovered from the trainer's seeded plan
    let plan: { epoch: number; batches: number[][] } | undefined;
    const curve: TrainPredictorSummary['curve'] = [];
    const stepsPerEpoch = Math.ceil(enc.length / o.batchSize);
    let epochLoss = 0;
    const t0 = performance.now();
    const result = await train({
      params: model.variables(),
      examples,
      batchSize: o.batchSize,
      epochs: o.epochs,
      lr: o.lr,
      weightDecay: o.weightDecay,
      warmupRatio: o.warmupRatio,
      seed: o.seed,
      padSide: 'left', // the head reads the last column (EOS)
      padId: 0,
      outDir: join(o.outDir, 'run'),
      keepCheckpoints: 1,
      label: `train-predictor (${o.encoder})`,
      lossFn: (batch, micro) => {
        if (plan?.epoch !== micro.epoch) plan = { epoch: micro.epoch, batches: epochBatches(enc.length, o.batchSize, o.seed, micro.epoch) };
        const idx = plan.batches[micro.microBatch];
        if (!idx || idx.length !== batch.inputIds.shape[0]) throw new Error(`train-predictor: batch ${micro.microBatch} of epoch ${micro.epoch} does not match the trainer's plan`);
        const feats = tf.tensor2d(idx.flatMap((i) => enc[i].features), [idx.length, NUM_FEATURES]);
        const out = model.outputs({ inputIds: batch.inputIds, attentionMask: batch.attentionMask, features: feats }, true);
        return headLoss(config.head, out, idx.map((i) => targets[i]));
      },
      saveState: async (dir) => saveProxyWeights(model, dir),
      loadState: async (dir) => loadProxyWeights(model, dir),
      onLog: async (entry) => {
        epochLoss += entry.loss;
        if (entry.step % stepsPerEpoch === 0) {
          curve.push({ epoch: entry.step / stepsPerEpoch, loss: epochLoss / stepsPerEpoch, heldOut: await evalHeld() });
          epochLoss = 0;
        }
      },
    });
    // the trainer's clock (includes steps done before a resume and the per-epoch held-out evaluations)
    const trainSeconds = result.history.length ? result.history[result.history.length - 1].seconds : (performance.now() - t0) / 1000;
    if (!result.finished) throw new Error(`train-predictor: stopped at step ${result.step} of ${result.totalSteps}`);

    // ---- choose the decode rule on held-out data and save
    const last = curve.length ? curve[curve.length - 1].heldOut : await evalHeld();
    const rules = (Object.keys(last) as DecodeRule[]).filter((r) => DECODE_RULES.includes(r));
    let decode = config.head.decode;
    if (config.head.kind === 'buckets' && rules.length) decode = rules.reduce((a, b) => (score(last[b]!, o.selectBy) > score(last[a]!, o.selectBy) ? b : a));
    if (config.head.kind !== 'buckets') decode = 'median';
    (model.config as ProxyConfig).head.decode = decode;
    saveProxyModel(model, o.outDir);
    const summary: TrainPredictorSummary = {
      parameters: model.numParameters(),
      keptVocab: keptIds.length,
      trainQueries: fit.length,
      heldOutQueries: held.length,
      droppedAsLeaks: dropped,
      trainSeconds,
      curve,
      decode,
      heldOut: last[decode] ?? last.median!,
    };
    writeJson(join(o.outDir, 'train_summary.json'), { options: o, ...summary });
    return summary;
  } finally {
    model.dispose();
  }
}

/** The model's parameter count without training it (for size checks). */
export function describeModel(model: ProxyModel): string {
  const c = model.config;
  return c.encoder === 'llama'
    ? `llama encoder: ${c.numLayers} layers, d=${c.hiddenSize}, ${c.numHeads} heads, SwiGLU ${c.intermediateSize}, vocab ${c.keptVocab}+length tokens; ${model.numParameters()} parameters`
    : `bag of embeddings: d=${c.hiddenSize}, hidden ${c.intermediateSize}, vocab ${c.keptVocab}; ${model.numParameters()} parameters`;
}
