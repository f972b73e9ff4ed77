/**
 * The scheduling policies and the decision that applies them (src/serving/policies/): each policy's order on a
 * hand-made queue, the starvation guard, and plan.ts — slots filled in the policy's order, running rows kept
 * unless preemptible, the KV budget blocking in strict order, paused rows resumed, preemption only below k.
 */
import { fcfs } from '../../src/serving/policies/fcfs.js';
import { sjf } from '../../src/serving/policies/sjf.js';
import { srpt } from '../../src/serving/policies/srpt.js';
import { ltr } from '../../src/serving/policies/ltr.js';
import { withAging } from '../../src/serving/policies/aging.js';
import { makePolicy, stepPolicy } from '../../src/serving/policies/index.js';
import { plan, type EngineLimits } from '../../src/serving/policies/plan.js';
import type { QueueEntry } from '../../src/serving/policies/policy.js';

/** An entry: id, arrival, predicted total, generated so far, state, steps waited. */
function e(
  id: string,
  arrival: number,
  predicted: number,
  generated = 0,
  state: QueueEntry['state'] = 'waiting',
  waited = 0,
): QueueEntry {
  return {
    id,
    index: Number(id.replace(/\D/g, '')),
    arrival,
    waited,
    state,
    predicted,
    generated,
    remaining: Math.max(0, predicted - generated),
  };
}
const ids = (es: QueueEntry[]) => es.map((x) => x.id);
const lim = (o: Partial<EngineLimits> = {}): EngineLimits => ({
  maxBatch: 2,
  cacheRows: 4,
  kvBudget: null,
  kvReserved: 0,
  reservation: () => 10,
  ...o,
});

const queue = [e('r1', 0.0, 90), e('r2', 0.1, 10), e('r3', 0.2, 50), e('r4', 0.2, 10)];

test('fcfs orders by arrival, sjf by predicted total (ties by arrival, then position), neither preempts', () => {
  expect(ids(fcfs.order(queue, 1))).toEqual(['r1', 'r2', 'r3', 'r4']);
  expect(ids(sjf.order(queue, 1))).toEqual(['r2', 'r4', 'r3', 'r1']);
  expect(fcfs.preemptible(e('x', 0, 5, 0, 'running'))).toBe(false);
  expect(sjf.preemptible(e('x', 0, 5, 0, 'running'))).toBe(false);
});

test('srpt orders by predicted remaining, ltr by the predicted total (a score), both preempt only below k generated', () => {
  const mixed = [e('r1', 0, 100, 95, 'running'), e('r2', 0.1, 20), e('r3', 0.2, 60, 10, 'running')];
  expect(ids(srpt(8).order(mixed, 1))).toEqual(['r1', 'r2', 'r3']); // remaining 5, 20, 50
  expect(ids(ltr(8).order(mixed, 1))).toEqual(['r2', 'r3', 'r1']); // scores 20, 60, 100
  expect(srpt(8).preemptible(e('x', 0, 50, 7, 'running'))).toBe(true);
  expect(srpt(8).preemptible(e('x', 0, 50, 8, 'running'))).toBe(false);
  expect(ltr(0).preemptible(e('x', 0, 50, 0, 'running'))).toBe(false);
});

test('requests not predicted yet (NaN) sort after the predicted ones, in arrival order', () => {
  expect(ids(sjf.order([e('r1', 0, NaN), e('r2', 1, 40), e('r3', 2, NaN), e('r4', 3, 5)], 0))).toEqual([
    'r4',
    'r2',
    'r1',
    'r3',
  ]);
});

test('the starvation guard puts requests that waited more than the bound (in decode steps) first, oldest first', () => {
  const aged = withAging(sjf, 100);
  const q = [
    e('r1', 0.0, 90, 0, 'waiting', 150),
    e('r2', 0.5, 10, 0, 'waiting', 120),
    e('r3', 0.9, 5, 0, 'waiting', 99),
    e('r4', 1, 1, 0, 'running', 500),
  ];
  expect(ids(aged.order(q, 2))).toEqual(['r1', 'r2', 'r4', 'r3']); // r1, r2, r4 starved (by arrival); then r3
  expect(() => withAging(sjf, 0)).toThrow('starvation bound');
  expect(makePolicy('fcfs', { preemptK: 1, starvationBound: 1 })).toBe(fcfs); // FCFS needs no guard
  expect(() => makePolicy('lifo', { preemptK: 1, starvationBound: 1 })).toThrow(
    'unknown policy "lifo" (one of: fcfs, sjf, srpt, ltr, hrrn, spf, suf, priority, work, static)',
  );
});

