/**
 * calibrate as a job: fit the simulator's cost model (step and prefill ms, src/cost/calibrate-batches.ts) on the
 * measured batches of real benchmark runs. The two surfaces take different inputs:
 * - CLI (`seqsch calibrate --trace FILE… --out FILE`): the trace files the benchmark job writes; writes the fit as a
 *   cost-model file for `simulate --cost-model` and reports, per trace, measured generation seconds next to what
 *   the fitted model charges.
 * - experiment (the `calibrate` stage, after the `benchmark` points of the same run): fits once on their batches
 *   in memory (written to `<run>/costmodel-calibrated.json`), then, one point per benchmark row (matched by label),
 *   puts the measured time next to what the simulator predicts:
 *   - replay: the row's measured batches (sizes, prompt widths, decode steps) charged by the calibrated model;
 *   - simulated: the whole row re-run by the simulated engine on the recorded lengths (`real_lengths`), with the
 *     row's own predictions, so schedule, FCR and which rows finish come from the simulator;
 *   - gpu: the row's measured batches charged by a GPU cost model (the H100 file), prediction included as
 *     generate calls of its mini-batches — the same workload in the other cost regime.
 *   Prediction seconds are the measured ones in the CPU columns.
 * Fitting itself is src/cost/calibrate-batches.ts's; heavy modules load when the job runs.
 */
import { join } from 'node:path';
import type { JobContext, JobResult, Scalar } from '../core/job.js';
import { defineJob } from '../core/job.js';
import { defineOptions, type StageConfigOf } from '../core/options/spec.js';
import type { StrategyName } from '../core/names.js';
import type { TraceBatch } from '../cost/calls.js';
import type { CostModel } from '../cost/costmodel.js';
import type { LengthPredictor } from '../core/predictor.js';
import { markdownRows, numCell, signedPctCell } from '../util/markdown.js';
import { benchRuns, type BenchRun } from './benchmark.js';

export const calibrateOptions = defineOptions({
  // ---- CLI: trace files in, a cost-model file out
  trace: {
    type: 'list',
    of: 'string',
    required: true,
    yaml: false,
    describe: 'trace JSON files from seqsch benchmark --trace',
  },
  out: { type: 'string', required: true, yaml: false, describe: 'cost-model JSON to write' },
  // ---- experiment: the benchmark rows of the same run
  row: {
    type: 'string',
    cli: false,
    describe: "the benchmark row (label) this point reports; default the point's own label",
  },
  'fit-on': {
    type: 'list',
    of: 'string',
    minItems: 1,
    cli: false,
    describe: 'benchmark rows whose batches the fit uses; default every benchmark row before this stage',
  },
  'gpu-cost-model': {
    type: 'string',
    cli: false,
    describe: 'a GPU-regime cost model to charge the same workload with (e.g. the H100 file)',
  },
  'real-lengths': {
    type: 'string',
    cli: false,
    default: 'L_t0.0',
    describe: 'recorded length that plays the real response in the full simulation',
  },
  'recorded-max-length': {
    type: 'number',
    int: true,
    min: 1,
    cli: false,
    default: 512,
    describe: "max_length of the run that recorded the lengths (the lenpred stage's)",
  },
  // ---- both
  'default-prompt-tokens': {
    type: 'number',
    int: true,
    min: 1,
    default: 64,
    describe: 'prompt width for batches without promptTokens',
  },
  // ---- experiment: length-prediction mini-batch and new tokens charged in the GPU regime (upstream: 128 and 8)
  'predict-batch': { type: 'number', int: true, min: 1, cli: false, default: 128 },
  'seqsch-predict-tokens': { type: 'number', int: true, min: 1, cli: false, default: 8 },
  'po-predict-tokens': { type: 'number', int: true, min: 1, cli: false, default: 16 },
});
type CalibrateConfig = StageConfigOf<typeof calibrateOptions>;

