/**
 * Length predictors judged as a scheduler uses them: as a *ranking* of the queries (Fu et al. 2024 show Kendall τ,
 * not absolute error, decides the latency a length-aware scheduler reaches). Beside the paper's Error / Acc-50 /
 * Acc-100 against L_max (evaluate.ts, kept exactly as upstream computes them) this module gives:
 *  - Kendall τ-b between predicted and real lengths. The b variant because both sides are heavily tied: the LoRA
 *    predictor answers multiples of 50, a constant ties everything, recorded lengths repeat. τ-a divides by all
 *    n(n−1)/2 pairs and so punishes a predictor for ties it cannot break; τ-b divides by the geometric mean of the
 *    pairs untied in each variable (scipy.stats.kendalltau's default), so τ-b = 1 for any strictly monotone map
 *    and is undefined (NaN) for a constant predictor, which orders nothing.
 *  - Spearman ρ: Pearson correlation of the ranks, tied values given their average rank (scipy.stats.spearmanr).
 *  - the mean absolute error against one sample, L_t0.0 (greedy: the answer the benchmark's engine generates),
 *    beside the paper's Error, which is against the max over four temperatures.
 *  - the share of pairs ordered correctly among pairs whose real lengths differ by ≥ 50 tokens (the pairs a
 *    scheduler must not swap; a tie in the prediction counts as half right, as a coin flip would order it).
 * Pairwise statistics are O(n²) (10k queries: 50M pairs, well under a second); no model runs here.
 */
import { pearson, scorePredictions, type PerceptionScore } from './evaluate.js';

/** The real-length gap from which a pair counts for `pairAccuracy` (tokens). */
export const PAIR_GAP = 50;

function checkSeries(name: string, x: ArrayLike<number>, y: ArrayLike<number>): void {
  if (x.length !== y.length) throw new Error(`${name}: series of lengths ${x.length} and ${y.length}`);
  if (x.length < 2) throw new Error(`${name}: needs at least 2 values, got ${x.length}`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i]))
      throw new Error(`${name}: value ${i} is not finite (${x[i]}, ${y[i]})`);
  }
}

/**
 * Kendall's τ_b of two paired series (ties in either corrected, as scipy.stats.kendalltau's default), in
 * O(n log n) by Knight's method: sort by (x, y), count the discordant pairs as the swaps a merge sort of y makes.
 * = (concordant − discordant) / √((n₀ − n₁)(n₀ − n₂)); NaN when either series is constant.
 */
export function kendallTauB(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  checkSeries('kendallTauB', xs, ys);
  const n = xs.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => xs[a] - xs[b] || ys[a] - ys[b]);
  const x = order.map((i) => xs[i]);
  let y = order.map((i) => ys[i]);
  /** pairs tied within runs of equal keys: Σ t(t−1)/2 */
  const tiePairs = (same: (i: number) => boolean) => {
    let pairs = 0;
    let run = 1;
    for (let i = 1; i <= n; i++) {
      if (i < n && same(i)) run++;
      else {
        pairs += (run * (run - 1)) / 2;
        run = 1;
      }
    }
    return pairs;
  };
  const xTies = tiePairs((i) => x[i] === x[i - 1]);
  const jointTies = tiePairs((i) => x[i] === x[i - 1] && y[i] === y[i - 1]);
  // bottom-up merge sort of y; a pair (i < j) with y[i] > y[j] is discordant (x[i] ≤ x[j]; joint ties excluded)
  let swaps = 0;
  let buf = new Array<number>(n);
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let [i, j, k] = [lo, mid, lo];
      while (i < mid && j < hi) {
        if (y[i] <= y[j]) buf[k++] = y[i++];
        else {
          swaps += mid - i;
          buf[k++] = y[j++];
        }
      }
      while (i < mid) buf[k++] = y[i++];
      while (j < hi) buf[k++] = y[j++];
    }
    [y, buf] = [buf, y];
  }
  const yTies = tiePairs((i) => y[i] === y[i - 1]); // y is sorted now
  const total = (n * (n - 1)) / 2;
  const denom = Math.sqrt((total - xTies) * (total - yTies));
  return denom > 0 ? (total - xTies - yTies + jointTies - 2 * swaps) / denom : NaN;
}

/** Ranks 1..n, tied values sharing their average rank (scipy.stats.rankdata's 'average'). */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && x[order[j]] === x[order[i]]) j++;
    const r = (i + 1 + j) / 2; // mean of ranks i+1 … j
    for (let k = i; k < j; k++) ranks[order[k]] = r;
    i = j;
  }
  return ranks;
}

/** Spearman ρ: Pearson of the average ranks. */
export function spearmanRho(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkSeries('spearmanRho', x, y);
  return pearson(Array.from(averageRanks(x)), Array.from(averageRanks(y)));
}

/**
 * Among pairs whose real lengths differ by at least `gap`, the share the prediction orders the same way (a
 * prediction tie counts ½); `pairs` is how many such pairs there are (share NaN when none).
 */
