/**
 * Metric arithmetic (the paper's Error / Acc-50 / Acc-100, inclusive bounds as upstream's `<= 50`), the
 * constant baselines, and the buckets head's soft labels and decode rules, on hand-computed cases.
 */
import { scorePredictions } from '../../src/scoring/evaluate.js';
import { constantBaselines, median } from '../../src/scoring/train-constants.js';
import { decodeBins, numBins, softLabel, type HeadConfig } from '../../src/scoring/heads.js';
import { decodeRuleProblem } from '../../src/scoring/kinds.js';

test('Error, Acc-50, Acc-100 by hand (boundaries 50 and 100 count as hits)', () => {
  // |errors| = 0, 50, 51, 100, 101 → mean 60.4; ≤50: 2 of 5; ≤100: 4 of 5
  const m = scorePredictions([10, 150, 49, 300, 0], [10, 100, 100, 200, 101]);
  expect(m).toEqual({ n: 5, error: 60.4, acc50: 0.4, acc100: 0.8 });
  expect(() => scorePredictions([1], [1, 2])).toThrow(/1 predictions for 2 targets/);
  expect(() => scorePredictions([NaN], [1])).toThrow(/prediction 0 is NaN/);
});

test('constant baselines: train median applied, best constants in hindsight', () => {
  expect(median([5, 1, 3, 2])).toBe(2); // lower median
  const target = [0, 0, 0, 300];
  const c = constantBaselines([100, 200, 300], target, 400);
  expect(c.trainMedian.value).toBe(200);
  expect(c.trainMedian.metrics.error).toBe((200 * 3 + 100) / 4);
  expect(c.oracle.error.value).toBe(0); // any c in [0, 300] ties at 75; the smallest is kept
  expect(c.oracle.error.metrics.error).toBe(75);
  expect(c.oracle.acc50.metrics.acc50).toBe(0.75); // c ≤ 50 covers the three zeros
  expect(c.oracle.acc100.metrics.acc100).toBe(0.75);
});

const head: HeadConfig = { kind: 'buckets', maxLength: 512, cell: 16, sigma: 16, decode: 'median' };

test('soft labels: one-hot bin for sigma 0, Gaussian mass summing to 1 and peaking at the target bin', () => {
  expect(numBins(head)).toBe(33); // bins [0,16) … [512, 528): 512 has its own bin
  const hard = softLabel({ ...head, sigma: 0 }, 100);
  expect(hard[6]).toBe(1); // 100 ∈ [96, 112)
  expect(hard.reduce((a, b) => a + b, 0)).toBe(1);
  const soft = softLabel(head, 100);
  expect(soft.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  expect(soft.indexOf(Math.max(...soft))).toBe(6);
  expect(soft[5]).toBeCloseTo(soft[7] * Math.exp((-0.5 * ((88 - 100) ** 2 - (120 - 100) ** 2)) / 256), 6); // centres 88, 120
});

test('decode rules on hand-made distributions', () => {
  const p = new Array(33).fill(0);
  p[2] = 0.5; // [32, 48)
  p[20] = 0.5; // [320, 336)
  expect(decodeBins(head, p, 'mean')).toBeCloseTo(0.5 * 40 + 0.5 * 328, 9);
  expect(decodeBins(head, p, 'median')).toBeCloseTo(48, 9); // the cdf reaches 0.5 at the top of bin 2
  // a ±50 window holds only one of the two bins (mass 0.5 either way); ties go to the smallest c, and c = 0's
  // window [−50, 51) already covers all of [32, 48)
  expect(decodeBins(head, p, 'window50')).toBe(0);
  const q = new Array(33).fill(0);
  q[10] = 0.4; // [160, 176)
  q[16] = 0.3; // [256, 272)
  q[30] = 0.3; // [480, 496)
  // ±100 covers bins 10 and 16 together (0.7) for c ∈ [171, 260]; the smallest such c wins ties
  expect(decodeBins(head, q, 'window100')).toBe(171);
  // ±50: all of bin 10 plus as much of bin 16 as reachable: c = 210, window [160, 261), mass 0.4 + 0.3·5/16
  expect(decodeBins(head, q, 'window50')).toBe(210);
  // buckets of 50: bin 10 = 160…175 → buckets (150, 200]; bin 16 = 256…271 → (250, 300]; bin 30 = 480…495 → (450, 500]
  expect(decodeBins(head, q, 'bucket50')).toBe(200);
  const r = new Array(33).fill(0);
  r[3] = 0.45; // [48, 64): 48…50 (3/16) in bucket 50, 51…63 (13/16) in bucket 100
  r[5] = 0.55; // [80, 96): all in bucket 100 — 0.45·13/16 + 0.55 beats 0.45·3/16
  expect(decodeBins(head, r, 'bucket50')).toBe(100);
  const t = new Array(33).fill(0);
  t[0] = 1; // [0, 16): 0 in bucket 0 (1/16), 1…15 in bucket 50
  expect(decodeBins(head, t, 'bucket50')).toBe(50);
  // quantiles, density uniform within a bin: q's cdf is 0.4 at the top of bin 10 (176) and 0.7 at the top of bin 16
  expect(decodeBins(head, q, 'q0.2')).toBeCloseTo(168, 9); // halfway through bin 10
  expect(decodeBins(head, q, 'q0.4')).toBeCloseTo(176, 9);
  expect(decodeBins(head, q, 'q0.55')).toBeCloseTo(264, 9); // 0.15 of bin 16's 0.3: halfway through [256, 272)
  expect(decodeBins(head, q, 'q0.9')).toBeCloseTo(480 + (0.2 / 0.3) * 16, 9);
  // q0.5 is the median, bit for bit
  for (const d of [p, q, r, t]) expect(decodeBins(head, d, 'q0.5')).toBe(decodeBins(head, d, 'median'));
  expect(() => decodeBins(head, q, 'mode' as never)).toThrow('decode rule "mode" is not one of');
});

test('decode rule names: the named rules and q<p> with 0 < p < 1, anything else named in the error', () => {
  for (const ok of ['median', 'bucket50', 'q0.4', 'q.25', 'q0.999']) expect(decodeRuleProblem(ok)).toBeUndefined();
  for (const bad of ['q0', 'q1', 'q1.5', 'q-0.2', 'q', 'quantile', 'Median', 'q0.4x'])
    expect(decodeRuleProblem(bad)).toMatch(new RegExp(`"${bad.replace('.', '\\.')}" is not one of`));
});
