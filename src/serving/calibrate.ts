/**
 * Calibrate the serving simulator on the real step engine's calls, as `calibrate` does for batches
 * (src/benchmark/calibrate.ts, whose non-negative least squares this reuses): the same five coefficients,
 *   decode step of bs rows, mean attended ctx:   step(bs, ctx) = a + b·bs + c·bs·ctx
 *   prefill of n prompts padded to P:            prefill(n, P) + step(n, P) = e + f·n·P + a + b·n + c·n·P
 * so the fit is a cost model in the usual file format, and the predictor's calls as seconds = base + perItem·n.
 * It fits only; replaying a workload is the simulated engine's job.
 */
import { fittedCostModel, nonNegativeLeastSquares, type Calibration, type CostFit } from '../benchmark/calibrate.js';
import type { EngineCall } from './engine.js';
import type { PredictorCall } from './intake.js';

/** One call's features, in CostFit's order (stepBaseMs, stepPerRowMs, stepPerRowTokenMs, prefillBaseMs, prefillPerTokenMs). */
function features(c: EngineCall): number[] {
  const tokens = c.rows * c.context;
  return c.kind === 'decode' ? [1, c.rows, tokens, 0, 0] : [1, c.rows, tokens, 1, tokens];
}

/** The fit, in the batch calibration's terms (`batches` counts engine calls; errors are per call). */
export function fitStepCosts(calls: { kind: string; rows: number; context: number; seconds: number }[]): Calibration {
  const rows = calls.filter((c): c is EngineCall => (c.kind === 'prefill' || c.kind === 'decode') && c.rows > 0);
  if (rows.length === 0) throw new Error('serving calibration: no engine calls to fit');
  for (const [i, c] of rows.entries()) if (!(c.seconds >= 0)) throw new Error(`serving calibration: call ${i} has seconds = ${c.seconds}`);
  const coef = nonNegativeLeastSquares(rows.map(features), rows.map((c) => c.seconds * 1000));
  if (!coef) throw new Error('serving calibration: no non-negative fit (the calls do not vary enough)');
  const [stepBaseMs, stepPerRowMs, stepPerRowTokenMs, prefillBaseMs, prefillPerTokenMs] = coef;
  const fit: CostFit = { stepBaseMs, stepPerRowMs, stepPerRowTokenMs, prefillBaseMs, prefillPerTokenMs };
  const cm = fittedCostModel(fit);
  const charged = rows.map((c) => (c.kind === 'decode' ? cm.stepMs(c.rows, c.context) : cm.prefillMs(c.rows, c.context) + cm.stepMs(c.rows, c.context)) / 1000);
  const rel = rows.map((c, i) => (c.seconds > 0 ? Math.abs(charged[i] - c.seconds) / c.seconds : 0));
  return {
    fit,
    batches: rows.length,
    measuredSeconds: rows.reduce((s, c) => s + c.seconds, 0),
    fittedSeconds: charged.reduce((s, x) => s + x, 0),
    rmsRelError: Math.sqrt(rel.reduce((s, r) => s + r * r, 0) / rel.length),
    maxRelError: Math.max(...rel),
  };
}

/** A predictor's calls fitted as seconds = base + perItem·requests (both ≥ 0); zeros when there were none. */
export function fitPredictorCost(calls: PredictorCall[]): { base: number; perItem: number } {
  const used = calls.filter((c) => c.requests > 0);
  if (used.length === 0) return { base: 0, perItem: 0 };
  const coef = nonNegativeLeastSquares(used.map((c) => [1, c.requests]), used.map((c) => c.seconds));
  return coef ? { base: coef[0], perItem: coef[1] } : { base: 0, perItem: used.reduce((s, c) => s + c.seconds, 0) / used.reduce((s, c) => s + c.requests, 0) };
}
