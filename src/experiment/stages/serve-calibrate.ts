/**
 * The `serve-calibrate` experiment stage: after the real-engine `serve` points of the same run, fit the serving
 * simulator's cost model on their engine calls (src/serving/calibrate.ts; once, written to
 * `<run>/costmodel-serving.json`), then, one point per real run (matched by its name: label and sweep values),
 * re-run the same workload — same queries, same arrival rate, same policy and predictions — through the
 * simulated engine on the recorded lengths, with the predictor charged as a fit of the real run's predictor
 * calls, and put measured and simulated throughput and latency side by side. The static rows are simulated too
 * (batches charged by the same fit). Fitting is calibrate.ts's job, running is run.ts's.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { registerStage, type Scalar, type StageContext } from '../registry.js';
import { serveRuns, servePointName, type ServePoint } from './serve.js';
import { costModelFile, type Calibration } from '../../benchmark/calibrate.js';
import { fitPredictorCost, fitStepCosts } from '../../serving/calibrate.js';
import { writeJson } from '../../util/fs.js';

export const serveCalibrateSchema = z.strictObject({
  /** the serve point (label and sweep values, e.g. "sjf seqsch load=0.8") this point reports; default the point's label */
  row: z.string().optional(),
  /** serve points whose engine calls the fit uses; default every real continuous point before this stage */
  fit_on: z.array(z.string()).min(1).optional(),
  /** recorded length that plays the real response, and the max_length it was recorded with */
  real_lengths: z.string().default('L_t0.0'),
  recorded_max_length: z.number().int().positive().optional(),
});
type ServeCalibrateConfig = z.infer<typeof serveCalibrateSchema>;

const nameOf = (p: ServePoint) => servePointName(p.label, p.swept);

function calibration(ctx: StageContext, c: ServeCalibrateConfig): { cal: Calibration; file: string } {
  const real = serveRuns(ctx).filter((p) => p.run.engine === 'tfjs');
  const use = c.fit_on ? real.filter((p) => c.fit_on!.includes(nameOf(p))) : real.filter((p) => p.config.policy !== 'static');
  return ctx.cache(`serve-calibration:${use.map(nameOf).join('|')}`, () => {
    if (use.length === 0) throw new Error(`serve-calibrate stage: no real continuous serve points to fit on (real points: ${real.map(nameOf).join(', ') || 'none'})`);
    const cal = fitStepCosts(use.flatMap((p) => p.run.result.calls));
    const file = join(ctx.outDir, 'costmodel-serving.json');
    writeJson(file, costModelFile(cal, `fitted by the serve-calibrate stage on the engine calls of ${use.map(nameOf).join(', ')} (${use[0].run.backend})`));
    return { cal, file };
  });
}

registerStage('serve-calibrate', {
  schema: serveCalibrateSchema,
  run: async (c, ctx) => {
    const { runServe } = await import('../../serving/run.js');
    const name = c.row ?? ctx.point?.label ?? "";
    const points = serveRuns(ctx);
    const target = points.find((p) => nameOf(p) === name && p.run.engine === 'tfjs');
    if (!target) throw new Error(`serve-calibrate stage: no real serve point named "${name}" (points: ${points.filter((p) => p.run.engine === 'tfjs').map(nameOf).join(', ') || 'none'})`);
    if (!target.config.lengths) throw new Error(`serve-calibrate stage: point "${name}" has no \`lengths\` file for the simulator to replay`);
    const { cal, file } = calibration(ctx, c);
    const t = target.config;
    // the real run's predictions, replayed with its measured prediction cost (base + per request, fitted on its calls)
    const predictions = join(ctx.outDir, 'serve-calibrate', `${name.replace(/[^A-Za-z0-9_.=-]+/g, '_')}-predictions.json`);
    const usesPrediction = t.predictor !== 'none';
    if (usesPrediction) writeJson(predictions, target.run.result.records.map((r) => ({ id: r.id, predicted: r.predicted })));
    const cost = fitPredictorCost(target.run.result.predictorCalls);
    const sim = await runServe({
      ...t, engine: 'sim', cost_model: file, model: undefined, lora: undefined,
      real_lengths: c.real_lengths, recorded_max_length: c.recorded_max_length ?? t.max_length,
      ...(t.arrival === 'offline' ? {} : { rate: target.run.rate ?? undefined, load: undefined, capacity: undefined }),
      ...(usesPrediction ? { predictor: 'seqsch', predictions, predictor_cost: 'linear', predictor_call_s: cost.base, predictor_item_s: cost.perItem } : {}),
    }, { cache: ctx.cache });
    const m = target.run.metrics, s = sim.metrics;
    const rel = (x: number, y: number) => (y !== 0 ? (x - y) / y : null);
    const record: Record<string, Scalar> = {
      row: name!, policy: t.policy, predictor: t.predictor, arrival: t.arrival, rate: target.run.rate,
      measured_throughput: m.throughput, simulated_throughput: s.throughput, throughput_error: rel(s.throughput, m.throughput),
      measured_latency_mean: m.latency_mean, simulated_latency_mean: s.latency_mean, latency_error: rel(s.latency_mean, m.latency_mean),
      measured_latency_p99: m.latency_p99, simulated_latency_p99: s.latency_p99,
      predictor_call_s: cost.base, predictor_item_s: cost.perItem,
      fit_step_base_ms: cal.fit.stepBaseMs, fit_step_per_row_ms: cal.fit.stepPerRowMs, fit_step_per_row_token_ms: cal.fit.stepPerRowTokenMs,
      fit_prefill_base_ms: cal.fit.prefillBaseMs, fit_prefill_per_token_ms: cal.fit.prefillPerTokenMs, fit_rms_call_error: cal.rmsRelError, cost_model: file,
    };
    return { record };
  },
  table: (rows) => {
    const f = (v: Scalar | undefined, d = 3) => (typeof v === 'number' ? v.toFixed(d) : '—');
    const pct = (v: Scalar | undefined) => (typeof v === 'number' ? `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} %` : '—');
    const head = ['Row', 'Measured thr (req/s)', 'Simulated thr', 'Thr err', 'Measured lat mean (s)', 'Simulated lat mean', 'Lat err', 'Measured p99', 'Simulated p99'];
    const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i ? ' ---: ' : ' --- ')).join('|')}|`];
    for (const { label, record: x } of rows) {
      lines.push(`| ${[label, f(x.measured_throughput, 2), f(x.simulated_throughput, 2), pct(x.throughput_error), f(x.measured_latency_mean), f(x.simulated_latency_mean),
        pct(x.latency_error), f(x.measured_latency_p99), f(x.simulated_latency_p99)].join(' | ')} |`);
    }
    const x = rows[0]?.record;
    if (x) {
      lines.push('', `Calibrated on the real engine's calls: decode step(bs, ctx) = ${f(x.fit_step_base_ms)} + ${f(x.fit_step_per_row_ms, 4)}·bs + ${Number(x.fit_step_per_row_token_ms).toExponential(3)}·Σctx ms; ` +
        `prefill(n, P) = ${f(x.fit_prefill_base_ms)} + ${Number(x.fit_prefill_per_token_ms).toExponential(3)}·n·P ms (+ one step); per-call rms error ${pct(x.fit_rms_call_error)}.`);
    }
    return lines.join('\n') + '\n';
  },
});
