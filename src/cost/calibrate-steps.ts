/**
 * Calibrate the serving simulator on the real step engine's calls (the `calibrate` stage's job for batches,
 * src/cost/calibrate-batches.ts, whose least squares this reuses):
 *   decode step of bs rows attending Σctx positions:  ms = a(bs) + c·Σctx
 *   prefill of n prompts, T new positions each:       ms = e + f·n·T
 * with one intercept a(bs) per measured batch size — measured step times on this CPU are not linear in bs
 * (the BLAS kernels block rows by 4 and 16: a step of 4 rows is faster than one of 3) — and the context slope c
 * shared (within-batch-size least squares, c ≥ 0). As a cost model (what the simulated engines charge):
 *   stepMs(bs, ctx) = a(bs) + c·bs·ctx, a interpolated between measured sizes;
 *   prefillMs(n, P) = e + f·n·P − stepMs(n, P), because the engines charge a prefill as prefill + one step.
 * Predictor calls are fitted as seconds = base + perItem·n. It fits only; replaying is the engines' job.
 */
import { nonNegativeLeastSquares } from './calibrate-batches.js';
import type { CostModel, CostModelFile } from './costmodel.js';
import type { EngineCall, PredictorCall } from './calls.js';

export interface StepFit {
  /** [batch size, a(bs) ms], ascending */
  stepBaseMs: [number, number][];
  /** c: ms per attended position, summed over rows */
  contextMs: number;
  prefillBaseMs: number;
  prefillPerTokenMs: number;
  calls: number;
  measuredSeconds: number;
  fittedSeconds: number;
  /** rms and max of |fitted − measured| / measured over calls */
  rmsRelError: number;
  maxRelError: number;
}

