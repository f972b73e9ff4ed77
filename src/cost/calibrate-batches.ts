/**
 * Calibrate the simulator's cost model on measured batches: fit, by non-negative least squares on every
 * batch's wall seconds, the linear model the simulated engine charges (batchSeconds in costmodel.ts):
 *   batch ms = prefill(bs, P) + Σ_{s<S} step(bs, P + s),
 *   step(bs, ctx) = a + b·bs + c·bs·ctx        (per-step launch/weights, per-row, per-attended-token cost)
 *   prefill(bs, P) = e + f·bs·P                (the prefill's cost beyond the decode step it also counts as)
 * with bs the batch size, P the padded prompt width and S the batch's decode steps. The fit is written in the
 * cost-model file format (points interpolated piecewise-linearly, exact for this bilinear model inside the
 * grid) so `seqsch simulate --cost-model` replays the workload. It does not run models or read traces' origin.
 */
import type { TraceBatch } from './calls.js';
import type { CostModelFile } from './costmodel.js';
import { batchSeconds, type CostModel } from './costmodel.js';

/** The fields of a batch trace that calibration reads. */

export interface CostFit {
  /** step(bs, ctx) = stepBaseMs + stepPerRowMs·bs + stepPerRowTokenMs·bs·ctx */
  stepBaseMs: number;
  stepPerRowMs: number;
  stepPerRowTokenMs: number;
  /** prefill(bs, P) = prefillBaseMs + prefillPerTokenMs·bs·P */
  prefillBaseMs: number;
  prefillPerTokenMs: number;
}

export interface Calibration {
  fit: CostFit;
  /** batches fitted */
  batches: number;
  /** measured and fitted seconds summed over all batches */
  measuredSeconds: number;
  fittedSeconds: number;
  /** root mean square and max of |fitted − measured| / measured over batches */
  rmsRelError: number;
  maxRelError: number;
}

const FEATURES: (keyof CostFit)[] = [
  'stepBaseMs',
  'stepPerRowMs',
  'stepPerRowTokenMs',
  'prefillBaseMs',
  'prefillPerTokenMs',
];

/** The linear features of one batch, in FEATURES order: its ms = features · fit. */
function features(t: TraceBatch, defaultPrompt: number): number[] {
  const bs = t.size;
  const P = t.promptTokens ?? defaultPrompt;
  const S = t.decodeSteps;
  return [S, S * bs, bs * (S * P + (S * (S - 1)) / 2), 1, bs * P];
}

/** Solve the normal equations of columns `cols` (Gaussian elimination, partial pivoting); null if singular. */
function leastSquares(X: number[][], y: number[], cols: number[]): number[] | null {
  const k = cols.length;
  const A = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (let r = 0; r < X.length; r++) {
    for (let i = 0; i < k; i++) {
      const xi = X[r][cols[i]];
      for (let j = 0; j < k; j++) A[i][j] += xi * X[r][cols[j]];
      A[i][k] += xi * y[r];
    }
  }
  const scale = Math.max(...A.map((row, i) => Math.abs(row[i])), 1e-300);
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    if (Math.abs(A[p][c]) <= 1e-12 * scale) return null;
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let j = c; j <= k; j++) A[r][j] -= f * A[c][j];
    }
  }
  return A.map((row, i) => row[k] / row[i]);
}

/**
 * Non-negative least squares of y ≈ X·c, c ≥ 0, for a few columns: the best of the unconstrained fits on every
 * subset of columns whose coefficients are all ≥ 0 (exact NNLS for few unknowns: the NNLS optimum is the
 * unconstrained optimum on its own support). Columns are scaled to unit norm before solving. Null when every
 * subset is singular. Also used by the serving simulator's calibration (src/cost/calibrate-steps.ts).
 */
export function nonNegativeLeastSquares(raw: number[][], y: number[]): number[] | null {
  const k = raw[0]?.length ?? 0;
  const norms = Array.from({ length: k }, (_, j) => Math.sqrt(raw.reduce((s, r) => s + r[j] * r[j], 0)) || 1);
  const X = raw.map((r) => r.map((v, j) => v / norms[j]));
  let best: { coef: number[]; sse: number } | null = null;
  for (let mask = 1; mask < 1 << k; mask++) {
    const cols = norms.map((_, j) => j).filter((j) => mask & (1 << j));
    const sol = leastSquares(X, y, cols);
    if (!sol || sol.some((c) => c < 0)) continue;
    const coef = new Array<number>(k).fill(0);
    cols.forEach((j, i) => (coef[j] = sol[i]));
    const sse = X.reduce((s, r, n) => s + (r.reduce((a, v, j) => a + v * coef[j], 0) - y[n]) ** 2, 0);
    if (!best || sse < best.sse - 1e-12 * Math.max(1, best.sse)) best = { coef, sse };
  }
  return best ? best.coef.map((c, j) => c / norms[j]) : null;
}

