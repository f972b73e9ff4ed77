/**
 * Eval arithmetic on hand-made cases (upstream eval.py: Error = mean |pred − L_max|, Acc-k = share with
 * |pred − L_max| ≤ k), and the best constant predictors checked against a brute-force search over every
 * integer constant.
 */
import { bucketOracle, constantBaselines, pearson, scorePredictions } from '../../src/scoring/evaluate.js';

test('Error, Acc-50 and Acc-100 by hand', () => {
  // |d| = 0, 50, 51, 100, 101
  const s = scorePredictions([100, 150, 49, 0, 300], [100, 100, 100, 100, 100 + 99 + 102]);
  expect(s.n).toBe(5);
  expect(s.error).toBeCloseTo((0 + 50 + 51 + 100 + 1) / 5, 12);
  // 300 vs 301: |d| = 1
  expect(s.acc50).toBeCloseTo(3 / 5, 12); // 0, 50, 1
  expect(s.acc100).toBeCloseTo(5 / 5, 12);
  expect(scorePredictions([0], [101])).toEqual({ n: 1, error: 101, acc50: 0, acc100: 0 });
  expect(() => scorePredictions([1, 2], [1])).toThrow(/2 predictions for 1/);
});

test('constant baselines: median for Error; window constants for Acc-50/Acc-100 (hand case)', () => {
  const L = [10, 20, 30, 200, 210, 220, 230, 500];
  const b = constantBaselines(L);
  expect(b.minError.constant).toBe(200); // lower median of 8 values (any c in [200, 210] is as good)
  expect(b.minError.error).toBeCloseTo((190 + 180 + 170 + 0 + 10 + 20 + 30 + 300) / 8, 12);
  expect(b.maxAcc50.acc50).toBe(4 / 8); // 200..230 in one ±50 window
  expect(b.maxAcc50.constant).toBe(215);
  expect(b.maxAcc100.acc100).toBe(5 / 8); // 10..210 spans exactly 200
  expect(b.maxAcc100.constant).toBe(110);
});

test('constant baselines equal a brute-force search over every integer constant', () => {
  let x = 12345;
  const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let trial = 0; trial < 20; trial++) {
    const L = Array.from({ length: 1 + Math.floor(rand() * 60) }, () => Math.floor(rand() ** 2 * 400));
    const b = constantBaselines(L);
    let bestErr = Infinity;
    let best50 = 0;
    let best100 = 0;
    for (let c = -120; c <= 520; c++) {
      const s = scorePredictions(
        L.map(() => c),
        L,
      );
      bestErr = Math.min(bestErr, s.error);
      best50 = Math.max(best50, s.acc50);
      best100 = Math.max(best100, s.acc100);
    }
    expect(b.minError.error).toBeCloseTo(bestErr, 9);
    expect(b.maxAcc50.acc50).toBe(best50);
    expect(b.maxAcc100.acc100).toBe(best100);
  }
});

test('pearson: exact on a linear relation, −1 reversed, matches the textbook value on a small case', () => {
  expect(pearson([1, 2, 3, 4], [3, 5, 7, 9])).toBeCloseTo(1, 12);
  expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
  // x = 1..5, y = [2, 4, 5, 4, 5]: r = 6 / sqrt(10 · 6) = 0.7745966692
  expect(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(0.7745966692, 9);
});

test('bucket oracle: Error of predicting buckit(L_max) exactly (the construct target)', () => {
  // 1 → 50 (49), 50 → 50 (0), 51 → 100 (49), 120 → 150 (30)
  expect(bucketOracle([1, 50, 51, 120])).toEqual({ n: 4, error: (49 + 0 + 49 + 30) / 4, acc50: 1, acc100: 1 });
  expect(bucketOracle([1, 50, 51, 120], 10).error).toBeCloseTo((9 + 0 + 9 + 0) / 4, 12);
});
