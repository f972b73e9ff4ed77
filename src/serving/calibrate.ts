/**
 * The serving simulator calibrated on real serving runs, and one real run set beside its simulated re-run. The fits
 * are the step engine's prefills and decode steps (src/cost/calibrate-steps.ts, written to `<out>/serve-calibrate/
 * costmodel-serving.json`) and the static pipeline's batches (the benchmark's calibration,
 * `costmodel-serving-batches.json`); the re-run is the same workload — same queries, same arrival rate, same policy
 * and predictions — through the simulated engine on the recorded lengths, the predictor charged as a fit of the real
 * run's predictor calls. Fitting is src/cost's job, running run.ts's; this module neither keeps the runs (the serve
 * job does) nor names them (a point's name is the job's: label and sweep values).
 */
import { join } from 'node:path';
import type { Scalar } from '../core/job.js';
import { costModelFile, fitCostModel } from '../cost/calibrate-batches.js';
import { fitPredictorCost, fitStepCosts, stepCostModelFile, type StepFit } from '../cost/calibrate-steps.js';
import { writeJson } from '../util/fs.js';
import type { ServeConfig } from './config.js';
import type { BatchCall } from './harness.js';
import type { ServeRun } from './run.js';

/** A finished serving run of the experiment, under its point's name. */
export interface NamedServeRun {
  name: string;
  config: ServeConfig;
  run: ServeRun;
}

/** The serve-calibrate stage's keys. */
export interface ServeCalibrationSettings {
  /** points whose engine calls the fit uses: undefined every real one, 'self' the compared point's own */
  fitOn?: string[] | 'self';
  /** the recorded length that plays the real response, and the max_length it was recorded at (default the run's) */
  realLengths: string;
  recordedMaxLength?: number;
}

type Cache = <T>(key: string, make: () => T) => T;

const fileSlug = (name: string) => name.replace(/[^A-Za-z0-9_.=-]+/g, '_');

/** The fits, once per experiment run and set of points (memoized in `cache`), written beside the results. */
function calibration(
  points: NamedServeRun[],
  s: ServeCalibrationSettings,
  outDir: string,
  cache: Cache,
  target: NamedServeRun,
) {
  const real = points.filter((p) => p.run.engine === 'tfjs');
  const on = s.fitOn;
  const chosen = on === 'self' ? [target] : on ? real.filter((p) => on.includes(p.name)) : real;
  const tag = on === 'self' ? `-${fileSlug(target.name)}` : '';
  const steps = chosen.filter((p) => p.config.policy !== 'static');
  const batches = chosen.filter((p) => p.config.policy === 'static');
  return cache(`serve-calibration:${chosen.map((p) => p.name).join('|')}`, () => {
    if (steps.length === 0 && batches.length === 0)
      throw new Error(
        `serve-calibrate stage: no real serve points to fit on (real points: ${real.map((p) => p.name).join(', ') || 'none'})`,
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
          `fitted by the serve-calibrate stage on the engine calls of ${steps.map((p) => p.name).join(', ')} (${steps[0].run.backend})`,
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
          `fitted by the serve-calibrate stage on the batches of ${batches.map((p) => p.name).join(', ')}`,
        ),
      );
    }
    return { fit, file, batchFile };
  });
}

/**
 * The real run named `name` among the run's points (in order) and its simulated re-run: measured and simulated
 * throughput (req/s) and latency (s), their relative errors, the predictor's fitted cost (s per call, per request)
 * and, unless fitted on the point itself, the step fit's constants (ms). Cost models and, for a model predictor run
 * live, a file of its answers go to `<outDir>/serve-calibrate/`.
 */
export async function comparePoint(
  points: NamedServeRun[],
  name: string,
  s: ServeCalibrationSettings,
  outDir: string,
  cache: Cache,
): Promise<Record<string, Scalar>> {
  // one at a time: jest's ESM loader fails when two dynamic imports link tfjs at once
  const { runServe } = await import('./run.js');
  const { loadedModel } = await import('./make-engine.js');
  const { realPredictor } = await import('../perception/model-predictors.js');
  const { workloadItems } = await import('./make-workload.js');
  const matches = points.filter((p) => p.name === name && p.run.engine === 'tfjs');
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
          .map((p) => p.name)
          .join(', ') || 'none'
      })`,
    );
  if (!target.config.lengths)
    throw new Error(`serve-calibrate stage: point "${name}" has no \`lengths\` file for the simulator to replay`);
  const { fit, file, batchFile } = await calibration(points, s, outDir, cache, target);
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
  let replay: Partial<ServeConfig> = {};
  if (t.predictor !== 'none')
    replay = { predictor_cost: 'linear', predictor_call_s: cost.base, predictor_item_s: cost.perItem };
  if ((t.predictor === 'seqsch' || t.predictor === 'po') && !t.predictions) {
    const predicted = new Map(target.run.result.records.map((r) => [r.id, r.predicted]));
    const missing = workloadItems(t, { cache }).filter((it) => predicted.get(it.id) == null);
    if (missing.length) {
      const loaded = await loadedModel(t, { cache });
      const answers = await realPredictor(t.predictor, loaded, { maxLength: t.max_length }).predict(missing);
      missing.forEach((it, i) => predicted.set(it.id, answers.lengths[i]));
    }
    const predictions = join(outDir, 'serve-calibrate', `${fileSlug(name)}-predictions.json`);
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
      real_lengths: s.realLengths,
      recorded_max_length: s.recordedMaxLength ?? t.max_length,
      ...(t.arrival === 'offline' ? {} : { rate: target.run.rate ?? undefined, load: undefined, capacity: undefined }),
      ...replay,
    },
    { cache },
  );
  const m = target.run.metrics,
    sm = sim.metrics;
  const rel = (x: number, y: number) => (y !== 0 ? (x - y) / y : null);
  return {
    row: name,
    policy: t.policy,
    predictor: t.predictor,
    arrival: t.arrival,
    rate: target.run.rate,
    measured_throughput: m.throughput,
    simulated_throughput: sm.throughput,
    throughput_error: rel(sm.throughput, m.throughput),
    measured_latency_mean: m.latency_mean,
    simulated_latency_mean: sm.latency_mean,
    latency_error: rel(sm.latency_mean, m.latency_mean),
    measured_latency_p99: m.latency_p99,
    simulated_latency_p99: sm.latency_p99,
    predictor_call_s: cost.base,
    predictor_item_s: cost.perItem,
    fit_on: s.fitOn === 'self' ? 'self' : 'all',
    cost_model: costModel,
    ...(fit && s.fitOn !== 'self'
      ? {
          fit_step_ms: fit.stepBaseMs.map(([bs, ms]) => `${bs}:${ms.toFixed(3)}`).join(' '),
          fit_context_ms: fit.contextMs,
          fit_prefill_base_ms: fit.prefillBaseMs,
          fit_prefill_per_token_ms: fit.prefillPerTokenMs,
          fit_rms_call_error: fit.rmsRelError,
        }
      : {}),
  };
}