/** Fit the five-feature cost model (NNLS) on a trace's batches. */
export function fitCostModel(trace: TraceBatch[], defaultPromptTokens = 64): Calibration {
  const rows = trace.filter((t) => t.size > 0 && t.decodeSteps > 0);
  if (rows.length === 0) throw new Error('calibrate: the trace has no batch with size > 0 and decode steps > 0');
  for (const [i, t] of rows.entries()) {
    if (!Number.isFinite(t.seconds) || t.seconds < 0)
      throw new Error(`calibrate: batch ${i} has seconds = ${t.seconds}`);
  }
  const coef = nonNegativeLeastSquares(
    rows.map((t) => features(t, defaultPromptTokens)),
    rows.map((t) => t.seconds * 1000),
  );
  if (!coef) throw new Error('calibrate: no non-negative fit (every subset of features is singular)');
  const fit = Object.fromEntries(FEATURES.map((f, j) => [f, coef[j]])) as unknown as CostFit;
  const cm = fittedCostModel(fit);
  const rel = rows.map((t) => {
    const s = batchSeconds(cm, t.size, t.promptTokens ?? defaultPromptTokens, t.decodeSteps);
    return t.seconds > 0 ? Math.abs(s - t.seconds) / t.seconds : 0;
  });
  return {
    fit,
    batches: rows.length,
    measuredSeconds: rows.reduce((s, t) => s + t.seconds, 0),
    fittedSeconds: replaySeconds(cm, rows, defaultPromptTokens),
    rmsRelError: Math.sqrt(rel.reduce((s, r) => s + r * r, 0) / rel.length),
    maxRelError: Math.max(...rel),
  };
}

/** The fitted formula as a CostModel (what the file's points interpolate). */
export function fittedCostModel(f: CostFit): CostModel {
  return {
    description: `calibrated: step ${f.stepBaseMs.toPrecision(4)} + ${f.stepPerRowMs.toPrecision(4)}·bs + ${f.stepPerRowTokenMs.toPrecision(4)}·bs·ctx ms, prefill ${f.prefillBaseMs.toPrecision(4)} + ${f.prefillPerTokenMs.toPrecision(4)}·bs·P ms`,
    stepMs: (bs, ctx) => f.stepBaseMs + f.stepPerRowMs * bs + f.stepPerRowTokenMs * bs * ctx,
    prefillMs: (bs, p) => f.prefillBaseMs + f.prefillPerTokenMs * bs * p,
  };
}

/** Seconds a cost model charges for the batches of a trace (the measured workload replayed). */
export function replaySeconds(cm: CostModel, trace: TraceBatch[], defaultPromptTokens = 64): number {
  return trace.reduce((s, t) => s + batchSeconds(cm, t.size, t.promptTokens ?? defaultPromptTokens, t.decodeSteps), 0);
}

/** Grid nodes of the written file; the model is bilinear, so interpolation between nodes is exact. */
const BATCH_NODES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];
const CONTEXT_NODES = [0, 64, 128, 256, 512, 1024, 2048, 4096, 16384];

/** The calibration in the cost-model file format (extra keys `fit` and `calibration` document where it came from). */
export function costModelFile(
  cal: Calibration,
  description: string,
): CostModelFile & { fit: CostFit; calibration: Omit<Calibration, 'fit'> } {
  const cm = fittedCostModel(cal.fit);
  const r = (x: number) => Number(x.toPrecision(8));
  const { fit, ...stats } = cal;
  return {
    description: `${description}; ${cm.description}`,
    points: BATCH_NODES.flatMap((bs) =>
      CONTEXT_NODES.map((ctx) => ({ batch_size: bs, context: ctx, ms_per_step: r(cm.stepMs(bs, ctx)) })),
    ),
    prefill: BATCH_NODES.flatMap((bs) =>
      CONTEXT_NODES.map((p) => ({ batch_size: bs, prompt_tokens: p, ms: r(cm.prefillMs(bs, p)) })),
    ),
    fit,
    calibration: stats,
  };
}
