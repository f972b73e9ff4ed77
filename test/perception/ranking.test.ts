/**
 * Ranking metrics against references: hand-worked small cases with ties, and scipy.stats (kendalltau variant b,
 * spearmanr, rankdata 'average') on seeded bucketed series computed once into test/fixtures/ranking-scipy.json
 * by test/perception/ranking-reference.py.
 */
import { readFileSync } from 'node:fs';
import {
  averageRanks,
  kendallTauB,
  meanAbsoluteError,
  pairAccuracy,
  predictorCells,
  predictorRecord,
  predictorScore,
  scoreFromRecord,
  spearmanRho,
} from '../../src/scoring/ranking.js';

interface Case {
  n: number;
  predicted: number[];
  real: number[];
  kendall_tau_b: number;
  spearman_rho: number;
  ranks_predicted: number[];
}
const fixture = JSON.parse(readFileSync('test/fixtures/ranking-scipy.json', 'utf8')) as { cases: Case[] };

test('Kendall τ-b, Spearman ρ and the ≥ 50 pair share by hand, ties included', () => {
  expect(kendallTauB([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(4 / 6, 14); // 5 concordant, 1 discordant, no ties
  // x ties (0,1), y ties (1,2): s = 4 of n0 = 6 pairs, τ-b = 4 / √((6 − 1)(6 − 1))
  expect(kendallTauB([1, 1, 2, 3], [1, 2, 2, 3])).toBeCloseTo(0.8, 14);
  // average ranks [1.5, 1.5, 3, 4] and [1, 2.5, 2.5, 4]: Pearson = 3.75 / 4.5
  expect(Array.from(averageRanks([1, 1, 2, 3]))).toEqual([1.5, 1.5, 3, 4]);
  expect(spearmanRho([1, 1, 2, 3], [1, 2, 2, 3])).toBeCloseTo(3.75 / 4.5, 14);
  // real gaps ≥ 50: (0,1) predicted tie → ½, (0,3), (1,3), (2,3) right; (0,2) and (1,2) are closer than 50
  expect(pairAccuracy([50, 50, 100, 150], [20, 80, 60, 200])).toEqual({ share: 3.5 / 4, pairs: 4 });
  expect(pairAccuracy([3, 2, 1], [0, 100, 200]).share).toBe(0); // every pair reversed
  // a strictly monotone map orders perfectly; a constant orders nothing (undefined, as scipy's nan)
  expect(kendallTauB([10, 20, 30], [1, 5, 100])).toBe(1);
  expect(spearmanRho([10, 20, 30], [100, 5, 1])).toBeCloseTo(-1, 14);
  expect(kendallTauB([7, 7, 7], [1, 2, 3])).toBeNaN();
  expect(spearmanRho([7, 7, 7], [1, 2, 3])).toBeNaN();
  expect(meanAbsoluteError([1, 5], [2, 2])).toBe(2);
  expect(() => kendallTauB([1, 2], [1])).toThrow(/lengths 2 and 1/);
  expect(() => spearmanRho([1, NaN], [1, 2])).toThrow(/not finite/);
});

test.each(fixture.cases.map((c) => [c.n, c] as const))('matches scipy.stats on %i bucketed predictions', (_n, c) => {
  // float64 sums of integers and one square root: agreement to ~1e-12 (tolerance 1e-10)
  expect(Math.abs(kendallTauB(c.predicted, c.real) - c.kendall_tau_b)).toBeLessThan(1e-10);
  expect(Math.abs(spearmanRho(c.predicted, c.real) - c.spearman_rho)).toBeLessThan(1e-10);
  expect(Array.from(averageRanks(c.predicted))).toEqual(c.ranks_predicted);
});

test('predictorScore: the paper figures against L_max, the ranking view against L_t0.0, and the record round trip', () => {
  const pred = [50, 100, 100, 200];
  const lMax = [40, 120, 90, 260];
  const lT0 = [30, 110, 80, 250];
  const s = predictorScore(pred, lMax, lT0);
  expect(s.error).toBeCloseTo((10 + 20 + 10 + 60) / 4, 12);
  expect(s.acc50).toBe(0.75);
  expect(s.maeT0).toBeCloseTo((20 + 10 + 20 + 50) / 4, 12);
  expect(s.tauT0).toBeCloseTo(kendallTauB(pred, lT0), 14);
  expect(s.tauMax).toBeCloseTo(kendallTauB(pred, lMax), 14);
  const back = scoreFromRecord(predictorRecord(s, 'x_'), 'x_');
  expect(back.tauT0).toBe(s.tauT0);
  expect(predictorCells(back).slice(0, 3)).toEqual(['25.0', '75.0%', '100.0%']);
  expect(predictorCells({ error: 5, tauT0: NaN })[4]).toBe('—');
});
