/**
 * probe as a job: train the hidden-state length probe of the serving model (src/perception/probe*.ts) on the train
 * split's lenpred records, choose the layer by cross-validated Kendall τ, fit the remaining-length head on the
 * model's greedy answers, and score both on the first N validation queries; writes the probe folder and the
 * validation predictions. In an experiment the point is reused when its folder and predictions exist for the same
 * inputs and config. The record holds the chosen layer, τ per layer and the remaining head's figures; the
 * validation figures (paper's and ranking) are scored from the predictions file after the run or its reuse. The
 * table is the predictor table plus the layer sweep.
 */
import { join } from 'node:path';
import { defineJob } from '../core/job.js';
import { BACKEND_OPTION } from '../core/options/common.js';
import { defineOptions, type StageConfigOf } from '../core/options/spec.js';
import { PROBE_CONFIG, PROBE_WEIGHTS } from '../perception/probe-folder.js';
import { markedBy } from '../util/job-paths.js';
import type { ProbeJob } from '../perception/probe-pipeline.js';
import { decodeRuleProblem, HEAD_KINDS, type DecodeRule } from '../scoring/kinds.js';
import { predictorRecord, predictorTable, scoreFromRecord } from '../scoring/ranking.js';
import { fitOptions } from '../training/fit-options.js';

/** In the stage's key order (its stamp hashes the config as written, so the order is part of the key). */
export const probeOptions = defineOptions({
  model: { type: 'string', required: true, describe: 'HF checkpoint folder of the serving model' },
  tokenizer: { type: 'string', describe: "tokenizer ('llama' or a folder; default the model folder)" },
  data: { type: 'string', required: true, describe: 'train conversations JSON' },
  lengths: { type: 'string', required: true, describe: 'their lenpred records (only recorded queries are used)' },
  'val-data': { type: 'string', required: true, describe: 'validation conversations JSON (scored, never fitted)' },
  'val-lengths': { type: 'string', required: true, describe: 'their lenpred records' },
  'num-val': { type: 'number', int: true, min: 1, default: 1000, describe: 'score the first N validation queries' },
  out: {
    type: 'string',
    required: true,
    describe: 'probe folder to write (probe_config.json, probe.safetensors, probe_summary.json, README.md)',
  },
  predictions: {
    type: 'string',
    required: true,
    describe: 'validation predictions [{id, predicted, L_max}] of the total head',
  },
  layers: {
    type: 'list',
    of: 'number',
    int: true,
    min: 0,
    sep: ',',
    minItems: 1,
    describe:
      'candidate layers (HF hidden-state indices: 0 = embeddings … numLayers = after the final norm; default 0-4)',
  },
  pool: {
    type: 'choice',
    choices: ['last', 'mean'] as const,
    default: 'mean',
    describe: "total head's input: the state at the prompt's last position, or its mean over the prompt",
  },
  target: { type: 'choice', choices: ['L_max', 'L_t0.0'] as const, default: 'L_max' },
  head: { type: 'choice', choices: HEAD_KINDS, default: 'buckets' },
  cell: { type: 'number', int: true, min: 1, default: 16, describe: 'buckets head: bin width (tokens)' },
  sigma: { type: 'number', min: 0, default: 16, describe: 'buckets head: soft-label width (tokens), 0 = one-hot' },
  decode: {
    type: 'string',
    default: 'q0.4',
    check: decodeRuleProblem,
    describe:
      "how the total head's distribution becomes the scheduler's prediction: q<p> its p-quantile (q0.4, chosen by simulation on out-of-fold train predictions: scripts/probe-decode-study.sh), bucket50 its most probable 50-token bucket, or median, mean, window50, window100",
  },
  'max-length': {
    type: 'number',
    int: true,
    min: 1,
    default: 256,
    describe: 'largest response length (the recording limit; also the remaining head’s generation limit)',
  },
  'hidden-size': { type: 'number', int: true, min: 0, default: 256, describe: 'MLP hidden width (0: linear head)' },
  ...fitOptions({ epochs: 60, batchSize: 64, lr: 3e-3, weightDecay: 0.01, warmupRatio: 0.05 }),
  folds: {
    type: 'number',
    int: true,
    min: 2,
    default: 5,
    describe: 'cross-validation folds of whole instruction texts that choose the layer',
  },
  seed: { type: 'number', int: true, min: 0, default: 0 },
  'remaining-queries': {
    type: 'number',
    int: true,
    min: 0,
    default: 1024,
    describe: 'remaining head: train queries answered greedily (0: no remaining head)',
  },
  'positions-per-answer': {
    type: 'number',
    int: true,
    min: 1,
    default: 16,
    describe: 'remaining head: positions kept per answer',
  },
  'remaining-val': {
    type: 'number',
    int: true,
    min: 0,
    default: 200,
    describe: 'remaining head: validation answers scored',
  },
  'infer-batch': { type: 'number', int: true, min: 1, default: 64, describe: 'prefill/generation batch' },
  backend: BACKEND_OPTION,
});

