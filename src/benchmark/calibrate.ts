/**
 * The simulator's cost model fitted on measured benchmark batches, and one measured benchmark row set beside what
 * the simulator predicts for it. Two inputs:
 * - trace files (the layout the benchmark writes with `--trace`): fitted together, the fit written as a cost-model
 *   file, each trace's measured generation seconds next to what the fitted model charges (fitTraceFiles);
 * - the measured rows of one experiment run, in memory (MeasuredRow): fitted once per set of rows
 *   (`<run>/costmodel-calibrated.json`), then one row compared as measured, replayed (its batches charged by the
 *   fit), simulated (the whole row re-run by the simulated engine on recorded lengths, with the row's own
 *   predictions) and in the GPU regime (its batches and prediction charged by a GPU cost model) (compareRow).
 * Fitting is src/cost/calibrate-batches.ts's; this module neither keeps the rows (the benchmark job does) nor
 * formats the CLI's text (the calibrate job does).
 */
import { join } from 'node:path';
import type { Scalar } from '../core/job.js';
import type { StrategyName } from '../core/names.js';
import type { LengthPredictor } from '../core/predictor.js';
import type { BenchItem } from '../core/query.js';
import type { TraceBatch } from '../cost/calls.js';
import { costModelFile, fitCostModel, fittedCostModel, replaySeconds } from '../cost/calibrate-batches.js';
import { costModelFromPoints, loadCostModel, type CostModel } from '../cost/costmodel.js';
import { SimulatedEngine } from '../engines/batch-sim.js';
import { scheduleOf, type ScheduleFields } from '../scheduling/options.js';
import { readJson, writeJson } from '../util/fs.js';
import { runBenchmark, type BenchmarkResult } from './driver.js';

/** A finished benchmark row as calibration reads it: its label, run config, queries and measured result. */
export interface MeasuredRow {
  label: string;
  config: ScheduleFields & { max_length: number; group_size: number };
  items: BenchItem[];
  result: BenchmarkResult & { backend: string };
}

/** What the comparison of rows needs beyond the rows (the calibrate stage's keys). */
export interface CalibrationSettings {
  /** rows whose batches the fit uses; undefined: every row */
  fitOn?: string[];
  /** prompt width (tokens) for batches without promptTokens */
  defaultPromptTokens: number;
  /** the recorded length that plays the real response in the full simulation, and the max_length it was recorded at */
  realLengths: string;
  recordedMaxLength: number;
  /** a GPU-regime cost model file to charge the same workload with */
  gpuCostModel?: string;
  /** length prediction charged in the GPU regime: mini-batch, and new tokens per seqsch / po prompt */
  predictBatch: number;
  seqschPredictTokens: number;
  poPredictTokens: number;
}

type Cache = <T>(key: string, make: () => T) => T;

// ------------------------------------------------------------------------------------------ trace files

/** The batches of a trace file: `{ trace: [...] }` as the benchmark job writes it, or a bare array. */
function readTrace(path: string): TraceBatch[] {
  const raw = readJson<unknown>(path);
  const list = Array.isArray(raw) ? raw : (raw as { trace?: unknown })?.trace;
  if (!Array.isArray(list))
    throw new Error(`${path}: expected { trace: [{ size, promptTokens, decodeSteps, seconds }, …] }`);
  return list.map((t, i) => {
    const b = t as Record<string, unknown>;
    for (const k of ['size', 'decodeSteps', 'seconds']) {
      if (typeof b[k] !== 'number') throw new Error(`${path}: trace[${i}].${k} must be a number`);
    }
    return b as unknown as TraceBatch;
  });
}

/**
 * The fit on trace files, written to `out` as a cost-model file; with each trace's batch count, measured and
 * fitted generation seconds and relative error.
 */
export function fitTraceFiles(paths: string[], out: string, defaultPromptTokens: number) {
  const traces = paths.map((p) => ({ path: p, batches: readTrace(p) }));
  const cal = fitCostModel(
    traces.flatMap((t) => t.batches),
    defaultPromptTokens,
  );
  writeJson(out, costModelFile(cal, `fitted by seqsch calibrate on ${traces.map((t) => t.path).join(', ')}`));
  const cm = fittedCostModel(cal.fit);
  const perTrace = traces.map((t) => {
    const measured = t.batches.reduce((s, b) => s + b.seconds, 0);
    const fitted = replaySeconds(cm, t.batches, defaultPromptTokens);
    return {
      trace: t.path,
      batches: t.batches.length,
      measured_seconds: measured,
      fitted_seconds: fitted,
      rel_error: (fitted - measured) / measured,
    };
  });
  return { cal, perTrace };
}

// ------------------------------------------------------------------------------------------ rows of a run

/** The fit, once per experiment run and set of rows (memoized in `cache`), written beside the results. */
function calibration(rows: MeasuredRow[], s: CalibrationSettings, outDir: string, cache: Cache) {
  const use = s.fitOn ? rows.filter((r) => s.fitOn!.includes(r.label)) : rows;
  const key = `calibration:${use.map((r) => r.label).join('|')}|${s.defaultPromptTokens}`;
  return cache(key, () => {
    if (use.length === 0)
      throw new Error(
        `calibrate stage: no benchmark rows to fit on (benchmark rows so far: ${rows.map((r) => r.label).join(', ') || 'none'})`,
      );
    // a batch that started from a prefill done with the prediction (the probe's) measured no prefill of its own: not fitted
    const cal = fitCostModel(
      use.flatMap((r) => r.result.trace.filter((t) => !t.prefilled)),
      s.defaultPromptTokens,
    );
    const file = join(outDir, 'costmodel-calibrated.json');
    const json = costModelFile(
      cal,
      `fitted by the calibrate stage on the measured batches of ${use.map((r) => r.label).join(', ')} (${use[0].result.backend})`,
    );
    writeJson(file, json);
    // the simulator reads the written points (interpolated), exactly as `seqsch simulate --cost-model` would
    return { cal, model: costModelFromPoints(json, file), file };
  });
}

