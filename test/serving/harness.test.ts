/**
 * The serving harness on the simulated step engine, against timelines worked out by hand: a cost model where
 * every forward (prefill or decode step) costs 10 ms, one slot, requests needing 3 / 1 / 2 tokens. FCFS, SJF on
 * the oracle, SRPT preempting a long request for a short one (KV kept: no token is generated twice), the
 * predictor's time charged, and the static pipeline timed exactly as the benchmark driver charges its batches.
 */
import type { BenchItem } from '../../src/core/query.js';
import type { CostModel } from '../../src/cost/costmodel.js';
import { SimulatedEngine } from '../../src/engines/batch-sim.js';
import { runBenchmark } from '../../src/benchmark/driver.js';
import { constantPredictor, oraclePredictor, vanillaPredictor } from '../../src/perception/predictor.js';
import { DEFAULT_SCHEDULE } from '../../src/scheduling/schedule.js';
import { SimClock } from '../../src/serving/clock.js';
import { SimStepEngine, type SimStepRequest } from '../../src/engines/step-sim.js';
import { serveContinuous } from '../../src/serving/harness.js';
import { servingMetrics } from '../../src/serving/metrics.js';
import { fcfs } from '../../src/serving/policies/fcfs.js';
import { sjf } from '../../src/serving/policies/sjf.js';
import { srpt } from '../../src/serving/policies/srpt.js';
import { withCost } from '../../src/serving/predictors.js';
import { serveStatic } from '../../src/serving/static.js';
import { makeRequests, type ServeRequest } from '../../src/workload/arrivals.js';

const flat: CostModel = { description: '10 ms a forward', stepMs: () => 10, prefillMs: () => 0 };
const item = (id: string, needed: number, promptTokens = 4): BenchItem => ({
  id,
  index: 0,
  prompt: '',
  promptTokens,
  realLengths: { 'L_t0.0': needed, 'L_t0.3': needed, 'L_t0.5': needed, 'L_t0.7': needed },
});
const toSim = (r: ServeRequest): SimStepRequest => ({
  id: r.id,
  promptTokens: r.item.promptTokens!,
  maxNewTokens: 100,
  needed: r.item.realLengths!['L_t0.0'],
});

async function serve(
  reqs: ServeRequest[],
  policy = fcfs,
  o: {
    predictor?: Parameters<typeof serveContinuous>[2]['predictor'];
    pausedRows?: number;
    predictOn?: 'arrival' | 'contention';
  } = {},
) {
  const engine = new SimStepEngine(flat, { maxBatch: 1, pausedRows: o.pausedRows ?? 0 });
  const r = await serveContinuous(reqs, engine, {
    policy,
    predictor: o.predictor ?? null,
    predictOn: o.predictOn,
    clock: new SimClock(),
    toEngine: toSim,
  });
  const lat = Object.fromEntries(r.records.map((x) => [x.id, Number((x.finish - x.arrival).toFixed(9))]));
  return { r, lat, m: servingMetrics(r.records, r.predictorSeconds) };
}

const offline = () => makeRequests([item('A', 3), item('B', 1), item('C', 2)], [0, 0, 0]);

test('FCFS, one slot: A (prefill + 2 steps), then B (its prefill emits its only token), then C', async () => {
  const { r, lat, m } = await serve(offline());
  expect(lat).toEqual({ A: 0.03, B: 0.04, C: 0.06 });
  expect(r.records.map((x) => [x.admitted, x.firstToken].map((t) => Number(t.toFixed(9))))).toEqual([
    [0, 0.01],
    [0.03, 0.04],
    [0.04, 0.05],
  ]);
  expect(m.latency_mean).toBeCloseTo(0.13 / 3, 12);
  expect(m.throughput).toBeCloseTo(3 / 0.06, 9);
  expect(m.effective_token_ratio).toBeCloseTo(6 / 9, 12); // Σ generated (EOS included) / Σ (own steps + 1): no padding
  expect(r.calls.map((c) => c.kind)).toEqual(['prefill', 'decode', 'decode', 'prefill', 'prefill', 'decode']);
});

test('SJF on the oracle: B, C, A — lower mean latency; its one prediction call is charged to the clock', async () => {
  const { lat } = await serve(offline(), sjf, { predictor: oraclePredictor() });
  expect(lat).toEqual({ B: 0.01, C: 0.03, A: 0.06 });
  const charged = await serve(offline(), sjf, {
    predictor: withCost(oraclePredictor(), (items) => 0.001 * items.length + 0.002),
  });
  expect(charged.lat).toEqual({ B: 0.015, C: 0.035, A: 0.065 }); // one call for the three (2 + 3·1 ms) before anything runs
  expect(charged.r.predictorCalls).toEqual([{ at: 0, requests: 3, seconds: 0.005 }]);
  expect(charged.m.predictor_seconds).toBeCloseTo(0.005, 12);
});