export type ProbeConfig = StageConfigOf<typeof probeOptions>;

/** The probe run a config asks for (src/perception/probe-pipeline.ts). */
export function probeJobOf(c: ProbeConfig): ProbeJob {
  return {
    model: c.model,
    tokenizer: c.tokenizer,
    data: c.data,
    lengths: c.lengths,
    valData: c.val_data,
    valLengths: c.val_lengths,
    numVal: c.num_val,
    out: c.out,
    predictions: c.predictions,
    layers: c.layers ?? [0, 1, 2, 3, 4],
    pool: c.pool,
    target: c.target,
    head: { kind: c.head, maxLength: c.max_length, cell: c.cell, sigma: c.sigma, decode: c.decode as DecodeRule },
    hiddenSize: c.hidden_size,
    folds: c.folds,
    fit: {
      epochs: c.epochs,
      batchSize: c.batch_size,
      lr: c.lr,
      weightDecay: c.weight_decay,
      warmupRatio: c.warmup_ratio,
      seed: c.seed,
    },
    remainingQueries: c.remaining_queries,
    positionsPerAnswer: c.positions_per_answer,
    remainingVal: c.remaining_val,
    maxNewTokens: c.max_length,
    batchSize: c.infer_batch,
  };
}

/** the point's input files and folders (hashed into its stamp's key) */
export const probeInputs = (c: ProbeConfig) => [
  c.model,
  c.data,
  c.lengths,
  c.val_data,
  c.val_lengths,
  ...(c.tokenizer ? [c.tokenizer] : []),
];
/** the outputs its stamp vouches for; the stamp sits beside the first */
export const probeOutputs = (c: ProbeConfig) => [join(c.out, PROBE_CONFIG), join(c.out, PROBE_WEIGHTS), c.predictions];

