/**
 * The prompt-length and priority baselines (hrrn, spf, suf, priority), the predicted-work combination (work), the
 * starvation guards as wrappers (aging.ts), ties by arrival in every policy, the policy options, and plan.ts's
 * shortcut (no order asked when it cannot change the decision) against the decision without it.
 */
import seedrandom from 'seedrandom';
import { fcfs } from '../../src/serving/policies/fcfs.js';
import { sjf } from '../../src/serving/policies/sjf.js';
import { srpt } from '../../src/serving/policies/srpt.js';
import { hrrn, byResponseRatio } from '../../src/serving/policies/hrrn.js';
import { spf } from '../../src/serving/policies/spf.js';
import { suf } from '../../src/serving/policies/suf.js';
import { priority } from '../../src/serving/policies/priority.js';
import { tokenWork, work } from '../../src/serving/policies/work.js';
import { withAging, withGuard, withResponseRatio, withWaitGuard } from '../../src/serving/policies/aging.js';
import { makePolicy, policyReadsPrediction } from '../../src/serving/policies/index.js';
import { plan, type EngineLimits, type Plan } from '../../src/serving/policies/plan.js';
import { uncachedTokens, type Policy, type QueueEntry } from '../../src/serving/policies/policy.js';
import {
  policyConfigProblem,
  policyOptions,
  policyOptionsOf,
  type PolicyConfig,
} from '../../src/serving/policies/options.js';
import { z } from 'zod';
import { stageFields } from '../../src/core/options/zod.js';
import { POLICY_NAMES } from '../../src/core/names.js';

/** A waiting entry: id (its digits = workload position), arrival (s), and the fields under test. */
function e(id: string, arrival: number, f: Partial<QueueEntry> = {}): QueueEntry {
  const predicted = f.predicted ?? 100;
  return {
    id,
    index: Number(id.replace(/\D/g, '')),
    arrival,
    waited: 0,
    state: 'waiting',
    predicted,
    generated: 0,
    remaining: Math.max(0, predicted - (f.generated ?? 0)),
    ...f,
  };
}
const ids = (es: QueueEntry[]) => es.map((x) => x.id);

test('spf orders by prompt tokens, suf by the uncached part; an unknown prompt sorts last; neither reads predictions', () => {
  const q = [
    e('r1', 0, { promptTokens: 300, cachedTokens: 280 }), // uncached 20
    e('r2', 1, { promptTokens: 50 }), // uncached 50
    e('r3', 2), // prompt unknown
    e('r4', 3, { promptTokens: 120, cachedTokens: 0 }), // uncached 120
  ];
  expect(ids(spf.order(q, 5))).toEqual(['r2', 'r4', 'r1', 'r3']); // 50, 120, 300, unknown
  expect(ids(suf().order(q, 5))).toEqual(['r1', 'r2', 'r4', 'r3']); // 20, 50, 120, unknown
  expect([spf.readsPrediction, suf().readsPrediction, spf.preemptive, suf().preemptive]).toEqual([
    false,
    false,
    false,
    false,
  ]);
  // prompt tokens already held (running, paused) are no prefill work; more cached than prompt clamps at 0
  expect(uncachedTokens(e('x', 0, { promptTokens: 40, state: 'paused' }))).toBe(0);
  expect(uncachedTokens(e('x', 0, { promptTokens: 40, cachedTokens: 64 }))).toBe(0);
  // a request the engine took out without its KV (recomputed) prefills its generated tokens again
  expect(uncachedTokens(e('x', 0, { promptTokens: 40, cachedTokens: 10, generated: 25 }))).toBe(55);
});

test("suf with TensorRT-LLM's context_starvation_iterations: more than N iterations waited goes first, oldest first", () => {
  const q = [
    e('r1', 0.0, { promptTokens: 900, waited: 40 }),
    e('r2', 0.5, { promptTokens: 800, waited: 31 }),
    e('r3', 0.9, { promptTokens: 10, waited: 30 }), // exactly N: not starved
  ];
  expect(ids(suf(30).order(q, 1))).toEqual(['r1', 'r2', 'r3']);
  expect(ids(suf().order(q, 1))).toEqual(['r3', 'r2', 'r1']);
  expect(() => suf(0)).toThrow('starvation bound');
});

