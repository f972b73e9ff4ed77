/**
 * The constant predictors a trained proxy predictor must beat, scored with the paper's Error / Acc-50 / Acc-100
 * (evaluate.ts): the train split's median L_max applied to the evaluated set (the honest constant), and the best
 * integer constant in hindsight per metric, searched over 0..maxLength. (evaluate.ts's constantBaselines finds the
 * same optima on the evaluated set by a window search; this brute-force search keeps the proxy's reported
 * constants as they were.) No model here.
 */
import { scorePredictions, type PerceptionScore } from './evaluate.js';

/** Lower median of a list (the constant that minimises the mean absolute error over it). */
export function median(xs: ArrayLike<number>): number {
  if (xs.length === 0) throw new Error('median: empty list');
  const s = Array.from(xs).sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}

export interface TrainConstantBaselines {
  /** the train median L_max, applied to the evaluated set: the honest constant predictor */
  trainMedian: { value: number; metrics: PerceptionScore };
  /** the best constant in hindsight on the evaluated set itself, per metric (an upper bound for any constant) */
  oracle: {
    error: { value: number; metrics: PerceptionScore };
    acc50: { value: number; metrics: PerceptionScore };
    acc100: { value: number; metrics: PerceptionScore };
  };
}

/** Constant predictors on `target`: the train median, and the best integer constant in 0..maxLength per metric. */
export function constantBaselines(
  trainTargets: ArrayLike<number>,
  target: ArrayLike<number>,
  maxLength = 512,
): TrainConstantBaselines {
  const at = (c: number) =>
    scorePredictions(
      Array.from(target, () => c),
      target,
    );
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
  return {
    trainMedian: { value: trainValue, metrics: at(trainValue) },
    oracle: { error: bestErr, acc50: best50, acc100: best100 },
  };
}
