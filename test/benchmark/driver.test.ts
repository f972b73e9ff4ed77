import { runBenchmark } from '../../src/benchmark/driver.js';
import { SimulatedEngine } from '../../src/engines/batch-sim.js';
import { computeMetrics } from '../../src/benchmark/metrics.js';
import type { BenchItem } from '../../src/core/query.js';
import { batchSeconds, costModelFromPoints, defaultCostModel } from '../../src/cost/costmodel.js';
import { gtPredictor, vanillaPredictor } from '../../src/perception/predictor.js';
import type { LengthPredictor } from '../../src/core/predictor.js';
import { DEFAULT_SCHEDULE, type ScheduleConfig } from '../../src/scheduling/schedule.js';

const item = (index: number, real: number, extra: Record<string, number> = {}): BenchItem => ({
  id: String(100 + index),
  index,
  prompt: `q${index}`,
  promptTokens: 10,
  realLengths: { 'L_t0.0': real, ...extra },
});
const fixed = (lengths: number[]): LengthPredictor => ({
  name: 'seqsch',
  predict: async (items) => ({ lengths: items.map((it) => lengths[it.index]), seconds: 0.5, charged: false }),
});
// flat 1 ms per step, no prefill: seconds = decode steps / 1000
const flat = costModelFromPoints({ description: 'flat', points: [{ batch_size: 1, context: 1, ms_per_step: 1 }] });
const engine = new SimulatedEngine({
  realLengths: 'L_t0.0',
  recordedMaxLength: 512,
  costModel: flat,
  defaultPromptTokens: 0,
});
const sched = (o: Partial<ScheduleConfig>): ScheduleConfig => ({ ...DEFAULT_SCHEDULE, ...o });

describe('metrics arithmetic', () => {
  test('average length = Σ length / N, ETR = Σ tokens / Σ length, failure = failed / N', () => {
    const base = { id: 'a', index: 0, predicted: 0, isFinished: true, recomputed: false };
    const m = computeMetrics(
      [
        { ...base, length: 11, numOutputTokens: 5 },
        { ...base, length: 11, numOutputTokens: 11 },
        { ...base, length: 31, numOutputTokens: 20 },
      ],
      1,
      2,
    );
    expect(m.average_length).toBeCloseTo(53 / 3, 12);
    expect(m.effective_token_ratio).toBeCloseTo(36 / 53, 12);
    expect(m.failure_ratio).toBeCloseTo(1 / 3, 12);
    expect(m.throughput).toBe(1.5);
  });
});

describe('simulated engine', () => {
  test('rows finish iff recorded length ≤ limit; steps = min(limit, max needed); unfinished count limit + BOS', async () => {
    const out = await engine.generateBatch([item(0, 5), item(1, 30), item(2, 513)], 20);
    expect(out.decodeSteps).toBe(20);
    expect(out.rows).toEqual([
      { numOutputTokens: 5, isFinished: true },
      { numOutputTokens: 21, isFinished: false },
      { numOutputTokens: 21, isFinished: false },
    ]);
    const early = await engine.generateBatch([item(0, 5), item(1, 12)], 512);
    expect(early.decodeSteps).toBe(12);
    expect(early.seconds).toBeCloseTo(0.012, 12);
  });
  test('a length recorded above the recording limit (cut at 512) never finishes', async () => {
    const out = await engine.generateBatch([item(0, 514)], 550);
    expect(out).toMatchObject({ decodeSteps: 550, rows: [{ isFinished: false, numOutputTokens: 551 }] });
  });
});

