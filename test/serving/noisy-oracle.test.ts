/**
 * The noisy oracle (predictors.ts: the oracle degraded to a target Kendall τ by seeded log-normal noise) and the
 * fairness metrics (metrics.ts): Kendall τ_b against scipy's values and a brute-force count, max wait, the share
 * of requests slowed more than 2× against a baseline run, and the option's check across keys.
 */
import seedrandom from 'seedrandom';
import type { BenchItem } from '../../src/core/query.js';
import { noisyOraclePredictor } from '../../src/serving/predictors.js';
import {
  arrivedRecord,
  kendallTau,
  servingMetrics,
  slowdownShare,
  type RequestRecord,
} from '../../src/serving/metrics.js';
import { serveConfigProblem } from '../../src/serving/options.js';

/** τ_b by counting every pair (the definition), for checking the O(n log n) count. */
function bruteTau(x: number[], y: number[]): number {
  let [c, d, tx, ty] = [0, 0, 0, 0];
  for (let i = 0; i < x.length; i++)
    for (let j = i + 1; j < x.length; j++) {
      const s = Math.sign(x[i] - x[j]) * Math.sign(y[i] - y[j]);
      if (s > 0) c++;
      else if (s < 0) d++;
      else if (x[i] === x[j] && y[i] !== y[j]) tx++;
      else if (y[i] === y[j] && x[i] !== x[j]) ty++;
    }
  return (c - d) / Math.sqrt((c + d + tx) * (c + d + ty));
}

/** n requests with log-normal true lengths rounded to integers (many ties among the short ones, as in traces). */
function workload(n: number, seed = 'w'): BenchItem[] {
  const rng = seedrandom(seed);
  return Array.from({ length: n }, (_, index) => {
    const z = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    return {
      id: `trace-${index}`,
      index,
      prompt: '',
      realLengths: { 'L_t0.0': Math.max(2, Math.round(120 * Math.exp(1.1 * z))) },
    };
  });
}

