/**
 * The simulated vLLM-class GPU engine (src/engines/step-gpu-sim.ts) against hand-counted iterations: chunked
 * prefill within the token budget beside decodes, prefill-first iterations, paged KV growth with recompute
 * preemption of the newest request, prefix reuse by hash ids; and the serving harness over it (timeline, peak KV).
 */
import type { IterationCostModel, IterationShape } from '../../src/cost/iteration.js';
import { GpuSimEngine, type GpuSimRequest } from '../../src/engines/step-gpu-sim.js';
import { KvBlockPool } from '../../src/engines/kv-blocks.js';
import { PrefixCache } from '../../src/engines/prefix-cache.js';
import { serveContinuous } from '../../src/serving/harness.js';
import { SimClock } from '../../src/serving/clock.js';
import { makePolicy } from '../../src/serving/policies/index.js';
import { rankCorrelation, servingMetrics } from '../../src/serving/metrics.js';
import type { ServeRequest } from '../../src/workload/arrivals.js';

/** A cost model that records every shape and charges 1 ms + 0.01 ms per prefill token + 0.1 ms per decode row. */
function recorder(): IterationCostModel & { shapes: IterationShape[] } {
  const shapes: IterationShape[] = [];
  return {
    shapes,
    description: 'test',
    gpu: { name: 'test-gpu', memoryGiB: 1 },
    model: { name: 'm', layers: 1, hidden: 8, heads: 2, kvHeads: 2, intermediate: 16, vocab: 10, dtypeBytes: 2 },
    iterationMs(s) {
      shapes.push(JSON.parse(JSON.stringify(s)));
      return 1 + 0.01 * s.prefills.reduce((a, c) => a + c.tokens, 0) + 0.1 * s.decodeRows;
    },
  };
}

const req = (id: string, prompt: number, needed: number, arrival = 0, extra: Partial<GpuSimRequest> = {}) => ({
  id,
  promptTokens: prompt,
  maxNewTokens: 1000,
  needed,
  arrival,
  ...extra,
});

const base = { maxBatch: 8, numBlocks: 100, blockSize: 4, watermark: 0, batching: 'chunked' as const };

test('chunked: prefills split within the token budget, decode rows first, first token when a prefill completes', async () => {
  const cm = recorder();
  const e = new GpuSimEngine(cm, { ...base, maxBatchedTokens: 10 });
  const a = await e.admit([req('a', 7, 3)]);
  expect(a).toEqual({ updates: [], call: null }); // registered only
  expect(e.admissionBudget()).toBe(3); // 10 − a's 7 prompt tokens still to prefill
  await e.admit([req('b', 12, 2)]);
  let out = await e.step(); // a's 7 tokens + 3 of b's
  expect(cm.shapes[0]).toEqual({
    prefills: [
      { tokens: 7, cached: 0 },
      { tokens: 3, cached: 0 },
    ],
    decodeRows: 0,
    decodeContext: 0,
  });
  expect(out.updates).toEqual([{ id: 'a', generated: 1, finished: false, eos: false }]);
  expect(out.call).toMatchObject({ kind: 'prefill', rows: 2 });
  out = await e.step(); // a decodes (1 token, context 7 + 1), b's next 9 tokens fill the budget
  expect(cm.shapes[1]).toEqual({ prefills: [{ tokens: 9, cached: 3 }], decodeRows: 1, decodeContext: 8 });
  expect(out.call!.kind).toBe('mixed');
  expect(out.updates.map((u) => [u.id, u.generated])).toEqual([
    ['a', 2],
    ['b', 1],
  ]);
  out = await e.step(); // both decode: a reaches 3 (EOS), b 2 (EOS)
  expect(cm.shapes[2]).toEqual({ prefills: [], decodeRows: 2, decodeContext: 7 + 2 + 12 + 1 });
  expect(out.updates.every((u) => u.finished && u.eos)).toBe(true);
  expect(out.call!.seconds).toBeCloseTo((1 + 0.2) / 1000, 12);
});