const f = (x: unknown, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');

export const probeJob = defineJob({
  name: 'probe',
  describe:
    "train the serving model's hidden-state length probe (layer chosen by cross-validated Kendall τ) and score it",
  options: probeOptions,
  files: (c) => [
    { key: 'model', path: c.model },
    { key: 'data', path: c.data },
    { key: 'lengths', path: c.lengths },
    { key: 'val_data', path: c.val_data },
    { key: 'val_lengths', path: c.val_lengths },
    ...(c.tokenizer ? [{ key: 'tokenizer', path: c.tokenizer }] : []),
  ],
  outputs: (c) => [...probeOutputs(c), c.out],
  writes: (c) => [
    { key: 'out', path: c.out, folder: markedBy(PROBE_CONFIG, 'a length probe') },
    { key: 'predictions', path: c.predictions },
  ],
  reuse: (c) => ({ outputs: probeOutputs(c), inputs: probeInputs(c) }),
  run: async (c) => {
    const [{ initBackend }, { runProbeJob }] = await Promise.all([
      import('../core/backend.js'),
      import('../perception/probe-pipeline.js'),
    ]);
    const info = await initBackend(c.backend);
    const s = await runProbeJob(probeJobOf(c));
    return {
      record: {
        layer: s.layer,
        pool: c.pool,
        decode: c.decode,
        parameters: s.parameters,
        train_records: s.trainRecords,
        dropped_as_leaks: s.droppedAsLeaks,
        ...predictorRecord(s.valMedian, 'median_'),
        ...Object.fromEntries(
          s.layers.flatMap((l) => [
            [`layer${l.layer}_cv_tau_t0`, l.heldOut.tauT0],
            [`layer${l.layer}_val_tau_t0`, l.val.tauT0],
            [`layer${l.layer}_val_acc50`, l.val.acc50],
          ]),
        ),
        ...(s.remaining
          ? {
              remaining_positions: s.remaining.positions,
              remaining_mae: s.remaining.mae,
              remaining_mae_at_prompt: s.remaining.maeAtPrompt,
              remaining_tau: s.remaining.tau,
              remaining_rho: s.remaining.rho,
              remaining_baseline_mae: s.remaining.baselineMae,
              remaining_baseline_tau: s.remaining.baselineTau,
            }
          : {}),
        features_seconds: s.seconds.features,
        fit_seconds: s.seconds.fit,
        remaining_seconds: s.seconds.remaining,
        seconds: s.seconds.total,
      },
      text: [
        `probe: ${c.out} (layer ${s.layer}, ${c.pool} pool, ${s.parameters} parameters, ${s.trainRecords} train records; ${s.seconds.total.toFixed(0)} s, ${info.name})`,
        ...s.layers.map(
          (l) =>
            `layer ${l.layer}: out-of-fold τ ${f(l.heldOut.tauT0)}, val τ ${f(l.val.tauT0)}, val Acc-50 ${f(100 * l.val.acc50, 1)} %${l.layer === s.layer ? ' (chosen)' : ''}`,
        ),
        `wrote ${c.predictions}`,
      ].join('\n'),
    };
  },
  // the validation figures, scored from the predictions file (as eval's are)
  scoreOutputs: async (c) => {
    const { scorePredictionsFile } = await import('../perception/pipeline.js');
    return predictorRecord(scorePredictionsFile(c.predictions, c.val_lengths).model);
  },
  table: (rows) => {
    const parts = [
      predictorTable(
        ['Predictor', 'Layer', 'Decode'],
        rows.flatMap(({ label, record: r }) => [
          {
            lead: [
              `${label} (${r.pool} of the prompt's states; the scheduler's prediction)`,
              String(r.layer),
              String(r.decode),
            ],
            score: scoreFromRecord(r),
          },
          {
            lead: [`${label}, same head decoded by its median`, String(r.layer), 'median'],
            score: scoreFromRecord(r, 'median_'),
          },
        ]),
      ),
    ];
    for (const { label, record: r } of rows) {
      const layers = Object.keys(r)
        .map((k) => /^layer(\d+)_cv_tau_t0$/.exec(k))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]));
      parts.push(
        `\n${label}: Kendall τ (L_t0.0) of the total head per layer (out-of-fold on the train records, folds of whole instruction texts, chooses; validation only reported):\n\n` +
          `| layer | out-of-fold τ | val τ | val Acc-50 |\n| ---: | ---: | ---: | ---: |\n` +
          layers
            .map(
              (l) =>
                `| ${l}${l === r.layer ? ' (chosen)' : ''} | ${f(r[`layer${l}_cv_tau_t0`])} | ${f(r[`layer${l}_val_tau_t0`])} | ${f(100 * Number(r[`layer${l}_val_acc50`]), 1)} % |`,
            )
            .join('\n') +
          '\n',
      );
      if (typeof r.remaining_mae === 'number') {
        parts.push(
          `\nRemaining head (after each generated token, ${r.remaining_positions} validation positions): MAE ${f(r.remaining_mae, 1)} decode steps (${f(r.remaining_mae_at_prompt, 1)} at the prompt), Kendall τ ${f(r.remaining_tau)}, Spearman ρ ${f(r.remaining_rho)}; ` +
            `baseline (the total head at the prompt minus the tokens generated since): MAE ${f(r.remaining_baseline_mae, 1)}, τ ${f(r.remaining_baseline_tau)}.\n`,
        );
      }
    }
    return parts.join('');
  },
});
