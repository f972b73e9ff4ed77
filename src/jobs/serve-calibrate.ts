/**
 * serve-calibrate as a job (an experiment stage only: it reads the run's earlier `serve` points in memory): after
 * the real-engine `serve` points of the same run, calibrate the simulator on their measured calls — the step
 * engine's prefills and decode steps (src/cost/calibrate-steps.ts, written to `<run>/serve-calibrate/
 * costmodel-serving.json`) and the static pipeline's batches (the benchmark's calibration,
 * `costmodel-serving-batches.json`) — then, one point per real run (matched by its name: label and sweep values),
 * re-run the same workload — same queries, same arrival rate, same policy and predictions — through the simulated
 * engine on the recorded lengths, the predictor charged as a fit of the real run's predictor calls, and put
 * measured and simulated throughput and latency side by side. Fitting is src/cost's job, running src/serving/run.ts's.
 */
import { join } from 'node:path';
import type { JobContext, Scalar } from '../core/job.js';
import { defineJob } from '../core/job.js';
import { defineOptions, type StageConfigOf } from '../core/options/spec.js';
import type { StepFit } from '../cost/calibrate-steps.js';
import type { BatchCall } from '../serving/harness.js';
import { markdownRows, numCell, signedPctCell } from '../util/markdown.js';
import { serveRuns, servePointName, type ServeJobConfig, type ServePoint } from './serve.js';

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
type ServeCalibrateConfig = StageConfigOf<typeof serveCalibrateOptions>;

const nameOf = (p: ServePoint) => servePointName(p.label, p.swept);

/** The fits, once per experiment run and set of points, written beside the results. */
async function calibration(ctx: JobContext, outDir: string, c: ServeCalibrateConfig, target: ServePoint) {
  const [{ costModelFile, fitCostModel }, { fitStepCosts, stepCostModelFile }, { writeJson }] = await Promise.all([
    import('../cost/calibrate-batches.js'),
    import('../cost/calibrate-steps.js'),
    import('../util/fs.js'),
  ]);
  const real = serveRuns(ctx).filter((p) => p.run.engine === 'tfjs');
  const on = c.fit_on;
  const chosen = on === 'self' ? [target] : on ? real.filter((p) => on.includes(nameOf(p))) : real;
  const tag = on === 'self' ? `-${nameOf(target).replace(/[^A-Za-z0-9_.=-]+/g, '_')}` : '';
  const steps = chosen.filter((p) => p.config.policy !== 'static');
  const batches = chosen.filter((p) => p.config.policy === 'static');
  return ctx.cache(`serve-calibration:${chosen.map(nameOf).join('|')}`, () => {
    if (steps.length === 0 && batches.length === 0)
      throw new Error(
        `serve-calibrate stage: no real serve points to fit on (real points: ${real.map(nameOf).join(', ') || 'none'})`,
      );
    let fit: StepFit | null = null,
      file: string | null = null;
    if (steps.length) {
      fit = fitStepCosts(steps.flatMap((p) => p.run.result.calls));
      file = join(outDir, 'serve-calibrate', `costmodel-serving${tag}.json`);
      writeJson(
        file,
        stepCostModelFile(
          fit,
          `fitted by the serve-calibrate stage on the engine calls of ${steps.map(nameOf).join(', ')} (${steps[0].run.backend})`,
        ),
      );
    }
    let batchFile: string | null = null;
    if (batches.length) {
      const trace = batches
        .flatMap((p) => p.run.result.calls.filter((x): x is BatchCall & { at: number } => x.kind === 'batch'))
        .map((b) => ({ size: b.rows, promptTokens: b.context, decodeSteps: b.steps, seconds: b.seconds }));
      batchFile = join(outDir, 'serve-calibrate', `costmodel-serving-batches${tag}.json`);
      writeJson(
        batchFile,
        costModelFile(
          fitCostModel(trace),
          `fitted by the serve-calibrate stage on the batches of ${batches.map(nameOf).join(', ')}`,
        ),
      );
    }
    return { fit, file, batchFile };
  });
}

