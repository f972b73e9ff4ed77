/**
 * `seqsch probe`: train the hidden-state length probe of the serving model (src/perception/probe*.ts) on the train
 * split's lenpred records, choose the layer by cross-validated Kendall τ, fit the remaining-length head on the
 * model's greedy answers, and score both on the first N validation queries; writes the probe folder and the
 * validation predictions. Its option table is also the `probe` experiment stage's schema (experiments/seqsch.yaml).
 */
import { BACKEND_OPTION, JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions, stageConfigOf, type StageConfigOf } from '../core/options/spec.js';
import { fitOptions } from '../training/fit-options.js';
import { decodeRuleProblem, HEAD_KINDS, type DecodeRule } from '../scoring/kinds.js';
import type { ProbeJob } from '../perception/probe-pipeline.js';

/** In the stage's key order (its stamp hashes the config as written, so the order is part of the key). */
export const probeOptions = defineOptions({
  model: { type: 'string', required: true, describe: 'HF checkpoint folder of the serving model' },
  tokenizer: { type: 'string', describe: "tokenizer ('llama' or a folder; default the model folder)" },
  data: { type: 'string', required: true, describe: 'train conversations JSON' },
  lengths: { type: 'string', required: true, describe: 'their lenpred records (only recorded queries are used)' },
  'val-data': { type: 'string', required: true, describe: 'validation conversations JSON (scored, never fitted)' },
  'val-lengths': { type: 'string', required: true, describe: 'their lenpred records' },
  'num-val': { type: 'number', int: true, min: 1, default: 1000, describe: 'score the first N validation queries' },
  out: { type: 'string', required: true, describe: 'probe folder to write (probe_config.json, probe.safetensors, probe_summary.json, README.md)' },
  predictions: { type: 'string', required: true, describe: 'validation predictions [{id, predicted, L_max}] of the total head' },
  layers: { type: 'list', of: 'number', int: true, min: 0, sep: ',', minItems: 1, describe: 'candidate layers (HF hidden-state indices: 0 = embeddings … numLayers = after the final norm; default 0-4)' },
  pool: { type: 'choice', choices: ['last', 'mean'] as const, default: 'mean', describe: "total head's input: the state at the prompt's last position, or its mean over the prompt" },
  target: { type: 'choice', choices: ['L_max', 'L_t0.0'] as const, default: 'L_max' },
  head: { type: 'choice', choices: HEAD_KINDS, default: 'buckets' },
  cell: { type: 'number', int: true, min: 1, default: 16, describe: 'buckets head: bin width (tokens)' },
  sigma: { type: 'number', min: 0, default: 16, describe: 'buckets head: soft-label width (tokens), 0 = one-hot' },
  decode: { type: 'string', default: 'q0.4', check: decodeRuleProblem, describe: "how the total head's distribution becomes the scheduler's prediction: q<p> its p-quantile (q0.4, chosen by simulation on out-of-fold train predictions: scripts/probe-decode-study.sh), bucket50 its most probable 50-token bucket, or median, mean, window50, window100" },
  'max-length': { type: 'number', int: true, min: 1, default: 256, describe: 'largest response length (the recording limit; also the remaining head’s generation limit)' },
  'hidden-size': { type: 'number', int: true, min: 0, default: 256, describe: 'MLP hidden width (0: linear head)' },
  ...fitOptions({ epochs: 60, batchSize: 64, lr: 3e-3, weightDecay: 0.01, warmupRatio: 0.05 }),
  folds: { type: 'number', int: true, min: 2, default: 5, describe: 'cross-validation folds of whole instruction texts that choose the layer' },
  seed: { type: 'number', int: true, min: 0, default: 0 },
  'remaining-queries': { type: 'number', int: true, min: 0, default: 1024, describe: 'remaining head: train queries answered greedily (0: no remaining head)' },
  'positions-per-answer': { type: 'number', int: true, min: 1, default: 16, describe: 'remaining head: positions kept per answer' },
  'remaining-val': { type: 'number', int: true, min: 0, default: 200, describe: 'remaining head: validation answers scored' },
  'infer-batch': { type: 'number', int: true, min: 1, default: 64, describe: 'prefill/generation batch' },
  backend: BACKEND_OPTION,
  json: JSON_OPTION,
});

export type ProbeStageConfig = StageConfigOf<typeof probeOptions>;

/** The probe job of a stage config (or of the CLI's values through stageConfigOf). */
export function probeJobOf(c: ProbeStageConfig): ProbeJob {
  return {
    model: c.model, tokenizer: c.tokenizer, data: c.data, lengths: c.lengths, valData: c.val_data, valLengths: c.val_lengths, numVal: c.num_val,
    out: c.out, predictions: c.predictions, layers: c.layers ?? [0, 1, 2, 3, 4], pool: c.pool, target: c.target,
    head: { kind: c.head, maxLength: c.max_length, cell: c.cell, sigma: c.sigma, decode: c.decode as DecodeRule },
    hiddenSize: c.hidden_size, folds: c.folds,
    fit: { epochs: c.epochs, batchSize: c.batch_size, lr: c.lr, weightDecay: c.weight_decay, warmupRatio: c.warmup_ratio, seed: c.seed },
    remainingQueries: c.remaining_queries, positionsPerAnswer: c.positions_per_answer, remainingVal: c.remaining_val,
    maxNewTokens: c.max_length, batchSize: c.infer_batch,
  };
}

export const probeCommand = command({
  command: 'probe',
  describe: "train the serving model's hidden-state length probe (layer chosen by cross-validated Kendall τ) and score it",
  options: probeOptions,
  handler: async (args) => {
    const [{ initBackend }, { runProbeJob }] = await Promise.all([import('../core/backend.js'), import('../perception/probe-pipeline.js')]);
    const c = stageConfigOf(probeOptions, args);
    const info = await initBackend(c.backend);
    const s = await runProbeJob(probeJobOf(c));
    const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');
    report(args.json, { out: c.out, predictions: c.predictions, backend: info.name, ...s }, () => [
      `probe: ${c.out} (layer ${s.layer}, ${c.pool} pool, ${s.parameters} parameters, ${s.trainRecords} train records; ${s.seconds.total.toFixed(0)} s, ${info.name})`,
      ...s.layers.map((l) => `layer ${l.layer}: out-of-fold τ ${f(l.heldOut.tauT0)}, val τ ${f(l.val.tauT0)}, val Acc-50 ${f(100 * l.val.acc50, 1)} %${l.layer === s.layer ? ' (chosen)' : ''}`),
      `wrote ${c.predictions}`,
    ].join('\n'));
  },
});
