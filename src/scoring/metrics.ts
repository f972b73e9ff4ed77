/**
 * The paper's length-perception metrics (Table 1): Error = mean |predicted − L_max| in tokens, Acc-50 and
 * Acc-100 = share of queries whose prediction is within 50 / 100 tokens of L_max (inclusive, as upstream's
 * `abs(pred - gt) <= 50`). Also the constant predictors a learned predictor must beat. No model here.
 */

export interface LengthMetrics {
  n: number;
  /** mean absolute error, tokens */
  error: number;
  /** fractions in [0, 1] */
  acc50: number;
  acc100: number;
}

export function lengthMetrics(predicted: ArrayLike<number>, target: ArrayLike<number>): LengthMetrics {
  if (predicted.length !== target.length) throw new Error(`lengthMetrics: ${predicted.length} predictions for ${target.length} targets`);
  if (target.length === 0) throw new Error('lengthMetrics: no queries');
  let abs = 0;
  let in50 = 0;
  let in100 = 0;
  for (let i = 0; i < target.length; i++) {
    const e = Math.abs(predicted[i] - target[i]);
    if (!Number.isFinite(e)) throw new Error(`lengthMetrics: prediction ${i} is ${predicted[i]}, target ${target[i]}`);
    abs += e;
    if (e <= 50) in50++;
    if (e <= 100) in100++;
  }
  const n = target.length;
  return { n, error: abs / n, acc50: in50 / n, acc100: in100 / n };
}

/** Lower median of a list (the constant that minimises the mean absolute error over it). */
export function median(xs: ArrayLike<number>): number {
  if (xs.length === 0) throw new Error('median: empty list');
  const s = Array.from(xs).sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}

export interface ConstantBaselines {
  /** the train median L_max, applied to the evaluated set: the honest constant predictor */
  trainMedian: { value: number; metrics: LengthMetrics };
  /** the best constant in hindsight on the evaluated set itself, per metric (an upper bound for any constant) */
  oracle: { error: { value: number; metrics: LengthMetrics }; acc50: { value: number; metrics: LengthMetrics }; acc100: { value: number; metrics: LengthMetrics } };
}

/** Constant predictors on `target`: the train median, and the best integer constant in 0..maxLength per metric. */
export function constantBaselines(trainTargets: ArrayLike<number>, target: ArrayLike<number>, maxLength = 512): ConstantBaselines {
  const at = (c: number) => lengthMetrics(Array.from(target, () => c), target);
  const trainValue = median(trainTargets);
  let bestErr = { value: 0, metrics: at(0) };
  let best50 = bestErr;
  let best100 = bestErr;
  for (let c = 1; c <= maxLength; c++) {
    const m = at(c);
    if (m.error < bestErr.metrics.error) bestErr = { value: c, metrics: m };
    if (m.acc50 > best50.metrics.acc50) best50 = { value: c, metrics: m };
    if (m.acc100 > best100.metrics.acc100) best100 = { value: c, metrics: m };
  }
  return { trainMedian: { value: trainValue, metrics: at(trainValue) }, oracle: { error: bestErr, acc50: best50, acc100: best100 } };
}