test('hrrn: highest (waited + prefill) / prefill first — 1 + waited/uncached — as SGLang, none starves', () => {
  // at t = 10: r1 waited 10 s over 1000 tokens (0.01/token), r2 2 s over 100 (0.02), r3 1 s over 50 (0.02, later),
  // r4 0.5 s over 10 (0.05), r5 nothing to prefill (drained first), r6 prompt unknown (last)
  const q = [
    e('r1', 0, { promptTokens: 1000 }),
    e('r2', 8, { promptTokens: 100 }),
    e('r3', 9, { promptTokens: 50 }),
    e('r4', 9.5, { promptTokens: 10 }),
    e('r5', 9.9, { promptTokens: 64, cachedTokens: 64 }),
    e('r6', 1),
  ];
  expect(ids(hrrn.order(q, 10))).toEqual(['r5', 'r4', 'r2', 'r3', 'r1', 'r6']);
  // at t = 100 the ratios have moved apart: r1 0.1, r2 0.92, r3 1.82, r4 9.05 — r3 now before r2
  expect(ids(hrrn.order(q.slice(0, 4), 100))).toEqual(['r4', 'r3', 'r2', 'r1']);
  // a long request waiting long enough overtakes a short fresh one: r1 at t = 1000 (1.0/token) vs a new 10-token one (0.05)
  expect(ids(hrrn.order([e('new9', 995, { promptTokens: 10 }), e('r1', 0, { promptTokens: 1000 })], 1000))).toEqual([
    'r1',
    'new9',
  ]);
  // just arrived (waited 0): every ratio is 1, so arrival decides
  expect(ids(hrrn.order([e('b2', 3, { promptTokens: 5 }), e('a1', 3, { promptTokens: 500 })], 3))).toEqual([
    'a1',
    'b2',
  ]);
  expect([hrrn.readsPrediction, hrrn.preemptive, hrrn.key]).toEqual([false, false, undefined]);
});

test('priority: lower first, ties (and no priority = 0) by arrival, as vLLM', () => {
  const q = [e('r1', 0, { priority: 2 }), e('r2', 1), e('r3', 2, { priority: -1 }), e('r4', 3, { priority: 0 })];
  expect(ids(priority.order(q, 4))).toEqual(['r3', 'r2', 'r4', 'r1']);
  expect(ids(priority.order([e('r2', 1), e('r1', 0)], 4))).toEqual(['r1', 'r2']); // none set: FCFS
  expect(priority.readsPrediction).toBe(false);
});

test('work: weight × uncached prompt + predicted decode; a custom cost; unpredicted last, unknown prompt = decode only', () => {
  const q = [
    e('r1', 0, { promptTokens: 400, predicted: 20 }), // 0.25·400 + 20 = 120
    e('r2', 1, { promptTokens: 40, predicted: 90 }), // 10 + 90 = 100
    e('r3', 2, { predicted: 110 }), // prompt unknown: 110
    e('r4', 3, { promptTokens: 8, predicted: NaN, remaining: NaN }), // not predicted: last
  ];
  const w = work(tokenWork(0.25));
  expect(q.map((x) => w.key!(x))).toEqual([120, 100, 110, NaN]);
  expect(ids(w.order(q, 4))).toEqual(['r2', 'r3', 'r1', 'r4']);
  expect(ids(sjf.order(q, 4))).toEqual(['r1', 'r2', 'r3', 'r4']); // sjf ignores the prompt
  // a cost model in seconds: 1 ms per prompt token, 30 ms per decode token
  const secs = work((p, d) => 0.001 * p + 0.03 * d);
  expect(secs.key!(q[0])).toBeCloseTo(0.4 + 0.6, 12);
  expect(ids(secs.order(q, 4))).toEqual(['r1', 'r2', 'r3', 'r4']); // 1.0, 2.74, 3.3 s
  expect(() => tokenWork(-1)).toThrow('prefill weight');
  expect(w.readsPrediction).toBe(true);
});

test('ties go by arrival, then workload position, in every policy', () => {
  // equal keys for every policy (same prompt, prediction, priority, waited), arrival order ≠ position order
  const same = { promptTokens: 64, predicted: 50, priority: 1 };
  const q = [e('r3', 2, same), e('r1', 1, same), e('r0', 1, same), e('r2', 0.5, same)];
  for (const name of POLICY_NAMES) {
    if (name === 'static') continue;
    const p = makePolicy(name, { preemptK: 8, starvationBound: 100 });
    expect([name, ids(p.order(q, 5))]).toEqual([name, ['r2', 'r0', 'r1', 'r3']]);
  }
});

test('the waiting-time guard: more than the bound in seconds since arrival goes first, oldest first', () => {
  const g = withWaitGuard(sjf, 2);
  const q = [e('r1', 0, { predicted: 300 }), e('r2', 1, { predicted: 200 }), e('r3', 3.5, { predicted: 5 })];
  expect(ids(g.order(q, 4))).toEqual(['r1', 'r2', 'r3']); // r1 waited 4 s, r2 3 s: both starved; then r3
  expect(ids(g.order(q, 2.5))).toEqual(['r1', 'r3', 'r2']); // only r1 (2.5 s) starved
  expect(() => withWaitGuard(sjf, 0)).toThrow('positive number of seconds');
});

