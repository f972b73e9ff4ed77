/**
 * The `calibrate` experiment stage: after the `benchmark` points of the same run, fit the simulator's cost
 * model on their measured batches (once, written to `<run>/costmodel-calibrated.json`), then, one point per
 * benchmark row (matched by label), put the measured time next to what the simulator predicts:
 * - replay: the row's measured batches (sizes, prompt widths, decode steps) charged by the calibrated model;
 * - simulated: the whole row re-run by the simulated engine on the recorded lengths (`real_lengths`), with the
 *   row's own predictions, so schedule, FCR and which rows finish come from the simulator;
 * - gpu: the row's measured batches charged by a GPU cost model (the H100 file), prediction included as
 *   generate calls of its mini-batches — the same workload in the other cost regime.
 * Prediction seconds are the measured ones in the CPU columns. Fitting is calibrate.ts's job.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { registerStage, type Scalar, type StageContext } from '../registry.js';
import { benchRuns, scheduleOf, type BenchRun } from './benchmark.js';
import { costModelFile, fitCostModel, replaySeconds, type Calibration } from '../../cost/calibrate-batches.js';
import { costModelFromPoints, loadCostModel, type CostModel } from '../../cost/costmodel.js';
import { SimulatedEngine } from '../../engines/batch-sim.js';
import { runBenchmark } from '../../benchmark/driver.js';
import type { LengthPredictor } from '../../perception/predictor.js';
import type { StrategyName } from '../../core/names.js';
import { perceptionSeconds } from '../../cost/perception-cost.js';
import { writeJson } from '../../util/fs.js';
import { markdownRows, numCell, signedPctCell } from '../../util/markdown.js';

const posInt = z.number().int().positive();

export const calibrateSchema = z.strictObject({
  /** the benchmark row (label) this point reports; default the point's own label */
  row: z.string().optional(),
  /** benchmark rows whose batches the fit uses; default every benchmark row before this stage */
  fit_on: z.array(z.string()).min(1).optional(),
  /** a GPU-regime cost model to charge the same workload with (e.g. the H100 file) */
  gpu_cost_model: z.string().optional(),
  /** recorded length that plays the real response in the full simulation */
  real_lengths: z.string().default('L_t0.0'),
  /** max_length of the run that recorded the lengths (the lenpred stage's) */
  recorded_max_length: posInt.default(512),
  /** prefill width for batches without prompt token counts */
  default_prompt_tokens: posInt.default(64),
  /** length-prediction mini-batch and new tokens charged in the GPU regime (upstream: 128 and 8) */
  predict_batch: posInt.default(128),
  seqsch_predict_tokens: posInt.default(8),
  po_predict_tokens: posInt.default(16),
});
type CalibrateConfig = z.infer<typeof calibrateSchema>;

/** The fit, once per experiment run and set of rows, written beside the results. */
function calibration(ctx: StageContext, c: CalibrateConfig): { cal: Calibration; model: CostModel; file: string } {
  const runs = benchRuns(ctx);
  const use = c.fit_on ? runs.filter((r) => c.fit_on!.includes(r.label)) : runs;
  const key = `calibration:${use.map((r) => r.label).join('|')}|${c.default_prompt_tokens}`;
  return ctx.cache(key, () => {
    if (use.length === 0) throw new Error(`calibrate stage: no benchmark rows to fit on (benchmark rows so far: ${runs.map((r) => r.label).join(', ') || 'none'})`);
    // a batch that started from a prefill done with the prediction (the probe's) measured no prefill of its own: not fitted
    const cal = fitCostModel(use.flatMap((r) => r.result.trace.filter((t) => !t.prefilled)), c.default_prompt_tokens);
    const file = join(ctx.outDir, 'costmodel-calibrated.json');
    const json = costModelFile(cal, `fitted by the calibrate stage on the measured batches of ${use.map((r) => r.label).join(', ')} (${use[0].result.backend})`);
    writeJson(file, json);
    // the simulator reads the written points (interpolated), exactly as `seqsch simulate --cost-model` would
    return { cal, model: costModelFromPoints(json, file), file };
  });
}

/** The row's own predictions replayed (id → predicted), charging the measured prediction seconds. */
function replayedPredictor(run: BenchRun): LengthPredictor {
  const byId = new Map(run.result.items.map((it) => [it.id, it.predicted]));
  const n = run.items.length;
  return {
    name: run.result.strategy as StrategyName,
    predict: async (items) => ({ lengths: items.map((it) => byId.get(it.id)!), seconds: (run.result.predict_seconds * items.length) / n }),
  };
}

/** Seconds a cost model charges for the row's length prediction: generate calls of its mini-batches, per group. */
function predictionSeconds(cm: CostModel, run: BenchRun, c: CalibrateConfig): number {
  const s = run.result.strategy;
  if (s !== 'seqsch' && s !== 'po') return 0;
  const o = { strategy: s, batch: c.predict_batch, steps: s === 'seqsch' ? c.seqsch_predict_tokens : c.po_predict_tokens } as const;
  let total = 0;
  for (let g = 0; g < run.items.length; g += run.config.group_size) {
    total += perceptionSeconds(cm, run.items.slice(g, g + run.config.group_size).map((it) => it.promptTokens ?? c.default_prompt_tokens), o);
  }
  return total;
}