describe('kendallTau', () => {
  it('matches scipy.stats.kendalltau (τ_b) with ties in both series', () => {
    // scipy 1.x: kendalltau([12,2,1,12,2],[1,4,7,1,0]) (its docs' example) and a second computed with it
    expect(kendallTau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])).toBeCloseTo(-0.47140452079103173, 12);
    expect(kendallTau([1, 2, 2, 3, 4, 4, 5], [2, 1, 3, 3, 5, 4, 4])).toBeCloseTo(0.6842105263157894, 12);
  });
  it('equals the pair count on random series with ties', () => {
    const rng = seedrandom('tau');
    for (const n of [6, 17, 200, 1000]) {
      const x = Array.from({ length: n }, () => Math.floor(rng() * 8));
      const y = Array.from({ length: n }, (_, i) => x[i] + Math.floor(rng() * 6));
      expect(kendallTau(x, y)).toBeCloseTo(bruteTau(x, y), 12);
    }
  });
  it('is NaN for a constant series or fewer than two points', () => {
    expect(kendallTau([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(kendallTau([1], [1])).toBeNaN();
  });
});

describe('noisyOraclePredictor', () => {
  const items = workload(3000);
  const truth = items.map((it) => it.realLengths!['L_t0.0']);

  it.each([0.6, 0.8])('reaches Kendall τ %s within ±0.01 on the workload it was calibrated on', async (tau) => {
    const p = noisyOraclePredictor(items, { tau, seed: 42 });
    const { lengths } = await p.predict(items);
    const achieved = kendallTau(truth, lengths);
    expect(Math.abs(achieved - tau)).toBeLessThanOrEqual(0.01);
    expect(achieved).toBeCloseTo(p.fit.tau, 12);
    expect(p.fit.sigma).toBeGreaterThan(0);
    // predictions stay positive: a ratio error on the true length
    expect(Math.min(...lengths)).toBeGreaterThan(0);
  });

  it('needs more noise for a lower τ', () => {
    expect(noisyOraclePredictor(items, { tau: 0.6, seed: 42 }).fit.sigma).toBeGreaterThan(
      noisyOraclePredictor(items, { tau: 0.8, seed: 42 }).fit.sigma,
    );
  });

  it('is seeded: same seed, same predictions in any order and batch; another seed, other noise', async () => {
    const a = noisyOraclePredictor(items, { tau: 0.7, seed: 1 });
    const b = noisyOraclePredictor(items, { tau: 0.7, seed: 1 });
    const c = noisyOraclePredictor(items, { tau: 0.7, seed: 2 });
    const all = (await a.predict(items)).lengths;
    expect((await b.predict(items)).lengths).toEqual(all);
    // the last 10 requests predicted alone and backwards get the same numbers
    const tail = items.slice(-10).reverse();
    expect((await b.predict(tail)).lengths).toEqual(all.slice(-10).reverse());
    const other = (await c.predict(items)).lengths;
    expect(other.filter((l, i) => l !== all[i]).length).toBeGreaterThan(2900);
  });

  it('refuses a τ out of (0, 1), a workload without the key, and one whose lengths cannot reach the target', () => {
    expect(() => noisyOraclePredictor(items, { tau: 1, seed: 0 })).toThrow(
      /oracle_tau: expected a Kendall τ in \(0, 1\), got 1/,
    );
    expect(() => noisyOraclePredictor(items, { tau: 0.5, seed: 0, key: 'L_t0.7' })).toThrow(
      /query trace-0 has no recorded length "L_t0.7"/,
    );
    // two requests: τ is 1 or −1, never 0.6 ± 0.01
    expect(() => noisyOraclePredictor(workload(2), { tau: 0.6, seed: 0 })).toThrow(/closest τ reached on 2 requests/);
  });
});

/** A finished record: arrival, admitted, first token, finish (s), length. */
function rec(id: string, t: [number, number, number, number], length = 10, predicted: number | null = null) {
  const r: RequestRecord = arrivedRecord({ id, index: 0, arrival: t[0] });
  return { ...r, admitted: t[1], firstToken: t[2], finish: t[3], length, numOutputTokens: length, predicted };
}

describe('fairness metrics', () => {
  it('max wait is the longest admitted − arrival; τ over the predicted requests only', () => {
    const m = servingMetrics(
      [
        rec('a', [0, 0.5, 0.6, 2], 10, 12),
        rec('b', [1, 4, 4.5, 5], 30, 20),
        rec('c', [2, 2.25, 3, 9], 20, 25),
        rec('d', [3, 3, 3.1, 4], 5),
      ],
      0,
    );
    expect(m.max_wait).toBeCloseTo(3, 12);
    // predicted 12, 20, 25 against true 10, 30, 20: pairs (a,b)+ (a,c)+ (b,c)− → τ = 1/3
    expect(m.prediction_kendall_tau).toBeCloseTo(1 / 3, 12);
  });

  it('share slowed more than 2× pairs requests by id; a request missing from the baseline is named', () => {
    const fcfs = [rec('a', [0, 0, 0.1, 1]), rec('b', [0, 0, 0.1, 2]), rec('c', [0, 0, 0.1, 3])];
    // a: 2.5 s > 2 × 1; b: 4 s = 2 × 2 is not more than 2×; c: 1 s
    const other = [rec('c', [0, 0, 0.1, 1]), rec('a', [0, 0, 0.1, 2.5]), rec('b', [0, 0, 0.1, 4])];
    expect(slowdownShare(other, fcfs)).toBeCloseTo(1 / 3, 12);
    expect(slowdownShare(other, fcfs, 1.5)).toBeCloseTo(2 / 3, 12);
    expect(() => slowdownShare([rec('z', [0, 0, 0, 1])], fcfs)).toThrow(/request z is not in the baseline run/);
  });
});

describe('oracle_tau option', () => {
  const base = {
    arrival: 'offline',
    predictor_cost: 'measured',
    engine: 'sim',
    trace_requests: true,
    trace: 't.csv',
    policy: 'sjf',
  } as never;
  const k = (s: string) => `\`${s}\``;
  it('needs the oracle predictor', () => {
    expect(
      serveConfigProblem(
        { ...(base as object), predictor: 'proxy', predictions: 'p.json', oracle_tau: 0.6 } as never,
        k,
      ),
    ).toMatch(/`oracle_tau` degrades the oracle: set `predictor` oracle \(got proxy\)/);
    expect(
      serveConfigProblem({ ...(base as object), predictor: 'oracle', oracle_tau: 0.6 } as never, k),
    ).toBeUndefined();
  });
});