test('HRRN-style aging of a policy key: highest 1 + waited / key first; refuses a policy without a key', () => {
  const g = withResponseRatio(sjf);
  // t = 10: r1 10 s / 500 = 0.02, r2 2 s / 50 = 0.04, r3 1 s / 100 = 0.01
  const q = [e('r1', 0, { predicted: 500 }), e('r2', 8, { predicted: 50 }), e('r3', 9, { predicted: 100 })];
  expect(ids(g.order(q, 10))).toEqual(['r2', 'r1', 'r3']);
  expect(ids(g.order(q, 10))).toEqual(ids(byResponseRatio(q, 10, (x) => x.predicted)));
  expect(ids(sjf.order(q, 10))).toEqual(['r2', 'r3', 'r1']);
  expect(g.preemptive).toBe(false);
  expect(withResponseRatio(srpt(4)).preemptible(e('x', 0, { state: 'running', generated: 2 }))).toBe(true);
  expect(() => withResponseRatio(fcfs)).toThrow('fcfs sorts by none');
});

test('withGuard: off leaves the policy, steps / seconds / ratio wrap it; the options pick the guard', () => {
  const q = [e('r1', 0, { predicted: 300, waited: 500 }), e('r2', 9, { predicted: 5, waited: 1 })];
  expect(withGuard(sjf, { kind: 'off' })).toBe(sjf);
  expect(ids(withGuard(sjf, { kind: 'steps', steps: 256 }).order(q, 10))).toEqual(['r1', 'r2']);
  expect(ids(withGuard(sjf, { kind: 'seconds', seconds: 60 }).order(q, 10))).toEqual(['r2', 'r1']);
  expect(ids(withGuard(sjf, { kind: 'ratio' }).order(q, 10))).toEqual(['r2', 'r1']); // 10/300 = 0.033 < 1/5
  expect(ids(withGuard(sjf, { kind: 'ratio' }).order([q[0], { ...q[1], arrival: 99.9 }], 100))).toEqual(['r1', 'r2']); // 0.33 > 0.02
  const o = (guard: PolicyConfig['guard'], extra: Partial<PolicyConfig> = {}) =>
    policyOptionsOf({ policy: 'sjf', preempt_k: 32, max_length: 256, guard, work_prefill_weight: 0.25, ...extra });
  expect(ids(makePolicy('sjf', o('off')).order(q, 10))).toEqual(['r2', 'r1']);
  expect(ids(makePolicy('sjf', o('steps')).order(q, 10))).toEqual(['r1', 'r2']); // 500 > max_length 256
  expect(ids(makePolicy('sjf', o('steps', { starvation_steps: 600 })).order(q, 10))).toEqual(['r2', 'r1']);
  expect(() => makePolicy('sjf', o('seconds'))).toThrow('needs starvation_seconds');
  // hrrn and priority run unguarded; fcfs is fcfs
  expect(makePolicy('hrrn', o('steps'))).toBe(hrrn);
  expect(makePolicy('priority', o('ratio'))).toBe(priority);
});

test('which policies need a predictor; the cross-key checks of the policy options', () => {
  const reads = Object.fromEntries(POLICY_NAMES.map((n) => [n, policyReadsPrediction(n)]));
  expect(reads).toEqual({
    fcfs: false,
    sjf: true,
    srpt: true,
    ltr: true,
    hrrn: false,
    spf: false,
    suf: false,
    priority: false,
    work: true,
    static: true,
  });
  const c: PolicyConfig = { policy: 'sjf', preempt_k: 32, max_length: 256, guard: 'steps', work_prefill_weight: 0.25 };
  const k = (key: string) => `--${key.replace(/_/g, '-')}`;
  expect(policyConfigProblem(c, k)).toBeUndefined();
  expect(policyConfigProblem({ ...c, guard: 'seconds' }, k)).toBe(
    'serve: --guard seconds needs --starvation-seconds (seconds a request may wait)',
  );
  expect(policyConfigProblem({ ...c, starvation_seconds: 3 }, k)).toBe(
    'serve: --starvation-seconds is read only by --guard seconds (got steps)',
  );
  expect(policyConfigProblem({ ...c, context_starvation_iterations: 8 }, k)).toBe(
    "serve: --context-starvation-iterations is suf's (TensorRT-LLM's) starvation bound, not sjf's",
  );
  expect(policyConfigProblem({ ...c, policy: 'suf', context_starvation_iterations: 8 }, k)).toBeUndefined();
});