export const serveCalibrateJob = defineJob({
  name: 'serve-calibrate',
  describe: 'calibrate the serving simulator on the real serve points of the run and re-run their workloads simulated',
  options: serveCalibrateOptions,
  cli: false,
  wholeRun: true, // it reads the serve points of the same process (serveRuns), so its experiment is never split over shards
  run: async (c, ctx) => {
    // one at a time: jest's ESM loader fails when two dynamic imports link tfjs at once
    const { runServe } = await import('../serving/run.js');
    const { loadedModel } = await import('../serving/make-engine.js');
    const { realPredictor } = await import('../perception/model-predictors.js');
    const [{ workloadItems }, { fitPredictorCost }, { writeJson }] = await Promise.all([
      import('../serving/make-workload.js'),
      import('../cost/calibrate-steps.js'),
      import('../util/fs.js'),
    ]);
    const outDir = ctx.outDir!;
    const name = c.row ?? ctx.point?.label ?? '';
    const points = serveRuns(ctx);
    const matches = points.filter((p) => nameOf(p) === name && p.run.engine === 'tfjs');
    if (matches.length > 1)
      throw new Error(
        `serve-calibrate stage: ${matches.length} real serve points are named "${name}"; give them distinct labels`,
      );
    const target = matches[0];
    if (!target)
      throw new Error(
        `serve-calibrate stage: no real serve point named "${name}" (points: ${
          points
            .filter((p) => p.run.engine === 'tfjs')
            .map(nameOf)
            .join(', ') || 'none'
        })`,
      );
    if (!target.config.lengths)
      throw new Error(`serve-calibrate stage: point "${name}" has no \`lengths\` file for the simulator to replay`);
    const { fit, file, batchFile } = await calibration(ctx, outDir, c, target);
    const t = target.config;
    const costModel = t.policy === 'static' ? batchFile : file;
    if (!costModel)
      throw new Error(
        `serve-calibrate stage: no ${t.policy === 'static' ? 'static' : 'continuous'} real points were fitted for "${name}"`,
      );
    // the real run's predictor, charged as a fit of its measured calls (base + per request). A model run live is
    // replayed from a file of its answers: the real run's, and — for requests it never had to predict (no
    // contention) — the same model's answers computed here, untimed, in case the simulated run needs them.
    const cost = fitPredictorCost(target.run.result.predictorCalls);
    let replay: Partial<ServeJobConfig> = {};
    if (t.predictor !== 'none')
      replay = { predictor_cost: 'linear', predictor_call_s: cost.base, predictor_item_s: cost.perItem };
    if ((t.predictor === 'seqsch' || t.predictor === 'po') && !t.predictions) {
      const predicted = new Map(target.run.result.records.map((r) => [r.id, r.predicted]));
      const missing = workloadItems(t, { cache: ctx.cache }).filter((it) => predicted.get(it.id) == null);
      if (missing.length) {
        const loaded = await loadedModel(t, { cache: ctx.cache });
        const answers = await realPredictor(t.predictor, loaded, { maxLength: t.max_length }).predict(missing);
        missing.forEach((it, i) => predicted.set(it.id, answers.lengths[i]));
      }
      const predictions = join(
        outDir,
        'serve-calibrate',
        `${name.replace(/[^A-Za-z0-9_.=-]+/g, '_')}-predictions.json`,
      );
      writeJson(
        predictions,
        [...predicted].map(([id, p]) => ({ id, predicted: p })),
      );
      replay = { ...replay, predictions };
    }
    const sim = await runServe(
      {
        ...t,
        engine: 'sim',
        cost_model: costModel,
        model: undefined,
        lora: undefined,
        real_lengths: c.real_lengths,
        recorded_max_length: c.recorded_max_length ?? t.max_length,
        ...(t.arrival === 'offline'
          ? {}
          : { rate: target.run.rate ?? undefined, load: undefined, capacity: undefined }),
        ...replay,
      },
      { cache: ctx.cache },
    );
    const m = target.run.metrics,
      s = sim.metrics;
    const rel = (x: number, y: number) => (y !== 0 ? (x - y) / y : null);
    const record: Record<string, Scalar> = {
      row: name,
      policy: t.policy,
      predictor: t.predictor,
      arrival: t.arrival,
      rate: target.run.rate,
      measured_throughput: m.throughput,
      simulated_throughput: s.throughput,
      throughput_error: rel(s.throughput, m.throughput),
      measured_latency_mean: m.latency_mean,
      simulated_latency_mean: s.latency_mean,
      latency_error: rel(s.latency_mean, m.latency_mean),
      measured_latency_p99: m.latency_p99,
      simulated_latency_p99: s.latency_p99,
      predictor_call_s: cost.base,
      predictor_item_s: cost.perItem,
      fit_on: c.fit_on === 'self' ? 'self' : 'all',
      cost_model: costModel,
      ...(fit && c.fit_on !== 'self'
        ? {
            fit_step_ms: fit.stepBaseMs.map(([bs, ms]) => `${bs}:${ms.toFixed(3)}`).join(' '),
            fit_context_ms: fit.contextMs,
            fit_prefill_base_ms: fit.prefillBaseMs,
            fit_prefill_per_token_ms: fit.prefillPerTokenMs,
            fit_rms_call_error: fit.rmsRelError,
          }
        : {}),
    };
    return { record };
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
