/**
 * Workloads, traces, metrics and calibration of the serving harness: Poisson gaps (seeded, mean 1/rate), a
 * trace rescaled to a target rate, both shipped trace samples read in their layouts (Azure's seven-digit
 * timestamps, BurstGPT's failed rows dropped), clear errors for bad input, percentiles as numpy computes them,
 * and the serving calibration recovering a known cost model from the calls it charged.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arrivalTimes, traceItems } from '../../src/workload/arrivals.js';
import { loadTrace, parseAzureTimestamp } from '../../src/workload/trace.js';
import { quantile, servingMetrics, type RequestRecord } from '../../src/serving/metrics.js';
import { fitPredictorCost, fitStepCosts, stepCostModel, stepCostModelFile } from '../../src/cost/calibrate-steps.js';
import { costModelFromPoints } from '../../src/cost/costmodel.js';
import { checkServeConfig, cliFlag, serveSchema } from '../../src/serving/config.js';
import { seqsch } from '../reliability/helpers.js';
import { ALPACA, repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';

const tmp = tmpDirs('seqsch-serve-');

test('Poisson arrivals: seeded, increasing, mean gap 1/rate; bad rates are refused', () => {
  const a = arrivalTimes(4000, { kind: 'poisson', rate: 50 }, 7);
  expect(arrivalTimes(4000, { kind: 'poisson', rate: 50 }, 7)).toEqual(a);
  expect(arrivalTimes(10, { kind: 'poisson', rate: 50 }, 8)).not.toEqual(a.slice(0, 10));
  expect(a.every((t, i) => i === 0 || t >= a[i - 1])).toBe(true);
  expect(a[a.length - 1] / a.length).toBeGreaterThan(0.019); // mean gap 0.02 s ± 5 % (4000 exponential gaps: sd 1.6 %)
  expect(a[a.length - 1] / a.length).toBeLessThan(0.021);
  expect(() => arrivalTimes(3, { kind: 'poisson', rate: -1 })).toThrow(
    'the Poisson arrival rate must be a positive number of requests per second, got -1',
  );
  expect(() => arrivalTimes(3, { kind: 'poisson', rate: 0 })).toThrow('got 0');
  expect(arrivalTimes(3, { kind: 'offline' })).toEqual([0, 0, 0]);
});

test('the shipped Azure-layout sample: 400 rows, seven-digit timestamps, rescaled to a target mean rate', () => {
  const { format, rows } = loadTrace(repoPath('data/traces/azure-conv-sample.csv'));
  expect(format).toBe('azure');
  expect(rows.length).toBe(400);
  expect(rows[0]).toEqual({ t: 0, promptTokens: 169, responseTokens: 191 });
  expect(rows[1].t).toBeCloseTo(46.4549116 - 46.406281, 9);
  const [a, b] = [parseAzureTimestamp('2023-11-16 18:15:46.6805900'), parseAzureTimestamp('2023-11-16 18:15:45')];
  expect(a[0] - b[0] + (a[1] - b[1])).toBeCloseTo(1.68059, 12);
  const t = arrivalTimes(100, { kind: 'trace', rows, rate: 20 });
  expect(t[0]).toBe(0);
  expect(99 / t[99]).toBeCloseTo(20, 9); // mean rate over the 100 used requests is the target
  expect(() => arrivalTimes(500, { kind: 'trace', rows, source: 'x.csv' })).toThrow(
    'x.csv has 400 requests, the workload needs 500',
  );
});

test('the shipped BurstGPT-layout sample: failed requests (0 response tokens) dropped; requests from token counts', () => {
  const { format, rows } = loadTrace(repoPath('data/traces/burstgpt-sample.csv'));
  expect(format).toBe('burstgpt');
  expect(rows.length).toBeGreaterThan(380);
  expect(rows.length).toBeLessThan(400);
  expect(rows.every((r) => r.responseTokens > 0)).toBe(true);
  expect(rows[0]).toEqual({ t: 0, promptTokens: 846, responseTokens: 202 });
  const items = traceItems(rows, 3);
  expect(items[0]).toMatchObject({ id: 'trace-0', promptTokens: 846, realLengths: { 'L_t0.0': 203 } }); // the answer + EOS
});

test('a malformed trace is refused naming the file, line and column', () => {
  const dir = tmp();
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'timestamp,prompt_tokens,response_tokens\n0.5,10,20\n1.0,ten,20\n');
  expect(() => loadTrace(bad)).toThrow(`${bad}:3: column prompt_tokens holds "ten", not a token count ≥ 0`);
  const other = join(dir, 'other.csv');
  writeFileSync(other, 'time,in,out\n1,2,3\n');
  expect(() => loadTrace(other)).toThrow('unknown trace layout (header: time,in,out)');
  expect(() => loadTrace(join(dir, 'none.csv'))).toThrow('trace file not found');
});

test('percentiles interpolate as numpy.percentile; the metrics of three hand-made requests', () => {
  expect(quantile([1, 2, 3, 4, 10], 0.9)).toBeCloseTo(7.6, 12); // numpy.percentile([1,2,3,4,10], 90)
  expect(quantile([3, 1, 2], 0.5)).toBe(2);
  expect(quantile([5], 0.99)).toBe(5);
  const rec = (
    id: string,
    arrival: number,
    admitted: number,
    first: number,
    finish: number,
    n: number,
    length: number,
  ): RequestRecord => ({
    id,
    index: 0,
    arrival,
    promptTokens: null,
    predicted: null,
    admitted,
    firstToken: first,
    finish,
    numOutputTokens: n,
    length,
    finished: true,
    preemptions: 0,
    recomputes: 0,
  });
  const m = servingMetrics(
    [rec('a', 0, 0, 0.1, 1, 11, 12), rec('b', 0.5, 1, 1.2, 2, 21, 22), rec('c', 1, 1, 1.5, 4, 1, 2)],
    0.25,
  );
  expect(m.latency_mean).toBeCloseTo((1 + 1.5 + 3) / 3, 12);
  expect(m.ttft_mean).toBeCloseTo((0.1 + 0.7 + 0.5) / 3, 12);
  expect(m.queueing_delay_mean).toBeCloseTo((0 + 0.5 + 0) / 3, 12);
  expect(m.throughput).toBeCloseTo(3 / 4, 12);
  expect(m.output_tokens_per_s).toBeCloseTo(30 / 4, 12); // answer tokens: counts less BOS
  expect(m.normalized_latency).toBeCloseTo((1 / 10 + 1.5 / 20 + 3 / 1) / 3, 12); // a 0-token answer counts as 1
  expect(m.effective_token_ratio).toBeCloseTo(33 / 36, 12);
  expect(() => servingMetrics([rec('x', 1, 0.5, 1, 2, 1, 1)], 0)).toThrow('request x: inconsistent timeline');
});

test('serving calibration recovers the per-batch-size step costs, the context slope and the prefill cost that charged the calls', () => {
  const a = new Map([
    [1, 0.4],
    [2, 0.9],
    [3, 1.0],
    [4, 0.8],
    [8, 1.4],
  ]); // not linear in bs, as measured on this CPU
  const c = 5e-5,
    e = 1.2,
    f = 0.02; // a prefill costs more than a decode step of as many rows, as measured
  const calls = [];
  for (const [bs, base] of a)
    for (const ctx of [40, 120, 300])
      calls.push({ kind: 'decode' as const, rows: bs, context: ctx, seconds: (base + c * bs * ctx) / 1000 });
  for (const [n, T] of [
    [1, 14],
    [2, 20],
    [1, 30],
    [3, 9],
  ])
    calls.push({ kind: 'prefill' as const, rows: n, context: T, seconds: (e + f * n * T) / 1000 });
  const fit = fitStepCosts(calls);
  fit.stepBaseMs.forEach(([bs, ms]) => expect(ms).toBeCloseTo(a.get(bs)!, 9));
  expect(fit.contextMs).toBeCloseTo(c, 12);
  expect(fit.prefillBaseMs).toBeCloseTo(e, 9);
  expect(fit.prefillPerTokenMs).toBeCloseTo(f, 12);
  expect(fit.rmsRelError).toBeLessThan(1e-9);
  // as a cost model: steps interpolate between measured sizes; a prefill is charged prefill + one step = e + f·n·T
  const cm = stepCostModel(fit);
  expect(cm.stepMs(6, 100)).toBeCloseTo((0.8 + 1.4) / 2 + c * 6 * 100, 9);
  expect(cm.prefillMs(2, 20) + cm.stepMs(2, 20)).toBeCloseTo(e + f * 40, 9);
  // the file the simulator reads gives the same charges at its nodes
  const file = costModelFromPoints(stepCostModelFile(fit, 'test'));
  expect(file.stepMs(3, 64)).toBeCloseTo(cm.stepMs(3, 64), 6);
  expect(file.prefillMs(2, 32) + file.stepMs(2, 32)).toBeCloseTo(e + f * 64, 6);
  const p = fitPredictorCost([
    { at: 0, requests: 1, seconds: 0.006 },
    { at: 1, requests: 4, seconds: 0.012 },
    { at: 2, requests: 0, seconds: 0 },
  ]);
  expect(p.base).toBeCloseTo(0.004, 12);
  expect(p.perItem).toBeCloseTo(0.002, 12);
});

test('bad serving configurations get errors naming the key', () => {
  const parse = (o: object) =>
    checkServeConfig(serveSchema.parse({ engine: 'sim', data: 'd.json', lengths: 'l.json', ...o }));
  expect(() => serveSchema.parse({ rate: -2 })).toThrow('expected a number > 0, got -2');
  expect(() => serveSchema.parse({ policy: 'lifo' })).toThrow(
    /lifo.*is not one of fcfs, sjf, srpt, ltr, hrrn, spf, suf, priority, work, static/,
  );
  expect(() => serveSchema.parse({ max_bach: 3 })).toThrow(/max_bach/);
  expect(() => parse({ policy: 'sjf' })).toThrow('`policy` sjf orders by predicted length: set `predictor`');
  expect(() => parse({ arrival: 'poisson' })).toThrow(
    '`arrival` poisson needs `rate` (requests/s) or `load` (fraction of capacity)',
  );
  expect(() => parse({ arrival: 'poisson', rate: 3, load: 0.5 })).toThrow('give `rate` or `load`, not both');
  expect(() => parse({ predictor: 'constant', policy: 'sjf' })).toThrow('`predictor` constant needs `constant`');
  expect(() => parse({ engine: 'tfjs' })).toThrow('`engine` tfjs needs `model`');
  // the CLI names its flags
  expect(() =>
    checkServeConfig(
      serveSchema.parse({ engine: 'sim', data: 'd.json', lengths: 'l.json', arrival: 'poisson', rate: 3, load: 0.5 }),
      cliFlag,
    ),
  ).toThrow('give --rate or --load, not both');
  expect(parse({ policy: 'sjf', predictor: 'oracle', arrival: 'poisson', load: 0.8 }).starvation_steps).toBeUndefined();
});

test('serve-bench refuses a negative rate and an unknown policy naming the flag', () => {
  const base = ['serve-bench', '--engine', 'sim', '--data', ALPACA.valData, '--lengths', ALPACA.valLengths, '--json'];
  const neg = seqsch([...base, '--arrival', 'poisson', '--rate', '-1']);
  expect(neg.status).toBe(1);
  expect(neg.stderr).toContain('--rate: expected a number > 0, got -1');
  const pol = seqsch([...base, '--policy', 'lifo']);
  expect(pol.status).toBe(1);
  expect(pol.stderr).toMatch(/policy[\s\S]*lifo/);
});