test('requests that never compete for a slot are not predicted (contention mode), every one is on arrival', async () => {
  const spaced = makeRequests([item('A', 1), item('B', 1)], [0, 1]); // each done long before the next arrives
  const p = withCost(constantPredictor(7), () => 0.5);
  expect((await serve(spaced, sjf, { predictor: p })).r.predictorCalls).toEqual([]);
  const eager = await serve(spaced, sjf, { predictor: p, predictOn: 'arrival' });
  expect(eager.r.predictorCalls.map((c) => c.requests)).toEqual([1, 1]);
  expect(eager.lat).toEqual({ A: 0.51, B: 0.51 });
});

test('SRPT preempts the long request for a short arrival, keeps its KV and resumes it where it stopped', async () => {
  const reqs = makeRequests([item('A', 5), item('B', 1)], [0, 0.015]);
  const { r, lat, m } = await serve(reqs, srpt(10), { predictor: oraclePredictor(), pausedRows: 1 });
  // A: prefill (0.01), step (0.02); B arrived at 0.015: A paused, B's prefill ends it at 0.03; A resumes: 3 steps → 0.06
  expect(lat).toEqual({ A: 0.06, B: 0.015 });
  expect(m.preemptions).toBe(1);
  expect(r.calls.filter((c) => c.kind === 'decode').length).toBe(4); // A's tokens 2–5, none twice
  const fifo = await serve(reqs, fcfs);
  expect(fifo.lat).toEqual({ A: 0.05, B: 0.045 }); // without preemption B waits for A
});

test('static pipeline: offline it is the benchmark driver, timed as the driver charges its batches', async () => {
  const items = Array.from({ length: 10 }, (_, i) => ({ ...item(`q${i}`, 1 + ((i * 7) % 10), 3 + i), index: i }));
  const cm: CostModel = {
    description: 'linear',
    stepMs: (bs, ctx) => 1 + 0.1 * bs + 0.01 * bs * ctx,
    prefillMs: (bs, p) => 0.5 * bs * p,
  };
  const engine = () =>
    new SimulatedEngine({ realLengths: 'L_t0.0', recordedMaxLength: 512, costModel: cm, defaultPromptTokens: 8 });
  const opts = { schedule: { ...DEFAULT_SCHEDULE, batchSize: 4 }, maxLength: 16, groupSize: 10 };
  const bench = await runBenchmark(items, engine(), vanillaPredictor(16), opts);
  const served = await serveStatic(makeRequests(items, new Array(10).fill(0)), engine(), {
    ...opts,
    predictor: constantPredictor(16, 'vanilla'),
    clock: new SimClock(),
  });
  const m = servingMetrics(served.records, served.predictorSeconds);
  expect(m.makespan).toBeCloseTo(bench.seconds, 12);
  expect(m.effective_token_ratio).toBeCloseTo(bench.effective_token_ratio, 12);
  // every request of a batch finishes when its batch ends; batch k starts when batch k − 1 ended
  const ends = [...new Set(served.records.map((x) => x.finish))].sort((a, b) => a - b);
  expect(ends.length).toBe(bench.num_batches);
  expect(served.calls.map((c) => c.seconds).reduce((a, b) => a + b, 0)).toBeCloseTo(bench.seconds, 12);
});

test('a request longer than the KV budget is refused before anything runs, naming it', async () => {
  const engine = new SimStepEngine(flat, { maxBatch: 2, kvBudget: 150 });
  const reqs = makeRequests([item('A', 3), item('big', 3, 60)], [0, 0]);
  await expect(
    serveContinuous(reqs, engine, { policy: fcfs, predictor: null, clock: new SimClock(), toEngine: toSim }),
  ).rejects.toThrow('request big needs 160 KV tokens (prompt 60 + up to 100 new), more than the KV budget of 150');
});

test('the predictor is asked when the KV budget, not the slots, stops admission (and SJF then orders by it)', async () => {
  // 4 slots but KV for only one request at a time (prompt 4 + up to 100 new = 104 each, budget 150): A holds it,
  // B (3 tokens) and C (1 token) wait with free slots — before issue 29 they were never predicted and went FCFS
  const reqs = makeRequests([item('A', 2), item('B', 3), item('C', 1)], [0, 0.001, 0.002]);
  const asked: string[][] = [];
  const oracle = oraclePredictor();
  const spy = {
    ...oracle,
    predict: async (items: BenchItem[]) => {
      asked.push(items.map((i) => i.id));
      return oracle.predict(items);
    },
  };
  const engine = new SimStepEngine(flat, { maxBatch: 4, kvBudget: 150 });
  const r = await serveContinuous(reqs, engine, {
    policy: sjf,
    predictor: spy,
    clock: new SimClock(),
    toEngine: toSim,
  });
  expect(asked.flat()).toEqual(expect.arrayContaining(['B', 'C']));
  const order = [...r.records].sort((a, b) => a.admitted - b.admitted).map((x) => x.id);
  expect(order).toEqual(['A', 'C', 'B']); // C (shorter) before B, though B arrived first
});
