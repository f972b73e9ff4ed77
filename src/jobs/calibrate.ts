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
 * The fits and the comparison are src/benchmark/calibrate.ts's (fitting itself src/cost/calibrate-batches.ts's);
 * this job maps its keys onto them and formats the CLI's text. They load when the job runs.
 */
import type { JobResult } from '../core/job.js';
import { defineJob } from '../core/job.js';
import { defineOptions, type StageConfigOf } from '../core/options/spec.js';
import type { CalibrationSettings } from '../benchmark/calibrate.js';
import { markdownRows, numCell, signedPctCell } from '../util/markdown.js';
import { benchRuns } from './benchmark.js';
import { cliOutput } from '../util/job-paths.js';

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
  writes: (_c, cli) => cliOutput(cli, 'out'),
  files: (c) => (c.gpu_cost_model ? [{ key: 'gpu_cost_model', path: c.gpu_cost_model }] : []),
  run: async (c, ctx) => {
    if (ctx.outDir === undefined) return fitTraces(c, ctx.cli);
    const { compareRow } = await import('../benchmark/calibrate.js');
    // the benchmark points of this run so far (BenchRun is a MeasuredRow)
    return {
      record: await compareRow(benchRuns(ctx), c.row ?? ctx.point?.label, settingsOf(c), ctx.outDir, ctx.cache),
    };
  },
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

/** The stage's keys as the comparison of rows reads them. */
const settingsOf = (c: CalibrateConfig): CalibrationSettings => ({
  fitOn: c.fit_on,
  defaultPromptTokens: c.default_prompt_tokens,
  realLengths: c.real_lengths,
  recordedMaxLength: c.recorded_max_length,
  gpuCostModel: c.gpu_cost_model,
  predictBatch: c.predict_batch,
  seqschPredictTokens: c.seqsch_predict_tokens,
  poPredictTokens: c.po_predict_tokens,
});

/** The fit on `--trace` files, written to `--out`; prints the constants and each trace's measured vs fitted time. */
async function fitTraces(c: CalibrateConfig, cli: Record<string, unknown>): Promise<JobResult> {
  const { fitTraceFiles } = await import('../benchmark/calibrate.js');
  const out = cli.out as string;
  const { cal, perTrace } = fitTraceFiles(cli.trace as string[], out, c.default_prompt_tokens);
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