test('prefill-first: an admission is a prefill forward of the whole prompts', async () => {
  const cm = recorder();
  const e = new GpuSimEngine(cm, { ...base, batching: 'prefill-first', maxBatchedTokens: 64 });
  expect(e.admissionBudget()).toBe(64);
  const out = await e.admit([req('a', 20, 2), req('b', 30, 1)]);
  expect(cm.shapes[0].prefills).toEqual([
    { tokens: 20, cached: 0 },
    { tokens: 30, cached: 0 },
  ]);
  expect(out.call).toMatchObject({ kind: 'prefill', rows: 2, context: 30 });
  expect(out.updates.map((u) => [u.id, u.finished])).toEqual([
    ['a', false],
    ['b', true],
  ]);
});

test('paged KV: blocks grow one at a time; when none is free the newest running request is recomputed', async () => {
  const cm = recorder();
  // 6 blocks of 4 tokens; a (arrived first) and b each take 2 blocks for 8-token prompts
  const e = new GpuSimEngine(cm, { ...base, numBlocks: 6, maxBatchedTokens: 64 });
  await e.admit([req('a', 8, 20, 0), req('b', 8, 20, 1)]);
  await e.step(); // prefills: 4 blocks used, first tokens
  expect(e.kv.inUse).toBe(4);
  await e.step(); // decode at 9 tokens each: a 3rd block each → 6 blocks
  expect(e.kv.inUse).toBe(6);
  for (let i = 0; i < 3; i++) await e.step(); // up to 12 tokens each: no new block
  const out = await e.step(); // both cross to a 4th block: only one fits after b, the newest, is recomputed
  expect(out.updates[0]).toEqual({ id: 'b', generated: 5, finished: false, eos: false, recomputed: true });
  expect(e.kv.holding('a')).toBe(4);
  expect(e.running()).toEqual(['a']);
  expect(e.kvPeak()).toBe(24); // never above the pool
  // b comes back: it prefills its prompt and its 5 tokens (13 → 4 blocks), and keeps counting from 5
  expect(e.reservation(req('b', 8, 20, 1))).toBe(16);
});

test('prefix reuse by hash ids: a second request with the same leading blocks prefills only the rest', async () => {
  const cm = recorder();
  const e = new GpuSimEngine(cm, { ...base, maxBatchedTokens: 1000, prefixReuse: true });
  const h = { hashIds: [1, 2, 3], hashBlockTokens: 10 };
  await e.admit([req('a', 30, 1, 0, h)]);
  await e.step();
  await e.admit([req('b', 35, 1, 1, { hashIds: [1, 2, 9, 10], hashBlockTokens: 10 })]);
  await e.step();
  expect(cm.shapes[1].prefills).toEqual([{ tokens: 15, cached: 20 }]);
  expect(e.stats.reusedTokens).toBe(20);
});

test('KvBlockPool and PrefixCache bookkeeping', () => {
  const p = new KvBlockPool({ numBlocks: 10, blockSize: 16, watermark: 0.1 });
  expect(p.watermarkBlocks).toBe(1);
  expect(p.canAdmit(9)).toBe(true);
  expect(p.canAdmit(10)).toBe(false);
  p.allocate('x', 3);
  expect(p.grow('x', 49)).toBe(true); // 4 blocks
  expect(p.holding('x')).toBe(4);
  expect(p.grow('x', 200)).toBe(false);
  p.release('x');
  expect([p.inUse, p.peak]).toEqual([0, 4]);
  expect(() => new KvBlockPool({ numBlocks: 0, blockSize: 16, watermark: 0 })).toThrow('positive whole number');
  const c = new PrefixCache(2);
  c.insert([1, 2]);
  c.insert([3]); // drops 1, the least recent
  expect(c.cachedBlocks([1, 2])).toBe(0);
  expect(c.cachedBlocks([2, 3])).toBe(2);
});

