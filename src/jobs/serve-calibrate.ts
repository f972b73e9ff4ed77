/**
 * serve-calibrate as a job (an experiment stage only: it reads the run's earlier `serve` points in memory): after
 * the real-engine `serve` points of the same run, calibrate the simulator on their measured calls — the step
 * engine's prefills and decode steps (src/cost/calibrate-steps.ts, written to `<run>/serve-calibrate/
 * costmodel-serving.json`) and the static pipeline's batches (the benchmark's calibration,
 * `costmodel-serving-batches.json`) — then, one point per real run (matched by its name: label and sweep values),
 * re-run the same workload — same queries, same arrival rate, same policy and predictions — through the simulated
 * engine on the recorded lengths, the predictor charged as a fit of the real run's predictor calls, and put
 * measured and simulated throughput and latency side by side. The fits and the re-run are src/serving/calibrate.ts's
 * (fitting src/cost's, running src/serving/run.ts's); this job names the points and maps its keys onto them.
 */
import { defineJob } from '../core/job.js';
import { defineOptions } from '../core/options/spec.js';
import { markdownRows, numCell, signedPctCell } from '../util/markdown.js';
import { serveRuns, servePointName } from './serve.js';

export const serveCalibrateOptions = defineOptions({
  row: {
    type: 'string',
    cli: false,
    describe:
      'the serve point (label and sweep values, e.g. "sjf seqsch load=0.8") this point reports; default its label',
  },
  'fit-on': {
    type: 'yaml',
    cli: false,
    zod: (z) => z.union([z.array(z.string()).min(1), z.literal('self')]),
    describe:
      'serve points whose engine calls the fit uses: default every real point before this stage; `self`: the ' +
      "reported point's own calls (separates the simulator's queueing from the machine's speed drifting between runs)",
  },
  'real-lengths': {
    type: 'string',
    cli: false,
    default: 'L_t0.0',
    describe: 'recorded length that plays the real response',
  },
  'recorded-max-length': {
    type: 'number',
    int: true,
    min: 1,
    cli: false,
    describe: "max_length the lengths were recorded with (default the point's)",
  },
});

export const serveCalibrateJob = defineJob({
  name: 'serve-calibrate',
  describe: 'calibrate the serving simulator on the real serve points of the run and re-run their workloads simulated',
  options: serveCalibrateOptions,
  cli: false,
  wholeRun: true, // it reads the serve points of the same process (serveRuns), so its experiment is never split over shards
  run: async (c, ctx) => {
    const { comparePoint } = await import('../serving/calibrate.js');
    const points = serveRuns(ctx).map((p) => ({
      name: servePointName(p.label, p.swept),
      config: p.config,
      run: p.run,
    }));
    const settings = { fitOn: c.fit_on, realLengths: c.real_lengths, recordedMaxLength: c.recorded_max_length };
    return { record: await comparePoint(points, c.row ?? ctx.point?.label ?? '', settings, ctx.outDir!, ctx.cache) };
  },
  table: (rows) => {
    const f = numCell;
    const pct = signedPctCell;
    const head = [
      'Row',
      'Fit on',
      'Measured thr (req/s)',
      'Simulated thr',
      'Thr err',
      'Measured lat mean (s)',
      'Simulated lat mean',
      'Lat err',
      'Measured p99',
      'Simulated p99',
    ];
    const cells = rows.map(({ label, record: x }) => [
      label,
      String(x.fit_on),
      f(x.measured_throughput, 2),
      f(x.simulated_throughput, 2),
      pct(x.throughput_error),
      f(x.measured_latency_mean, 3),
      f(x.simulated_latency_mean, 3),
      pct(x.latency_error),
      f(x.measured_latency_p99, 3),
      f(x.simulated_latency_p99, 3),
    ]);
    const x = rows.find((r) => r.record.fit_step_ms !== undefined)?.record;
    const notes: string[] = [];
    if (x) {
      notes.push(
        '',
        `Calibrated on the real engine's calls: decode step = a(bs) + ${Number(x.fit_context_ms).toExponential(3)}·Σctx ms with a(bs) [bs:ms] = ${x.fit_step_ms}; ` +
          `prefill of n prompts, T new tokens each = ${f(x.fit_prefill_base_ms, 3)} + ${Number(x.fit_prefill_per_token_ms).toExponential(3)}·n·T ms; per-call rms error ${pct(x.fit_rms_call_error)}. ` +
          'Static rows: their batches fitted as the `calibrate` stage fits them.',
        '',
      );
    }
    return markdownRows(head, 2, cells) + notes.join('\n');
  },
});
