/**
 * The `probe` experiment stage: train the hidden-state length probe of the serving model (src/perception/probe*.ts)
 * on the train split's lenpred records, choosing the layer by cross-validated Kendall τ, and score it on the first N
 * validation queries — skipped when its folder and predictions exist for the same inputs and config (stage-cache.ts).
 * The record holds the chosen layer, τ per layer, the validation figures (paper's and ranking) and the remaining
 * head's; the table is the predictor table plus the layer sweep.
 */
import { z } from 'zod';
import { join } from 'node:path';
import { registerStage } from '../registry.js';
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../../backend.js';
import { runCached } from '../stage-cache.js';
import { DECODE_RULES, HEAD_KINDS, type DecodeRule, type HeadKind } from '../../proxy/heads.js';
import { PROBE_CONFIG, PROBE_WEIGHTS } from '../../perception/probe.js';
import { predictorRecord, predictorTable, scoreFromRecord } from '../../perception/ranking.js';
import { scorePredictionsFile } from '../../perception/pipeline.js';

const posInt = z.number().int().positive();

export const probeSchema = z.strictObject({
  model: z.string(),
  tokenizer: z.string().optional(),
  data: z.string(),
  lengths: z.string(),
  val_data: z.string(),
  val_lengths: z.string(),
  num_val: posInt.default(1000),
  /** the probe folder (probe_config.json, probe.safetensors, probe_summary.json, README.md) */
  out: z.string(),
  /** validation predictions [{id, predicted, L_max}] of the total head */
  predictions: z.string(),
  /** candidate layers (HF hidden-state indices: 0 = embeddings … numLayers = after the final norm); default all */
  layers: z.array(z.number().int().min(0)).min(1).optional(),
  /** the total head's input: the layer's state at the prompt's last position, or its mean over the prompt */
  pool: z.enum(['last', 'mean']).default('mean'),
  target: z.enum(['L_max', 'L_t0.0']).default('L_max'),
  head: z.enum(HEAD_KINDS as [string, ...string[]]).default('buckets'),
  cell: posInt.default(16),
  sigma: z.number().min(0).default(16),
  /** how the total head's distribution becomes the scheduler's prediction (bucket50: the most probable 50-token bucket) */
  decode: z.enum(DECODE_RULES as [string, ...string[]]).default('bucket50'),
  max_length: posInt.default(256),
  hidden_size: z.number().int().min(0).default(256),
  epochs: posInt.default(60),
  batch_size: posInt.default(64),
  lr: z.number().positive().default(3e-3),
  weight_decay: z.number().min(0).default(0.01),
  warmup_ratio: z.number().min(0).max(1).default(0.05),
  /** cross-validation folds of whole instruction texts that choose the layer */
  folds: z.number().int().min(2).default(5),
  seed: z.number().int().min(0).default(0),
  /** remaining head: train queries answered greedily (0: none), positions kept per answer, validation answers scored */
  remaining_queries: z.number().int().min(0).default(1024),
  positions_per_answer: posInt.default(16),
  remaining_val: z.number().int().min(0).default(200),
  /** prefill/generation batch */
  infer_batch: posInt.default(64),
  backend: z.enum(BACKEND_CHOICES as [string, ...string[]]).default('wasm'),
});
type ProbeStageConfig = z.infer<typeof probeSchema>;

const inputsOf = (c: ProbeStageConfig) => [c.model, c.data, c.lengths, c.val_data, c.val_lengths, ...(c.tokenizer ? [c.tokenizer] : [])];