const isVanilla = (r: BenchRun) => r.result.strategy === 'vanilla' && !r.result.vbs && !r.result.fcr;

registerStage('calibrate', {
  schema: calibrateSchema,
  wholeRun: true, // it fits on the benchmark points of the same process (benchRuns)
  files: (c) => (c.gpu_cost_model ? [{ key: 'gpu_cost_model', path: c.gpu_cost_model }] : []),
  run: async (c, ctx) => {
    const label = c.row ?? ctx.point?.label;
    const runs = benchRuns(ctx);
    const run = runs.find((r) => r.label === label);
    if (!run) throw new Error(`calibrate stage: no benchmark row labelled "${label}" (rows: ${runs.map((r) => r.label).join(', ') || 'none'})`);
    const { cal, model, file } = calibration(ctx, c);
    const r = run.result;
    const measured = r.seconds;
    const replay = r.predict_seconds + replaySeconds(model, r.trace, c.default_prompt_tokens);

    // the whole row through the simulator, when the queries carry recorded lengths
    let sim: { seconds: number; average_length: number; effective_token_ratio: number; failure_ratio: number } | null = null;
    if (run.items.every((it) => typeof it.realLengths?.[c.real_lengths] === 'number')) {
      const engine = new SimulatedEngine({ realLengths: c.real_lengths, recordedMaxLength: c.recorded_max_length, costModel: model, defaultPromptTokens: c.default_prompt_tokens });
      sim = await runBenchmark(run.items, engine, replayedPredictor(run), { schedule: scheduleOf(run.config), maxLength: run.config.max_length, groupSize: run.config.group_size });
    }

    // the same workload in the GPU regime
    let gpu: number | null = null;
    let gpuVanilla: number | null = null;
    if (c.gpu_cost_model) {
      const g = ctx.cache(`gpu:${c.gpu_cost_model}`, () => loadCostModel(c.gpu_cost_model!));
      const charge = (x: BenchRun) => predictionSeconds(g, x, c) + replaySeconds(g, x.result.trace, c.default_prompt_tokens);
      gpu = charge(run);
      const v = runs.find(isVanilla);
      gpuVanilla = v ? charge(v) : null;
    }
    const vanilla = runs.find(isVanilla);
    const rel = (x: number | null) => (x === null ? null : (x - measured) / measured);
    const record: Record<string, Scalar> = {
      row: label!, strategy: r.strategy, vbs: r.vbs, fcr: r.fcr, num_samples: r.num_samples,
      measured_seconds: measured, measured_throughput: r.throughput,
      measured_speedup: vanilla ? vanilla.result.seconds / measured : null,
      replay_seconds: replay, replay_error: rel(replay),
      simulated_seconds: sim?.seconds ?? null, simulated_error: rel(sim?.seconds ?? null),
      simulated_average_length: sim?.average_length ?? null, simulated_etr: sim?.effective_token_ratio ?? null,
      gpu_seconds: gpu, gpu_throughput: gpu ? r.num_samples / gpu : null,
      gpu_speedup: gpu && gpuVanilla ? gpuVanilla / gpu : null,
      fit_step_base_ms: cal.fit.stepBaseMs, fit_step_per_row_ms: cal.fit.stepPerRowMs, fit_step_per_row_token_ms: cal.fit.stepPerRowTokenMs,
      fit_prefill_base_ms: cal.fit.prefillBaseMs, fit_prefill_per_token_ms: cal.fit.prefillPerTokenMs,
      fit_rms_batch_error: cal.rmsRelError, cost_model: file,
    };
    return { record };
  },
  table: (rows) => {
    const f = numCell;
    const pct = signedPctCell;
    const head = ['Row', 'Measured (s)', 'Replay (s)', 'Replay err', 'Simulated (s)', 'Sim err', 'Measured speedup', 'GPU (s)', 'GPU throughput', 'GPU speedup'];
    const cells = rows.map(({ label, record: x }) => [label, f(x.measured_seconds, 1), f(x.replay_seconds, 1), pct(x.replay_error), f(x.simulated_seconds, 1),
      pct(x.simulated_error), f(x.measured_speedup), f(x.gpu_seconds, 1), f(x.gpu_throughput), f(x.gpu_speedup)]);
    const x = rows[0]?.record;
    const note = x ? `\nCalibrated step(bs, ctx) = ${f(x.fit_step_base_ms, 3)} + ${f(x.fit_step_per_row_ms, 4)}·bs + ${Number(x.fit_step_per_row_token_ms).toExponential(3)}·bs·ctx ms; ` +
      `prefill(bs, P) = ${f(x.fit_prefill_base_ms, 3)} + ${Number(x.fit_prefill_per_token_ms).toExponential(3)}·bs·P ms; per-batch rms error ${pct(x.fit_rms_batch_error)}.\n` : '';
    return markdownRows(head, 1, cells) + note;
  },
});