export const calibrateJob = defineJob({
  name: 'calibrate',
  describe: 'fit the simulator cost model (step and prefill ms) on measured benchmark traces',
  options: calibrateOptions,
  wholeRun: true, // in an experiment it fits on the benchmark points of the same process (benchRuns)
  files: (c) => (c.gpu_cost_model ? [{ key: 'gpu_cost_model', path: c.gpu_cost_model }] : []),
  run: async (c, ctx) =>
    ctx.outDir === undefined ? fitTraces(c, ctx.cli) : { record: await compareRow(c, ctx, ctx.outDir) },
  table: (rows) => {
    const f = numCell;
    const pct = signedPctCell;
    const head = [
      'Row',
      'Measured (s)',
      'Replay (s)',
      'Replay err',
      'Simulated (s)',
      'Sim err',
      'Measured speedup',
      'GPU (s)',
      'GPU throughput',
      'GPU speedup',
    ];
    const cells = rows.map(({ label, record: x }) => [
      label,
      f(x.measured_seconds, 1),
      f(x.replay_seconds, 1),
      pct(x.replay_error),
      f(x.simulated_seconds, 1),
      pct(x.simulated_error),
      f(x.measured_speedup),
      f(x.gpu_seconds, 1),
      f(x.gpu_throughput),
      f(x.gpu_speedup),
    ]);
    const x = rows[0]?.record;
    const note = x
      ? `\nCalibrated step(bs, ctx) = ${f(x.fit_step_base_ms, 3)} + ${f(x.fit_step_per_row_ms, 4)}·bs + ${Number(x.fit_step_per_row_token_ms).toExponential(3)}·bs·ctx ms; ` +
        `prefill(bs, P) = ${f(x.fit_prefill_base_ms, 3)} + ${Number(x.fit_prefill_per_token_ms).toExponential(3)}·bs·P ms; per-batch rms error ${pct(x.fit_rms_batch_error)}.\n`
      : '';
    return markdownRows(head, 1, cells) + note;
  },
});

// ------------------------------------------------------------------------------------------ CLI: trace files