/** plan.ts before its shortcut (the policy's order asked every time): the reference the shortcut must equal. */
function planReference(policy: Policy, entries: QueueEntry[], now: number, lim: EngineLimits): Plan {
  const running = entries.filter((x) => x.state === 'running');
  const paused = entries.filter((x) => x.state === 'paused');
  const pinned = new Set(running.filter((x) => !policy.preemptible(x)).map((x) => x.id));
  const keep = new Set(pinned);
  const admit: string[] = [];
  let slots = lim.maxBatch - pinned.size;
  let kv = lim.kvReserved;
  let blocked = false;
  for (const x of policy.order(
    entries.filter((y) => !pinned.has(y.id)),
    now,
  )) {
    if (slots <= 0) break;
    if (x.state !== 'waiting') {
      keep.add(x.id);
      slots--;
      continue;
    }
    if (blocked) continue;
    const need = lim.reservation(x.id);
    if (
      running.length + paused.length + admit.length + 1 > lim.cacheRows ||
      (lim.kvBudget !== null && kv + need > lim.kvBudget)
    ) {
      blocked = true;
      continue;
    }
    admit.push(x.id);
    kv += need;
    slots--;
  }
  return {
    admit,
    preempt: running.filter((x) => !keep.has(x.id)).map((x) => x.id),
    resume: paused.filter((x) => keep.has(x.id)).map((x) => x.id),
  };
}

test('plan: the shortcut decides exactly as asking the order every time (2000 random queues, every policy)', () => {
  const rng = seedrandom('plan-shortcut');
  const int = (n: number) => Math.floor(rng() * n);
  let asked = 0;
  let skipped = 0;
  for (let t = 0; t < 2000; t++) {
    const maxBatch = 1 + int(4);
    const pausedRows = int(3);
    const nRun = int(maxBatch + 1);
    const nPaused = int(pausedRows + 1);
    const nWait = int(6);
    const es: QueueEntry[] = [];
    const push = (state: QueueEntry['state'], n: number) => {
      for (let i = 0; i < n; i++) {
        const predicted = 1 + int(200);
        es.push(
          e(`r${es.length}`, int(10), {
            state,
            predicted,
            generated: state === 'waiting' ? 0 : int(predicted),
            promptTokens: 1 + int(100),
            cachedTokens: int(40),
            priority: int(3),
            waited: int(400),
          }),
        );
      }
    };
    push('running', nRun);
    push('paused', nPaused);
    push('waiting', nWait);
    const name = POLICY_NAMES[int(POLICY_NAMES.length - 1)]; // not static
    const policy = makePolicy(name, { preemptK: int(60), starvationBound: 1 + int(300) });
    const lim: EngineLimits = {
      maxBatch,
      cacheRows: maxBatch + pausedRows,
      kvBudget: rng() < 0.5 ? null : 200 + int(400),
      kvReserved: int(200),
      reservation: (id) => 20 + (Number(id.slice(1)) % 7) * 15,
    };
    let called = false;
    const spy: Policy = { ...policy, order: (x, now) => ((called = true), policy.order(x, now)) };
    expect(plan(spy, es, 10, lim)).toEqual(planReference(policy, es, 10, lim));
    if (called) asked++;
    else skipped++;
  }
  // both paths ran often enough to mean something
  expect(asked).toBeGreaterThan(300);
  expect(skipped).toBeGreaterThan(300);
});

test('the policy option entries as a stage reads them: defaults, bounds, and the PolicyOptions they give', () => {
  const schema = z.strictObject(stageFields(policyOptions));
  expect(schema.parse({})).toEqual({ guard: 'steps', work_prefill_weight: 0.25 });
  expect(() => schema.parse({ guard: 'sometimes' })).toThrow(/sometimes.*is not one of off, steps, seconds, ratio/);
  expect(() => schema.parse({ starvation_seconds: 0 })).toThrow('expected a number > 0, got 0');
  expect(() => schema.parse({ context_starvation_iterations: 2.5 })).toThrow('expected an integer');
  const c = schema.parse({ guard: 'seconds', starvation_seconds: 1.5, work_prefill_weight: 0.1 });
  expect(policyOptionsOf({ ...c, policy: 'work', preempt_k: 16, max_length: 128 })).toEqual({
    preemptK: 16,
    starvationBound: 128,
    guard: 'seconds',
    starvationSeconds: 1.5,
    contextStarvationIterations: undefined,
    workPrefillWeight: 0.1,
  });
});