describe('benchmark driver', () => {
  test('vanilla: fixed batches in input order, every batch runs until its longest row', async () => {
    const items = [item(0, 5), item(1, 9), item(2, 3), item(3, 600)];
    const r = await runBenchmark(items, engine, vanillaPredictor(50), {
      schedule: sched({ batchSize: 2 }),
      maxLength: 50,
      groupSize: 4,
    });
    // batch {0,1}: 9 steps → length 10 each; batch {2,3}: row 3 never finishes → 50 steps → length 51
    expect(r.items.map((x) => x.length)).toEqual([10, 10, 51, 51]);
    expect(r.items.map((x) => x.numOutputTokens)).toEqual([5, 9, 3, 51]);
    expect(r.average_length).toBe((10 + 10 + 51 + 51) / 4);
    expect(r.effective_token_ratio).toBeCloseTo((5 + 9 + 3 + 51) / 122, 12);
    expect(r.decode_steps).toBe(59);
    expect(r.seconds).toBeCloseTo(0.059, 12);
  });

  test('FCR: unfinished rows are regenerated at max length and replace their first results', async () => {
    // predictions 10,10,10,40 in one batch of 4? batchSize 2: sorted [0,1],[2,3]; limits 10 and 40
    const items = [item(0, 8), item(1, 25), item(2, 10), item(3, 35)];
    const pred = fixed([10, 10, 10, 40]);
    const r = await runBenchmark(items, engine, pred, {
      schedule: sched({ batchSize: 2, fcr: true }),
      maxLength: 100,
      groupSize: 4,
    });
    // batch A = {0,1} at limit 10: steps 10, row 1 (needs 25) fails; batch B = {2,3} at limit 40: steps 35, both finish
    // FCR batch {1} at 100: steps 25 → length 26, tokens 25
    expect(r.failed).toBe(1);
    expect(r.failure_ratio).toBe(0.25);
    expect(r.items.map((x) => [x.id, x.length, x.numOutputTokens, x.isFinished, x.recomputed])).toEqual([
      ['100', 11, 8, true, false],
      ['101', 26, 25, true, true],
      ['102', 36, 10, true, false],
      ['103', 36, 35, true, false],
    ]);
    expect(r.trace.map((t) => [t.phase, t.size, t.limit, t.decodeSteps])).toEqual([
      ['schedule', 2, 10, 10],
      ['schedule', 2, 40, 35],
      ['fcr', 1, 100, 25],
    ]);
    // time = prediction (0.5 s per group) + 10 + 35 + 25 steps; of it the FCR batch's 25 steps
    expect(r.seconds).toBeCloseTo(0.5 + 0.07, 12);
    expect(r.predict_seconds).toBeCloseTo(0.5, 12);
    expect(r.fcr_seconds).toBeCloseTo(0.025, 12);
  });

  test("FCR 'upstream' recompute regenerates the query at the failed row's batch-order position", async () => {
    // sorted order is [2, 0, 1]; row at batch position 1 (query 0) fails, upstream regenerates query 1 instead
    const items = [item(0, 30), item(1, 4), item(2, 1)];
    const pred = fixed([5, 9, 1]);
    const opts = { maxLength: 100, groupSize: 3 };
    const ok = await runBenchmark(items, engine, pred, { ...opts, schedule: sched({ batchSize: 1, fcr: true }) });
    const up = await runBenchmark(items, engine, pred, {
      ...opts,
      schedule: sched({ batchSize: 1, fcr: true, fcrRecompute: 'upstream' }),
    });
    expect(ok.items[0]).toMatchObject({ length: 31, numOutputTokens: 30, recomputed: true });
    expect(up.items[0]).toMatchObject({ length: 5, numOutputTokens: 4, recomputed: true });
    expect(up.failed).toBe(1);
  });

  test('groups are scheduled independently and results come back in input order', async () => {
    const items = [item(0, 50), item(1, 5), item(2, 40), item(3, 4)];
    const r = await runBenchmark(items, engine, gtPredictor, {
      schedule: sched({ batchSize: 1 }),
      maxLength: 100,
      groupSize: 2,
    }).catch((e) => e);
    // gt needs all four temperatures
    expect(String(r)).toMatch(/lacks one of L_t0.0/);
    const t = (n: number) => ({ 'L_t0.3': n, 'L_t0.5': n, 'L_t0.7': n });
    const items2 = items.map((it) => ({ ...it, realLengths: { ...it.realLengths, ...t(it.realLengths!['L_t0.0']) } }));
    const r2 = await runBenchmark(items2, engine, gtPredictor, {
      schedule: sched({ batchSize: 1 }),
      maxLength: 100,
      groupSize: 2,
    });
    expect(r2.items.map((x) => [x.id, x.length])).toEqual([
      ['100', 51],
      ['101', 6],
      ['102', 41],
      ['103', 5],
    ]);
    expect(r2.trace.map((x) => [x.group, x.batch])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
  });
});

describe('cost model', () => {
  test('interpolates linearly in batch size and context, clamps outside', () => {
    const cm = costModelFromPoints({
      description: 'grid',
      points: [
        { batch_size: 1, context: 100, ms_per_step: 10 },
        { batch_size: 1, context: 300, ms_per_step: 20 },
        { batch_size: 9, context: 100, ms_per_step: 30 },
        { batch_size: 9, context: 300, ms_per_step: 60 },
      ],
      prefill: [
        { batch_size: 1, prompt_tokens: 0, ms: 0 },
        { batch_size: 1, prompt_tokens: 100, ms: 50 },
      ],
    });
    expect(cm.stepMs(1, 200)).toBe(15);
    expect(cm.stepMs(5, 200)).toBe((15 + 45) / 2);
    expect(cm.stepMs(20, 1000)).toBe(60);
    expect(cm.prefillMs(4, 40)).toBe(20);
    // prefill 20 ms + steps at contexts 40, 41 (clamped to 100 → 10 ms each at bs 1)
    expect(batchSeconds(cm, 1, 40, 2)).toBeCloseTo(0.04, 12);
  });
  test('reads the measured H100 format (prompt_tokens + new_tokens → context; prefill folded in)', () => {
    const cm = costModelFromPoints({
      description: 'h100',
      points: [
        { batch_size: 16, prompt_tokens: 64, new_tokens: 128, ms_per_step: 114.03 },
        { batch_size: 32, prompt_tokens: 64, new_tokens: 128, ms_per_step: 95.51 },
      ],
    });
    expect(cm.stepMs(24, 500)).toBeCloseTo((114.03 + 95.51) / 2, 10);
    expect(cm.prefillMs(16, 64)).toBe(0);
  });
  test('default model is the documented formula', () => {
    expect(defaultCostModel().stepMs(16, 100)).toBeCloseTo(28 + 0.08 * 16 + 0.0004 * 1600, 10);
  });
  test('bad files name the problem', () => {
    expect(() => costModelFromPoints({ description: 'x', points: [] }, 'f.json')).toThrow(/f.json/);
    expect(() =>
      costModelFromPoints({ description: 'x', points: [{ batch_size: 1, ms_per_step: 1 }] }, 'f.json'),
    ).toThrow(/points\[0\]/);
  });
});