export function pairAccuracy(
  predicted: ArrayLike<number>,
  real: ArrayLike<number>,
  gap = PAIR_GAP,
): { share: number; pairs: number } {
  checkSeries('pairAccuracy', predicted, real);
  const n = real.length;
  let pairs = 0;
  let right = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dr = real[j] - real[i];
      if (Math.abs(dr) < gap) continue;
      pairs++;
      const s = Math.sign(predicted[j] - predicted[i]) * Math.sign(dr);
      right += s > 0 ? 1 : s === 0 ? 0.5 : 0;
    }
  }
  return { share: pairs ? right / pairs : NaN, pairs };
}

/** Mean |predicted − target| (tokens). */
export function meanAbsoluteError(predicted: ArrayLike<number>, target: ArrayLike<number>): number {
  checkSeries('meanAbsoluteError', predicted, target);
  let s = 0;
  for (let i = 0; i < target.length; i++) s += Math.abs(predicted[i] - target[i]);
  return s / target.length;
}

/** Every figure a predictor table shows: the paper's three against L_max, then the ranking view. */
export interface PredictorScore extends PerceptionScore {
  /** mean |predicted − L_t0.0| */
  maeT0: number;
  /** Kendall τ-b and Spearman ρ against L_t0.0 and against L_max */
  tauT0: number;
  rhoT0: number;
  tauMax: number;
  rhoMax: number;
  /** share of pairs with |ΔL_t0.0| ≥ PAIR_GAP ordered correctly */
  pairsT0: number;
}

/** Score predictions against L_max (paper) and L_t0.0 (ranking, single-sample MAE), all in the same order. */
export function predictorScore(
  predicted: ArrayLike<number>,
  lMax: ArrayLike<number>,
  lT0: ArrayLike<number>,
): PredictorScore {
  const paper = scorePredictions(Array.from(predicted), Array.from(lMax));
  if (lT0.length !== lMax.length)
    throw new Error(`predictorScore: ${lMax.length} L_max values but ${lT0.length} L_t0.0 values`);
  return {
    ...paper,
    maeT0: meanAbsoluteError(predicted, lT0),
    tauT0: kendallTauB(predicted, lT0),
    rhoT0: spearmanRho(predicted, lT0),
    tauMax: kendallTauB(predicted, lMax),
    rhoMax: spearmanRho(predicted, lMax),
    pairsT0: pairAccuracy(predicted, lT0).share,
  };
}

/** The record keys of a PredictorScore as experiment stages write them (flat, snake case). */
export function predictorRecord(s: PredictorScore, prefix = ''): Record<string, number> {
  return {
    [`${prefix}error`]: s.error,
    [`${prefix}acc50`]: s.acc50,
    [`${prefix}acc100`]: s.acc100,
    [`${prefix}mae_t0`]: s.maeT0,
    [`${prefix}tau_t0`]: s.tauT0,
    [`${prefix}rho_t0`]: s.rhoT0,
    [`${prefix}tau_max`]: s.tauMax,
    [`${prefix}rho_max`]: s.rhoMax,
    [`${prefix}pairs50_t0`]: s.pairsT0,
  };
}

/** Column heads of a predictor table, in the order `predictorCells` fills them. */
export const PREDICTOR_COLUMNS = [
  'Error',
  'Acc-50',
  'Acc-100',
  'MAE (L_t0.0)',
  'τ (L_t0.0)',
  'ρ (L_t0.0)',
  'τ (L_max)',
  'ρ (L_max)',
  'pairs ≥ 50 (L_t0.0)',
];

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
const fix = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '—');

/** The cells of one predictor row (— where undefined: τ and ρ of a constant). */
export function predictorCells(s: Partial<Record<keyof PredictorScore, number | null>>): string[] {
  const v = (k: keyof PredictorScore) => (typeof s[k] === 'number' ? (s[k] as number) : NaN);
  return [
    fix(v('error'), 1),
    pct(v('acc50')),
    pct(v('acc100')),
    fix(v('maeT0'), 1),
    fix(v('tauT0'), 3),
    fix(v('rhoT0'), 3),
    fix(v('tauMax'), 3),
    fix(v('rhoMax'), 3),
    pct(v('pairsT0')),
  ];
}

/** A PredictorScore back from a flat record written by predictorRecord (missing keys stay undefined). */
export function scoreFromRecord(
  r: Record<string, unknown>,
  prefix = '',
): Partial<Record<keyof PredictorScore, number | null>> {
  const g = (k: string) => (typeof r[prefix + k] === 'number' ? (r[prefix + k] as number) : null);
  return {
    error: g('error'),
    acc50: g('acc50'),
    acc100: g('acc100'),
    maeT0: g('mae_t0'),
    tauT0: g('tau_t0'),
    rhoT0: g('rho_t0'),
    tauMax: g('tau_max'),
    rhoMax: g('rho_max'),
    pairsT0: g('pairs50_t0'),
  };
}

/** A markdown predictor table: label column(s), then PREDICTOR_COLUMNS. */
export function predictorTable(
  lead: string[],
  rows: { lead: string[]; score: Partial<Record<keyof PredictorScore, number | null>> }[],
): string {
  const head = [...lead, ...PREDICTOR_COLUMNS];
  return (
    [
      `| ${head.join(' | ')} |`,
      `|${head.map((_, i) => (i < lead.length ? ' --- ' : ' ---: ')).join('|')}|`,
      ...rows.map((r) => `| ${[...r.lead, ...predictorCells(r.score)].join(' | ')} |`),
    ].join('\n') + '\n'
  );
}
