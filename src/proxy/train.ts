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
import { buildIdMap, remapTokenizer } from '../tokenizer/idmap.js';
import { train } from '../training/trainer.js';
import { epochBatches, type Example } from '../training/batches.js';
import { writeJson } from '../util/fs.js';
import { headLoss } from '../scoring/heads.js';
import { DECODE_RULES, type DecodeRule, type NamedDecodeRule } from '../scoring/kinds.js';
import { excludeLeaks, loadQueries, splitHoldout, type LabeledQuery } from './data.js';
import { predictorScore, type PredictorScore } from '../scoring/ranking.js';
import {
  createProxyModel,
  encodeQuery,
  ensembleOf,
  loadProxyWeights,
  NUM_FEATURES,
  saveEnsemble,
  saveProxyModel,
  saveProxyWeights,
  type EncodedQuery,
  type ProxyConfig,
  type ProxyModel,
} from './model.js';
import { predictAllRules } from './predict.js';
import { predictorText, queryParts } from './query.js';

/** The model's shape as ProxyConfig holds it (the vocabulary is counted from the data), plus the training run. */
export interface TrainPredictorOptions extends Pick<
  ProxyConfig,
  'encoder' | 'hiddenSize' | 'numLayers' | 'numHeads' | 'intermediateSize' | 'maxTokens' | 'head'
> {
  data: string;
  lengths: string;
  /** conversations files whose queries must not be trained on (by id and by instruction text) */
  exclude: string[];
  outDir: string;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
  /** fraction of TRAIN held out for model selection */
  holdout: number;
  seed: number;
  /** held-out metric that picks the decode rule (tau: Kendall τ-b against L_t0.0) */
  selectBy: 'error' | 'acc50' | 'acc100' | 'tau';
  /** train on at most this many queries (quick runs and tests) */
  numData?: number;
  /** ensemble size: members differ in initialisation and batch order; their bucket distributions are averaged */
  members?: number;
}

export interface TrainPredictorSummary {
  parameters: number;
  keptVocab: number;
  trainQueries: number;
  heldOutQueries: number;
  droppedAsLeaks: number;
  trainSeconds: number;
  /** held-out metrics per decode rule after each epoch */
  curve: { member: number; epoch: number; loss: number; heldOut: Partial<Record<DecodeRule, PredictorScore>> }[];
  decode: DecodeRule;
  heldOut: PredictorScore;
  /** the final (ensembled) predictor's held-out metrics under every decode rule */
  heldOutByRule: Partial<Record<DecodeRule, PredictorScore>>;
}

/** Better-is-larger score of a metric, for choosing a decode rule. */
const score = (m: PredictorScore, by: TrainPredictorOptions['selectBy']) =>
  by === 'error'
    ? -m.error
    : by === 'acc50'
      ? m.acc50
      : by === 'acc100'
        ? m.acc100
        : Number.isFinite(m.tauT0)
          ? m.tauT0
          : -Infinity;

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
  const keptIds = buildIdMap(
    fit.map((q) => predictorText(queryParts(q.text))),
    base,
  );
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
  const enc = fit.map((q) => encodeQuery(remapTokenizer(base, keptIds), q.text, o.maxTokens));
  const targets = fit.map((q) => q.target!);
  const heldEnc = held.map((q) => encodeQuery(remapTokenizer(base, keptIds), q.text, o.maxTokens));
  const heldTargets = held.map((q) => q.target!);
  const heldT0 = held.map((q) => q.lT0!);
  const evalHeld = async (model: ProxyModel) => {
    if (held.length < 2) return {};
    const all = await predictAllRules(model, heldEnc);
    return Object.fromEntries(Object.entries(all).map(([rule, p]) => [rule, predictorScore(p, heldTargets, heldT0)]));
  };

  // ---- fit each member (members differ in initialisation and batch order only), then combine
  const members = o.members ?? 1;
  if (!(Number.isInteger(members) && members >= 1))
    throw new Error(`train-predictor: members must be a positive integer, got ${members}`);
  const models: ProxyModel[] = [];
  const curve: TrainPredictorSummary['curve'] = [];
  let trainSeconds = 0;
  try {
    for (let k = 0; k < members; k++) {
      const model = createProxyModel(config, keptIds, o.seed + k);
      models.push(model);
      const r = await fitMember(
        o,
        model,
        enc,
        targets,
        o.seed + k,
        join(o.outDir, members > 1 ? `member-${k}` : '', 'run'),
        evalHeld,
      );
      trainSeconds += r.seconds;
      curve.push(...r.curve.map((c) => ({ ...c, member: k })));
    }
    const combined = members > 1 ? ensembleOf(models) : models[0];

    // ---- choose the decode rule on held-out data and save
    const last = await evalHeld(combined);
    const rules = (Object.keys(last) as NamedDecodeRule[]).filter((r) => DECODE_RULES.includes(r));
    let decode: DecodeRule = 'median';
    if (config.head.kind === 'buckets' && rules.length)
      decode = rules.reduce((a, b) => (score(last[b]!, o.selectBy) > score(last[a]!, o.selectBy) ? b : a));
    if (held.length === 0) decode = config.head.decode;
    for (const m of models) m.config.head.decode = decode;
    if (members === 1) saveProxyModel(models[0], o.outDir);
    else saveEnsemble(models, o.outDir);
    const summary: TrainPredictorSummary = {
      parameters: combined.numParameters(),
      keptVocab: keptIds.length,
      trainQueries: fit.length,
      heldOutQueries: held.length,
      droppedAsLeaks: dropped,
      trainSeconds,
      curve,
      decode,
      heldOut: last[decode] ?? last.median!,
      heldOutByRule: last,
    };
    writeJson(join(o.outDir, 'train_summary.json'), { options: o, ...summary });
    return summary;
  } finally {
    for (const m of models) m.dispose();
  }
}