registerStage('probe', {
  schema: probeSchema,
  files: (c) => [
    { key: 'model', path: c.model }, { key: 'data', path: c.data }, { key: 'lengths', path: c.lengths },
    { key: 'val_data', path: c.val_data }, { key: 'val_lengths', path: c.val_lengths }, ...(c.tokenizer ? [{ key: 'tokenizer', path: c.tokenizer }] : []),
  ],
  outputs: (c) => [join(c.out, PROBE_CONFIG), join(c.out, PROBE_WEIGHTS), c.predictions, c.out],
  run: async (c) => {
    const record = await runCached({ outputs: [join(c.out, PROBE_CONFIG), join(c.out, PROBE_WEIGHTS), c.predictions], inputs: inputsOf(c), config: c }, async () => {
      await initBackend(c.backend as BackendChoice);
      const { runProbeJob } = await import('../../perception/probe-pipeline.js');
      const s = await runProbeJob({
        model: c.model, tokenizer: c.tokenizer, data: c.data, lengths: c.lengths, valData: c.val_data, valLengths: c.val_lengths, numVal: c.num_val,
        out: c.out, predictions: c.predictions, layers: c.layers ?? [0, 1, 2, 3, 4], pool: c.pool as 'last' | 'mean', target: c.target,
        head: { kind: c.head as HeadKind, maxLength: c.max_length, cell: c.cell, sigma: c.sigma, decode: c.decode as DecodeRule },
        hiddenSize: c.hidden_size, folds: c.folds,
        fit: { epochs: c.epochs, batchSize: c.batch_size, lr: c.lr, weightDecay: c.weight_decay, warmupRatio: c.warmup_ratio, seed: c.seed },
        remainingQueries: c.remaining_queries, positionsPerAnswer: c.positions_per_answer, remainingVal: c.remaining_val,
        maxNewTokens: c.max_length, batchSize: c.infer_batch,
      });
      return {
        layer: s.layer, pool: c.pool, decode: c.decode, parameters: s.parameters, train_records: s.trainRecords, ...predictorRecord(s.valMedian, 'median_'),
        ...Object.fromEntries(s.layers.flatMap((l) => [[`layer${l.layer}_cv_tau_t0`, l.heldOut.tauT0], [`layer${l.layer}_val_tau_t0`, l.val.tauT0], [`layer${l.layer}_val_acc50`, l.val.acc50]])),
        ...(s.remaining ? { remaining_positions: s.remaining.positions, remaining_mae: s.remaining.mae, remaining_mae_at_prompt: s.remaining.maeAtPrompt, remaining_tau: s.remaining.tau, remaining_rho: s.remaining.rho,
          remaining_baseline_mae: s.remaining.baselineMae, remaining_baseline_tau: s.remaining.baselineTau } : {}),
        features_seconds: s.seconds.features, fit_seconds: s.seconds.fit, remaining_seconds: s.seconds.remaining, seconds: s.seconds.total,
      };
    });
    // the validation figures, scored from the predictions file (as the eval stage does)
    return { record: { ...record, ...predictorRecord(scorePredictionsFile(c.predictions, c.val_lengths).model) } };
  },
  table: (rows) => {
    const f = (x: unknown, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');
    const parts = [predictorTable(['Predictor', 'Layer', 'Decode'], rows.flatMap(({ label, record: r }) => [
      { lead: [`${label} (${r.pool} of the prompt's states; the scheduler's prediction)`, String(r.layer), String(r.decode)], score: scoreFromRecord(r) },
      { lead: [`${label}, same head decoded by its median`, String(r.layer), 'median'], score: scoreFromRecord(r, 'median_') },
    ]))];
    for (const { label, record: r } of rows) {
      const layers = Object.keys(r).map((k) => /^layer(\d+)_cv_tau_t0$/.exec(k)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]));
      parts.push(`\n${label}: Kendall τ (L_t0.0) of the total head per layer (out-of-fold on the train records, folds of whole instruction texts, chooses; validation only reported):\n\n` +
        `| layer | out-of-fold τ | val τ | val Acc-50 |\n| ---: | ---: | ---: | ---: |\n` +
        layers.map((l) => `| ${l}${l === r.layer ? ' (chosen)' : ''} | ${f(r[`layer${l}_cv_tau_t0`])} | ${f(r[`layer${l}_val_tau_t0`])} | ${f(100 * Number(r[`layer${l}_val_acc50`]), 1)} % |`).join('\n') + '\n');
      if (typeof r.remaining_mae === 'number') {
        parts.push(`\nRemaining head (after each generated token, ${r.remaining_positions} validation positions): MAE ${f(r.remaining_mae, 1)} decode steps (${f(r.remaining_mae_at_prompt, 1)} at the prompt), Kendall τ ${f(r.remaining_tau)}, Spearman ρ ${f(r.remaining_rho)}; ` +
          `baseline (the total head at the prompt minus the tokens generated since): MAE ${f(r.remaining_baseline_mae, 1)}, τ ${f(r.remaining_baseline_tau)}.\n`);
      }
    }
    return parts.join('');
  },
});