/** a(bs) interpolated linearly between measured sizes, constant beyond them. */
function interpolate(points: [number, number][], x: number): number {
  if (x <= points[0][0]) return points[0][1];
  for (let i = 1; i < points.length; i++) {
    const [x1, y1] = points[i];
    if (x <= x1) {
      const [x0, y0] = points[i - 1];
      return y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
  return points[points.length - 1][1];
}

/** The fit as a cost model (stepMs per row-averaged context, prefillMs beyond the step the engines add). */
export function stepCostModel(f: StepFit): CostModel {
  const stepMs = (bs: number, ctx: number) => interpolate(f.stepBaseMs, bs) + f.contextMs * bs * ctx;
  return {
    description: `serving calibration: step a(bs) + ${f.contextMs.toExponential(3)}·Σctx ms (a from ${f.stepBaseMs.length} batch sizes), prefill ${f.prefillBaseMs.toPrecision(4)} + ${f.prefillPerTokenMs.toPrecision(4)}·n·T ms`,
    stepMs,
    prefillMs: (n, P) => Math.max(0, f.prefillBaseMs + f.prefillPerTokenMs * n * P - stepMs(n, P)),
  };
}

export function fitStepCosts(callsIn: { kind: string; rows: number; context: number; seconds: number }[]): StepFit {
  const calls = callsIn.filter((c): c is EngineCall => (c.kind === 'prefill' || c.kind === 'decode') && c.rows > 0);
  for (const [i, c] of calls.entries())
    if (!(c.seconds >= 0)) throw new Error(`serving calibration: call ${i} has seconds = ${c.seconds}`);
  const decode = calls.filter((c) => c.kind === 'decode');
  const prefill = calls.filter((c) => c.kind === 'prefill');
  if (decode.length === 0 || prefill.length === 0)
    throw new Error(
      `serving calibration: needs decode steps and prefills (got ${decode.length} and ${prefill.length})`,
    );
  // decode: per batch size, ms = a(bs) + c·Σctx; c from the deviations within each size
  const groups = new Map<number, { x: number[]; y: number[] }>();
  for (const c of decode) {
    const g = groups.get(c.rows) ?? { x: [], y: [] };
    g.x.push(c.rows * c.context);
    g.y.push(c.seconds * 1000);
    groups.set(c.rows, g);
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  let sxy = 0,
    sxx = 0;
  for (const { x, y } of groups.values()) {
    const [mx, my] = [mean(x), mean(y)];
    x.forEach((xi, i) => ((sxy += (xi - mx) * (y[i] - my)), (sxx += (xi - mx) ** 2)));
  }
  const contextMs = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
  const stepBaseMs = [...groups]
    .sort((p, q) => p[0] - q[0])
    .map(([bs, { x, y }]): [number, number] => [bs, Math.max(0, mean(y) - contextMs * mean(x))]);
  // prefill: ms = e + f·n·T
  const pre = nonNegativeLeastSquares(
    prefill.map((c) => [1, c.rows * c.context]),
    prefill.map((c) => c.seconds * 1000),
  );
  if (!pre) throw new Error('serving calibration: the prefills do not vary enough to fit');
  const fit: StepFit = {
    stepBaseMs,
    contextMs,
    prefillBaseMs: pre[0],
    prefillPerTokenMs: pre[1],
    calls: calls.length,
    measuredSeconds: 0,
    fittedSeconds: 0,
    rmsRelError: 0,
    maxRelError: 0,
  };
  const cm = stepCostModel(fit);
  const charged = calls.map(
    (c) =>
      (c.kind === 'decode'
        ? cm.stepMs(c.rows, c.context)
        : cm.prefillMs(c.rows, c.context) + cm.stepMs(c.rows, c.context)) / 1000,
  );
  const rel = calls.map((c, i) => (c.seconds > 0 ? Math.abs(charged[i] - c.seconds) / c.seconds : 0));
  fit.measuredSeconds = calls.reduce((s, c) => s + c.seconds, 0);
  fit.fittedSeconds = charged.reduce((s, x) => s + x, 0);
  fit.rmsRelError = Math.sqrt(rel.reduce((s, r) => s + r * r, 0) / rel.length);
  fit.maxRelError = rel.reduce((a, b) => Math.max(a, b), 0); // not Math.max(...rel): tens of thousands of calls overflow the stack
  return fit;
}

const CONTEXT_NODES = [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/**
 * The fit in the cost-model file format: step points at every batch size from 1 to the largest measured (and
 * the context nodes; linear in context, so exact), prefill points at the same sizes and context nodes.
 */
export function stepCostModelFile(f: StepFit, description: string): CostModelFile & { serving_fit: StepFit } {
  const cm = stepCostModel(f);
  const r = (x: number) => Number(x.toPrecision(8));
  const sizes = Array.from({ length: f.stepBaseMs[f.stepBaseMs.length - 1][0] }, (_, i) => i + 1);
  return {
    description: `${description}; ${cm.description}`,
    points: sizes.flatMap((bs) =>
      CONTEXT_NODES.map((ctx) => ({ batch_size: bs, context: ctx, ms_per_step: r(cm.stepMs(bs, ctx)) })),
    ),
    prefill: sizes.flatMap((bs) =>
      CONTEXT_NODES.map((p) => ({ batch_size: bs, prompt_tokens: p, ms: r(cm.prefillMs(bs, p)) })),
    ),
    serving_fit: f,
  };
}

/** A predictor's calls fitted as seconds = base + perItem·requests (both ≥ 0); zeros when there were none. */
export function fitPredictorCost(calls: PredictorCall[]): { base: number; perItem: number } {
  const used = calls.filter((c) => c.requests > 0);
  if (used.length === 0) return { base: 0, perItem: 0 };
  const coef = nonNegativeLeastSquares(
    used.map((c) => [1, c.requests]),
    used.map((c) => c.seconds),
  );
  return coef
    ? { base: coef[0], perItem: coef[1] }
    : { base: 0, perItem: used.reduce((s, c) => s + c.seconds, 0) / used.reduce((s, c) => s + c.requests, 0) };
}