/** Fit one network with the project's trainer; held-out metrics after every epoch. */
async function fitMember(
  o: TrainPredictorOptions,
  model: ProxyModel,
  enc: EncodedQuery[],
  targets: number[],
  seed: number,
  runDir: string,
  evalHeld: (m: ProxyModel) => Promise<Partial<Record<DecodeRule, PredictorScore>>>,
): Promise<{
  seconds: number;
  curve: { epoch: number; loss: number; heldOut: Partial<Record<DecodeRule, PredictorScore>> }[];
}> {
  const examples: Example[] = enc.map((e) => ({ ids: e.ids, labelMask: e.ids.map(() => 0) }));
  // the batch's queries are recovered from the trainer's seeded plan (epochBatches), checked by size
  let plan: { epoch: number; batches: number[][] } | undefined;
  const curve: { epoch: number; loss: number; heldOut: Partial<Record<DecodeRule, PredictorScore>> }[] = [];
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
    seed,
    padSide: 'left', // the head reads the last column (EOS)
    padId: 0,
    outDir: runDir,
    keepCheckpoints: 1,
    label: `train-predictor (${o.encoder}, seed ${seed})`,
    lossFn: (batch, micro) => {
      if (plan?.epoch !== micro.epoch)
        plan = { epoch: micro.epoch, batches: epochBatches(enc.length, o.batchSize, seed, micro.epoch) };
      const idx = plan.batches[micro.microBatch];
      if (!idx || idx.length !== batch.inputIds.shape[0])
        throw new Error(
          `train-predictor: batch ${micro.microBatch} of epoch ${micro.epoch} does not match the trainer's plan`,
        );
      const feats = tf.tensor2d(
        idx.flatMap((i) => enc[i].features),
        [idx.length, NUM_FEATURES],
      );
      const out = model.outputs(
        { inputIds: batch.inputIds, attentionMask: batch.attentionMask, features: feats },
        true,
      );
      return headLoss(
        model.config.head,
        out,
        idx.map((i) => targets[i]),
      );
    },
    saveState: async (dir) => saveProxyWeights(model, dir),
    loadState: async (dir) => loadProxyWeights(model, dir),
    onLog: async (entry) => {
      epochLoss += entry.loss;
      if (entry.step % stepsPerEpoch === 0) {
        curve.push({
          epoch: entry.step / stepsPerEpoch,
          loss: epochLoss / stepsPerEpoch,
          heldOut: await evalHeld(model),
        });
        epochLoss = 0;
      }
    },
  });
  if (!result.finished) throw new Error(`train-predictor: stopped at step ${result.step} of ${result.totalSteps}`);
  // the trainer's clock (includes steps done before a resume and the per-epoch held-out evaluations)
  const seconds = result.history.length
    ? result.history[result.history.length - 1].seconds
    : (performance.now() - t0) / 1000;
  return { seconds, curve };
}
