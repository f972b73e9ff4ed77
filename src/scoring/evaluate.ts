/**
 * Scoring of length predictions against L_max (upstream src/eval.py): Error = mean |predicted − L_max|,
 * Acc-50 / Acc-100 = share of queries with |predicted − L_max| ≤ 50 / ≤ 100 tokens. Beside them, the best
 * constant predictors on the same set — what a predictor must beat to have learned anything: the constant
 * with the least Error (a median of L_max) and the constants with the highest Acc-50 and Acc-100. Running the
 * model is model-predictors.ts's job; this module only does arithmetic.
 */
import { buckit } from '../scheduling/buckets.js';

/** The paper's figures for the Vicuna-7B LoRA predictor on 1000 Alpaca val queries (Table 2). */
export const PAPER_PERCEPTION = { error: 62, acc50: 0.59, acc100: 0.81 } as const;

export interface PerceptionScore {
  n: number;
  /** mean |predicted − L_max| (tokens) */
  error: number;
  /** share with |predicted − L_max| ≤ 50 */
  acc50: number;
  /** share with |predicted − L_max| ≤ 100 */
  acc100: number;
}

export interface ConstantBaselines {
  /** the constant with the least Error: the lower median of L_max (every value between the two middle ones is as good) */
  minError: { constant: number } & PerceptionScore;
  /** a constant with the highest Acc-50 */
  maxAcc50: { constant: number } & PerceptionScore;
  /** a constant with the highest Acc-100 */
  maxAcc100: { constant: number } & PerceptionScore;
}

/** Error / Acc-50 / Acc-100 of predictions against targets (same order). */
export function scorePredictions(predicted: ArrayLike<number>, lMax: ArrayLike<number>): PerceptionScore {
  if (predicted.length !== lMax.length)
    throw new Error(`scorePredictions: ${predicted.length} predictions for ${lMax.length} targets`);
  const n = lMax.length;
  if (n === 0) throw new Error('scorePredictions: no queries to score');
  let sum = 0;
  let a50 = 0;
  let a100 = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(predicted[i] - lMax[i]);
    if (!Number.isFinite(d)) throw new Error(`scorePredictions: prediction ${i} is ${predicted[i]}, target ${lMax[i]}`);
    sum += d;
    if (d <= 50) a50++;
    if (d <= 100) a100++;
  }
  return { n, error: sum / n, acc50: a50 / n, acc100: a100 / n };
}

/**
 * An integer c with the most targets in [c − tol, c + tol]. Sliding an optimal window right until its left
 * edge meets a target loses none, so only windows [L, L + 2·tol] starting at a target L need counting (two
 * pointers over the sorted targets). Of equally good windows the first (lowest) is taken, and c is the middle
 * of the targets it covers (any c in [last − tol, first + tol] covers the same ones).
 */
function bestWindowConstant(sorted: number[], tol: number): number {
  let best = { lo: 0, hi: 0 };
  let hi = 0;
  for (let lo = 0; lo < sorted.length; lo++) {
    if (lo > 0 && sorted[lo] === sorted[lo - 1]) continue;
    while (hi < sorted.length && sorted[hi] <= sorted[lo] + 2 * tol) hi++;
    if (hi - lo > best.hi - best.lo) best = { lo, hi };
  }
  return Math.floor((sorted[best.lo] + sorted[best.hi - 1]) / 2);
}

/** The best constant predictors for these targets, each scored on all three measures. */
export function constantBaselines(lMax: number[]): ConstantBaselines {
  if (lMax.length === 0) throw new Error('constantBaselines: no targets');
  const sorted = [...lMax].sort((a, b) => a - b);
  const scored = (c: number) => ({
    constant: c,
    ...scorePredictions(
      lMax.map(() => c),
      lMax,
    ),
  });
  return {
    minError: scored(sorted[Math.floor((sorted.length - 1) / 2)]),
    maxAcc50: scored(bestWindowConstant(sorted, 50)),
    maxAcc100: scored(bestWindowConstant(sorted, 100)),
  };
}

/**
 * The score of the bucket oracle: predicting buckit(L_max, cell) exactly, i.e. the construct target itself. A
 * predictor tuned on bucketed targets cannot beat its Error (it rounds every length up, by cell/2 on average
 * and by up to cell − 1), so it is the floor to read a predictor's Error against.
 */
export function bucketOracle(lMax: number[], cell = 50): PerceptionScore {
  return scorePredictions(
    lMax.map((l) => buckit(l, cell)),
    lMax,
  );
}

/** Pearson correlation of two equally long series (NaN when either is constant). */
export function pearson(x: number[], y: number[]): number {
  if (x.length !== y.length || x.length === 0)
    throw new Error(`pearson: series of lengths ${x.length} and ${y.length}`);
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
