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
import { initBackend } from '../../core/backend.js';
import { runCached } from '../../jobs/reuse.js';
import { PROBE_CONFIG, PROBE_WEIGHTS } from '../../perception/probe.js';
import { predictorRecord, predictorTable, scoreFromRecord } from '../../scoring/ranking.js';
import { scorePredictionsFile } from '../../perception/pipeline.js';
import { stageFields } from '../../core/options/zod.js';
import { probeJobOf, probeOptions, type ProbeStageConfig } from '../../commands/probe.js';

export const probeSchema = z.strictObject(stageFields(probeOptions));

/** the stage's input files and folders (hashed into its stamp's key) */
export const probeInputs = (c: ProbeStageConfig) => [c.model, c.data, c.lengths, c.val_data, c.val_lengths, ...(c.tokenizer ? [c.tokenizer] : [])];
/** the outputs its stamp vouches for; the stamp sits beside the first */
export const probeOutputs = (c: ProbeStageConfig) => [join(c.out, PROBE_CONFIG), join(c.out, PROBE_WEIGHTS), c.predictions];

registerStage('probe', {
  schema: probeSchema,
  files: (c) => [
    { key: 'model', path: c.model }, { key: 'data', path: c.data }, { key: 'lengths', path: c.lengths },
    { key: 'val_data', path: c.val_data }, { key: 'val_lengths', path: c.val_lengths }, ...(c.tokenizer ? [{ key: 'tokenizer', path: c.tokenizer }] : []),
  ],
  outputs: (c) => [join(c.out, PROBE_CONFIG), join(c.out, PROBE_WEIGHTS), c.predictions, c.out],
  run: async (c) => {
    const record = await runCached({ outputs: probeOutputs(c), inputs: probeInputs(c), config: c }, async () => {
      await initBackend(c.backend);
      const { runProbeJob } = await import('../../perception/probe-pipeline.js');
      const s = await runProbeJob(probeJobOf(c));
      return {
        layer: s.layer, pool: c.pool, decode: c.decode, parameters: s.parameters, train_records: s.trainRecords, dropped_as_leaks: s.droppedAsLeaks, ...predictorRecord(s.valMedian, 'median_'),
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