test("each policy says whether it preempts (the guard keeps the inner one's answer); static is the batch pipeline", () => {
  const o = { preemptK: 4, starvationBound: 10 };
  const preemptive = Object.fromEntries(['fcfs', 'sjf', 'srpt', 'ltr'].map((n) => [n, makePolicy(n, o).preemptive]));
  expect(preemptive).toEqual({ fcfs: false, sjf: false, srpt: true, ltr: true });
  expect(stepPolicy('static', o)).toBeNull();
  expect(() => makePolicy('static', o)).toThrow('policy static is the batch pipeline');
  expect(() => stepPolicy('toString', o)).toThrow('unknown policy "toString"');
});

test('the starvation guard ranks an old running request with the old paused ones by arrival: no two trade places every step', () => {
  // srpt may preempt both (generated < k); both waited past the bound; one slot. The older keeps (or takes) it and
  // keeps it at the next decision whichever of the two holds it now — before, the paused one always came first.
  const p = withAging(srpt(32), 100);
  const A = (state: QueueEntry['state']) => e('A', 0.0, 200, 5, state, 300);
  const B = (state: QueueEntry['state']) => e('B', 0.5, 40, 5, state, 250);
  expect(plan(p, [A('running'), B('paused')], 1, lim({ maxBatch: 1 }))).toEqual({ admit: [], preempt: [], resume: [] });
  expect(plan(p, [B('running'), A('paused')], 1, lim({ maxBatch: 1 }))).toEqual({
    admit: [],
    preempt: ['B'],
    resume: ['A'],
  });
  expect(plan(p, [A('running'), B('paused')], 2, lim({ maxBatch: 1 }))).toEqual({ admit: [], preempt: [], resume: [] }); // and stays
});

test('plan: free slots go down the policy order; non-preemptible running rows keep theirs', () => {
  const running = e('r0', 0, 200, 3, 'running');
  expect(plan(sjf, [running, ...queue], 1, lim({ maxBatch: 3 }))).toEqual({
    admit: ['r2', 'r4'],
    preempt: [],
    resume: [],
  });
  expect(plan(fcfs, [running, ...queue], 1, lim({ maxBatch: 3 }))).toEqual({
    admit: ['r1', 'r2'],
    preempt: [],
    resume: [],
  });
  expect(plan(sjf, [running, ...queue], 1, lim({ maxBatch: 1 }))).toEqual({ admit: [], preempt: [], resume: [] });
});

test('plan: the KV budget blocks waiting requests in strict order (no overtaking), cache rows too', () => {
  const res = (id: string) => ({ r1: 50, r2: 30, r3: 5, r4: 5 })[id] ?? 0;
  // sjf order r2 (30), r4 (5), r3 (5), r1: r2 fits 40 − 0, r4 fits, r3 would exceed 40 → blocked, r1 after it too
  expect(plan(sjf, queue, 1, lim({ maxBatch: 4, kvBudget: 38, reservation: res })).admit).toEqual(['r2', 'r4']);
  // fcfs: r1 needs 50 > 38: blocks everything behind it although r2 would fit
  expect(plan(fcfs, queue, 1, lim({ maxBatch: 4, kvBudget: 38, reservation: res })).admit).toEqual([]);
  // one free cache row left (3 held of 4)
  const held = [e('h1', 0, 5, 1, 'running'), e('h2', 0, 5, 1, 'running'), e('h3', 0, 5, 1, 'running')];
  expect(plan(sjf, [...held, ...queue], 1, lim({ maxBatch: 8, cacheRows: 4 })).admit).toEqual(['r2']);
});

test('plan: srpt preempts a running row below k for a shorter waiting one and resumes paused rows by order', () => {
  const p = srpt(16);
  const long = e('L', 0, 200, 4, 'running'); // preemptible (4 < 16), remaining 196
  const old = e('O', 0, 200, 40, 'running'); // past k: keeps its slot
  const short = e('S', 1, 12);
  expect(plan(p, [long, old, short], 1, lim({ maxBatch: 2, cacheRows: 4 }))).toEqual({
    admit: ['S'],
    preempt: ['L'],
    resume: [],
  });
  // later: S finished, L paused, a new long request W waits: L (remaining 196) beats W (300) for the free slot
  const paused = { ...long, state: 'paused' as const };
  expect(plan(p, [paused, old, e('W', 2, 300)], 2, lim({ maxBatch: 2, cacheRows: 4 }))).toEqual({
    admit: [],
    preempt: [],
    resume: ['L'],
  });
  // fcfs never preempts
  expect(plan(fcfs, [long, old, short], 1, lim({ maxBatch: 2 })).preempt).toEqual([]);
});