/** The row's own predictions replayed (id → predicted), charging the measured prediction seconds. */
function replayedPredictor(row: MeasuredRow): LengthPredictor {
  const byId = new Map(row.result.items.map((it) => [it.id, it.predicted]));
  const n = row.items.length;
  return {
    name: row.result.strategy as StrategyName,
    // charged: the seconds are the real run's, not this process's
    predict: async (items) => ({
      lengths: items.map((it) => byId.get(it.id)!),
      seconds: (row.result.predict_seconds * items.length) / n,
      charged: true,
    }),
  };
}

/** Seconds a cost model charges for the row's length prediction: generate calls of its mini-batches, per group. */
async function predictionSeconds(cm: CostModel, row: MeasuredRow, s: CalibrationSettings): Promise<number> {
  const strategy = row.result.strategy;
  if (strategy !== 'seqsch' && strategy !== 'po') return 0;
  // loaded only for rows that predict: it brings the tokenizer
  const { perceptionSeconds } = await import('../cost/perception-cost.js');
  const o = {
    strategy,
    batch: s.predictBatch,
    steps: strategy === 'seqsch' ? s.seqschPredictTokens : s.poPredictTokens,
  } as const;
  let total = 0;
  for (let g = 0; g < row.items.length; g += row.config.group_size) {
    total += perceptionSeconds(
      cm,
      row.items.slice(g, g + row.config.group_size).map((it) => it.promptTokens ?? s.defaultPromptTokens),
      o,
    );
  }
  return total;
}

const isVanilla = (r: MeasuredRow) => r.result.strategy === 'vanilla' && !r.result.vbs && !r.result.fcr;

/**
 * The row labelled `label` among the run's rows (in order): measured, replayed, simulated and GPU-regime seconds
 * (null where not computed), their errors against measured, speedups over the plain vanilla row, and the fitted
 * constants (ms). The fit's cost-model file goes to `outDir`.
 */
export async function compareRow(
  rows: MeasuredRow[],
  label: string | undefined,
  s: CalibrationSettings,
  outDir: string,
  cache: Cache,
): Promise<Record<string, Scalar>> {
  const row = rows.find((r) => r.label === label);
  if (!row)
    throw new Error(
      `calibrate stage: no benchmark row labelled "${label}" (rows: ${rows.map((r) => r.label).join(', ') || 'none'})`,
    );
  const { cal, model, file } = await calibration(rows, s, outDir, cache);
  const r = row.result;
  const measured = r.seconds;
  const replay = r.predict_seconds + replaySeconds(model, r.trace, s.defaultPromptTokens);

  // the whole row through the simulator, when the queries carry recorded lengths
  let sim: { seconds: number; average_length: number; effective_token_ratio: number; failure_ratio: number } | null =
    null;
  if (row.items.every((it) => typeof it.realLengths?.[s.realLengths] === 'number')) {
    const engine = new SimulatedEngine({
      realLengths: s.realLengths,
      recordedMaxLength: s.recordedMaxLength,
      costModel: model,
      defaultPromptTokens: s.defaultPromptTokens,
    });
    sim = await runBenchmark(row.items, engine, replayedPredictor(row), {
      schedule: scheduleOf(row.config),
      maxLength: row.config.max_length,
      groupSize: row.config.group_size,
    });
  }

  // the same workload in the GPU regime
  let gpu: number | null = null;
  let gpuVanilla: number | null = null;
  if (s.gpuCostModel) {
    const g = cache(`gpu:${s.gpuCostModel}`, () => loadCostModel(s.gpuCostModel!));
    const charge = async (x: MeasuredRow) =>
      (await predictionSeconds(g, x, s)) + replaySeconds(g, x.result.trace, s.defaultPromptTokens);
    gpu = await charge(row);
    const v = rows.find(isVanilla);
    gpuVanilla = v ? await charge(v) : null;
  }
  const vanilla = rows.find(isVanilla);
  const rel = (x: number | null) => (x === null ? null : (x - measured) / measured);
  return {
    row: label!,
    strategy: r.strategy,
    vbs: r.vbs,
    fcr: r.fcr,
    num_samples: r.num_samples,
    measured_seconds: measured,
    measured_throughput: r.throughput,
    measured_speedup: vanilla ? vanilla.result.seconds / measured : null,
    replay_seconds: replay,
    replay_error: rel(replay),
    simulated_seconds: sim?.seconds ?? null,
    simulated_error: rel(sim?.seconds ?? null),
    simulated_average_length: sim?.average_length ?? null,
    simulated_etr: sim?.effective_token_ratio ?? null,
    gpu_seconds: gpu,
    gpu_throughput: gpu ? r.num_samples / gpu : null,
    gpu_speedup: gpu && gpuVanilla ? gpuVanilla / gpu : null,
    fit_step_base_ms: cal.fit.stepBaseMs,
    fit_step_per_row_ms: cal.fit.stepPerRowMs,
    fit_step_per_row_token_ms: cal.fit.stepPerRowTokenMs,
    fit_prefill_base_ms: cal.fit.prefillBaseMs,
    fit_prefill_per_token_ms: cal.fit.prefillPerTokenMs,
    fit_rms_batch_error: cal.rmsRelError,
    cost_model: file,
  };
}