test('harness over the GPU engine: every request finishes, TTFT at its prefill, peak KV within the pool', async () => {
  const cm = recorder();
  const e = new GpuSimEngine(cm, { ...base, numBlocks: 20, maxBatchedTokens: 16 });
  const lens = [
    [30, 12],
    [6, 40],
    [40, 3],
    [10, 10],
    [25, 25],
  ];
  const requests: ServeRequest[] = lens.map(([p], i) => ({
    id: `r${i}`,
    index: i,
    arrival: i * 0.001,
    item: { id: `r${i}`, index: i, prompt: '', promptTokens: p },
  }));
  const res = await serveContinuous(requests, e, {
    policy: makePolicy('fcfs', { preemptK: 0, starvationBound: 100 }),
    predictor: null,
    clock: new SimClock(),
    toEngine: (r) => req(r.id, lens[r.index][0], lens[r.index][1], r.arrival),
  });
  const m = servingMetrics(res.records, 0, res.kv);
  expect(res.records.every((r) => r.finished && r.length === lens[r.index][1] + 1)).toBe(true);
  expect(m.kv_peak_tokens!).toBeLessThanOrEqual(20 * 4);
  expect(m.kv_capacity_tokens).toBe(80);
  expect(m.recomputes).toBeGreaterThan(0); // 20 blocks cannot hold them all as they grow
  for (const s of cm.shapes)
    expect(s.prefills.reduce((a, c) => a + c.tokens, 0) + s.decodeRows).toBeLessThanOrEqual(Math.max(16, s.decodeRows));
});

test("Spearman's rank correlation: ties take their mean rank", () => {
  expect(rankCorrelation([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
  expect(rankCorrelation([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
  // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505138
  expect(rankCorrelation([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(0.9486832980505138, 12);
  expect(rankCorrelation([1, 1], [2, 3])).toBeNaN();
});

test('prefill-first with a padded budget: admissions × the longest prompt stay within it (Vidur vLLM)', async () => {
  const lens = [100, 300, 200, 50];
  const run = async (padded: boolean) => {
    const cm = recorder();
    const e = new GpuSimEngine(cm, {
      ...base,
      batching: 'prefill-first',
      maxBatchedTokens: 700,
      numBlocks: 1000,
      paddedPrefill: padded,
    });
    const requests: ServeRequest[] = lens.map((p, i) => ({
      id: `r${i}`,
      index: i,
      arrival: 0,
      item: { id: `r${i}`, index: i, prompt: '', promptTokens: p },
    }));
    await serveContinuous(requests, e, {
      policy: makePolicy('fcfs', { preemptK: 0, starvationBound: 100 }),
      predictor: null,
      clock: new SimClock(),
      toEngine: (r) => req(r.id, lens[r.index], 2, 0),
    });
    return cm.shapes.filter((s) => s.prefills.length).map((s) => s.prefills.map((c) => c.tokens));
  };
  // sum: 100 + 300 + 200 = 600 ≤ 700, + 50 = 650 ≤ 700: one prefill of all four
  expect(await run(false)).toEqual([[100, 300, 200, 50]]);
  // padded: 2 × 300 = 600 ≤ 700, a third row would make 900: then 2 × 200 = 400
  expect(await run(true)).toEqual([
    [100, 300],
    [200, 50],
  ]);
});

test('a policy may pause a request in the middle of its chunked prefill; it resumes where it stopped', async () => {
  const cm = recorder();
  const e = new GpuSimEngine(cm, { ...base, maxBatch: 1, pausedRows: 1, maxBatchedTokens: 8 });
  await e.admit([req('long', 20, 1)]);
  await e.step(); // 8 of its 20 prompt tokens
  e.preempt('long');
  expect(e.paused()).toEqual(['long']);
  await e.admit([req('short', 4, 1)]);
  const out = await e.step();
  expect(out.updates).toEqual([{ id: 'short', generated: 1, finished: true, eos: true }]);
  e.evict('short');
  e.resume('long');
  await e.step(); // tokens 8–16
  const last = await e.step(); // tokens 16–20: its first token
  expect(cm.shapes.slice(-2).map((s) => s.prefills)).toEqual([[{ tokens: 8, cached: 8 }], [{ tokens: 4, cached: 16 }]]);
  expect(last.updates).toEqual([{ id: 'long', generated: 1, finished: true, eos: true }]);
});