/** The batches of a trace file: `{ trace: [...] }` as the benchmark job writes it, or a bare array. */
async function readTrace(path: string): Promise<TraceBatch[]> {
  const { readJson } = await import('../util/fs.js');
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

/** The fit on `--trace` files, written to `--out`; prints the constants and each trace's measured vs fitted time. */
async function fitTraces(c: CalibrateConfig, cli: Record<string, unknown>): Promise<JobResult> {
  const [{ costModelFile, fitCostModel, fittedCostModel, replaySeconds }, { writeJson }] = await Promise.all([
    import('../cost/calibrate-batches.js'),
    import('../util/fs.js'),
  ]);
  const paths = cli.trace as string[];
  const out = cli.out as string;
  const traces = await Promise.all(paths.map(async (p) => ({ path: p, batches: await readTrace(p) })));
  const cal = fitCostModel(
    traces.flatMap((t) => t.batches),
    c.default_prompt_tokens,
  );
  writeJson(out, costModelFile(cal, `fitted by seqsch calibrate on ${traces.map((t) => t.path).join(', ')}`));
  const cm = fittedCostModel(cal.fit);
  const perTrace = traces.map((t) => {
    const measured = t.batches.reduce((s, b) => s + b.seconds, 0);
    const fitted = replaySeconds(cm, t.batches, c.default_prompt_tokens);
    return {
      trace: t.path,
      batches: t.batches.length,
      measured_seconds: measured,
      fitted_seconds: fitted,
      rel_error: (fitted - measured) / measured,
    };
  });
  const text = [
    `step(bs, ctx) = ${cal.fit.stepBaseMs.toFixed(4)} + ${cal.fit.stepPerRowMs.toFixed(4)}·bs + ${cal.fit.stepPerRowTokenMs.toExponential(3)}·bs·ctx ms`,
    `prefill(bs, P) = ${cal.fit.prefillBaseMs.toFixed(4)} + ${cal.fit.prefillPerTokenMs.toExponential(3)}·bs·P ms`,
    `batches: ${cal.batches}, per-batch error: rms ${(cal.rmsRelError * 100).toFixed(1)} %, max ${(cal.maxRelError * 100).toFixed(1)} %`,
    ...perTrace.map(
      (t) =>
        `${t.trace}: measured ${t.measured_seconds.toFixed(2)} s, fitted ${t.fitted_seconds.toFixed(2)} s (${(t.rel_error * 100).toFixed(1)} %)`,
    ),
    `wrote ${out}`,
  ].join('\n');
  // the CLI's --json line keeps its per-trace list (never a results.csv row: the stage side records scalars only)
  const record = {
    out,
    ...cal.fit,
    batches: cal.batches,
    rms_rel_error: cal.rmsRelError,
    max_rel_error: cal.maxRelError,
    traces: perTrace as never,
  };
  return { record, text };
}

// ------------------------------------------------------------------------------------------ experiment: rows

/** The fit, once per experiment run and set of rows, written beside the results. */
async function calibration(ctx: JobContext, outDir: string, c: CalibrateConfig) {
  const [{ costModelFile, fitCostModel }, { costModelFromPoints }, { writeJson }] = await Promise.all([
    import('../cost/calibrate-batches.js'),
    import('../cost/costmodel.js'),
    import('../util/fs.js'),
  ]);
  const runs = benchRuns(ctx);
  const use = c.fit_on ? runs.filter((r) => c.fit_on!.includes(r.label)) : runs;
  const key = `calibration:${use.map((r) => r.label).join('|')}|${c.default_prompt_tokens}`;
  return ctx.cache(key, () => {
    if (use.length === 0)
      throw new Error(
        `calibrate stage: no benchmark rows to fit on (benchmark rows so far: ${runs.map((r) => r.label).join(', ') || 'none'})`,
      );
    // a batch that started from a prefill done with the prediction (the probe's) measured no prefill of its own: not fitted
    const cal = fitCostModel(
      use.flatMap((r) => r.result.trace.filter((t) => !t.prefilled)),
      c.default_prompt_tokens,
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
function replayedPredictor(run: BenchRun): LengthPredictor {
  const byId = new Map(run.result.items.map((it) => [it.id, it.predicted]));
  const n = run.items.length;
  return {
    name: run.result.strategy as StrategyName,
    // charged: the seconds are the real run's, not this process's
    predict: async (items) => ({
      lengths: items.map((it) => byId.get(it.id)!),
      seconds: (run.result.predict_seconds * items.length) / n,
      charged: true,
    }),
  };
}

/** Seconds a cost model charges for the row's length prediction: generate calls of its mini-batches, per group. */
async function predictionSeconds(cm: CostModel, run: BenchRun, c: CalibrateConfig): Promise<number> {
  const s = run.result.strategy;
  if (s !== 'seqsch' && s !== 'po') return 0;
  const { perceptionSeconds } = await import('../cost/perception-cost.js');
  const o = {
    strategy: s,
    batch: c.predict_batch,
    steps: s === 'seqsch' ? c.seqsch_predict_tokens : c.po_predict_tokens,
  } as const;
  let total = 0;
  for (let g = 0; g < run.items.length; g += run.config.group_size) {
    total += perceptionSeconds(
      cm,
      run.items.slice(g, g + run.config.group_size).map((it) => it.promptTokens ?? c.default_prompt_tokens),
      o,
    );
  }
  return total;
}

const isVanilla = (r: BenchRun) => r.result.strategy === 'vanilla' && !r.result.vbs && !r.result.fcr;

/** One benchmark row: measured, replayed, simulated and GPU-regime seconds, and the fitted constants. */
async function compareRow(c: CalibrateConfig, ctx: JobContext, outDir: string): Promise<Record<string, Scalar>> {
  const [{ replaySeconds }, { loadCostModel }, { SimulatedEngine }, { runBenchmark }, { scheduleOf }] =
    await Promise.all([
      import('../cost/calibrate-batches.js'),
      import('../cost/costmodel.js'),
      import('../engines/batch-sim.js'),
      import('../benchmark/driver.js'),
      import('../scheduling/options.js'),
    ]);
  const label = c.row ?? ctx.point?.label;
  const runs = benchRuns(ctx);
  const run = runs.find((r) => r.label === label);
  if (!run)
    throw new Error(
      `calibrate stage: no benchmark row labelled "${label}" (rows: ${runs.map((r) => r.label).join(', ') || 'none'})`,
    );
  const { cal, model, file } = await calibration(ctx, outDir, c);
  const r = run.result;
  const measured = r.seconds;
  const replay = r.predict_seconds + replaySeconds(model, r.trace, c.default_prompt_tokens);

  // the whole row through the simulator, when the queries carry recorded lengths
  let sim: { seconds: number; average_length: number; effective_token_ratio: number; failure_ratio: number } | null =
    null;
  if (run.items.every((it) => typeof it.realLengths?.[c.real_lengths] === 'number')) {
    const engine = new SimulatedEngine({
      realLengths: c.real_lengths,
      recordedMaxLength: c.recorded_max_length,
      costModel: model,
      defaultPromptTokens: c.default_prompt_tokens,
    });
    sim = await runBenchmark(run.items, engine, replayedPredictor(run), {
      schedule: scheduleOf(run.config),
      maxLength: run.config.max_length,
      groupSize: run.config.group_size,
    });
  }

  // the same workload in the GPU regime
  let gpu: number | null = null;
  let gpuVanilla: number | null = null;
  if (c.gpu_cost_model) {
    const g = ctx.cache(`gpu:${c.gpu_cost_model}`, () => loadCostModel(c.gpu_cost_model!));
    const charge = async (x: BenchRun) =>
      (await predictionSeconds(g, x, c)) + replaySeconds(g, x.result.trace, c.default_prompt_tokens);
    gpu = await charge(run);
    const v = runs.find(isVanilla);
    gpuVanilla = v ? await charge(v) : null;
  }
  const vanilla = runs.find(isVanilla);
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
