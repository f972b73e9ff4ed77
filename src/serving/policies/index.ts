/**
 * The policies by name. Those that order by a length — predicted (sjf, srpt, ltr, work) or the prompt's (spf, suf)
 * — run under the starvation guard the options choose (aging.ts; default: the decode-step guard); fcfs needs none,
 * hrrn ages by itself, and priority keeps the user's order. `static` names no step-level policy but the paper's
 * batch pipeline (serving/static.ts), so `stepPolicy` gives null for it.
 */
import type { Policy } from './policy.js';
import { fcfs } from './fcfs.js';
import { sjf } from './sjf.js';
import { srpt } from './srpt.js';
import { ltr } from './ltr.js';
import { hrrn } from './hrrn.js';
import { spf } from './spf.js';
import { suf } from './suf.js';
import { priority } from './priority.js';
import { tokenWork, work } from './work.js';
import { withGuard, type GuardName, type GuardSpec } from './aging.js';

export type { Policy, QueueEntry } from './policy.js';
import { POLICY_NAMES, type PolicyName } from '../../core/names.js';

export interface PolicyOptions {
  /** srpt/ltr: a running request may be preempted while it has generated fewer tokens than this */
  preemptK: number;
  /** decode steps after which a waiting request goes first (the `steps` guard) */
  starvationBound: number;
  /** which starvation guard the length-ordered policies run under (default steps) */
  guard?: GuardName;
  /** the `seconds` guard: seconds after arrival after which a request goes first */
  starvationSeconds?: number;
  /** suf: TensorRT-LLM's context_starvation_iterations (decode steps; none by default, as there) */
  contextStarvationIterations?: number;
  /** work: decode-step equivalents per uncached prompt token (default DEFAULT_PREFILL_WEIGHT) */
  workPrefillWeight?: number;
}

/** work's default prefill weight: the real engine's, work.ts */
export const DEFAULT_PREFILL_WEIGHT = 0.25;

/** The guard the options name. */
export function guardSpec(o: PolicyOptions): GuardSpec {
  const kind = o.guard ?? 'steps';
  switch (kind) {
    case 'off':
    case 'ratio':
      return { kind };
    case 'steps':
      return { kind, steps: o.starvationBound };
    case 'seconds':
      if (o.starvationSeconds === undefined)
        throw new Error('the seconds guard needs starvation_seconds (seconds a request may wait before it goes first)');
      return { kind, seconds: o.starvationSeconds };
  }
}

const guarded = (p: Policy) => (o: PolicyOptions) => withGuard(p, guardSpec(o));

/** Each name's policy; null: the static batch pipeline, which orders nothing step by step. */
const POLICIES: Record<PolicyName, (o: PolicyOptions) => Policy | null> = {
  fcfs: () => fcfs,
  sjf: guarded(sjf),
  srpt: (o) => guarded(srpt(o.preemptK))(o),
  ltr: (o) => guarded(ltr(o.preemptK))(o),
  hrrn: () => hrrn,
  spf: guarded(spf),
  suf: (o) => guarded(suf(o.contextStarvationIterations))(o),
  priority: () => priority,
  work: (o) => guarded(work(tokenWork(o.workPrefillWeight ?? DEFAULT_PREFILL_WEIGHT)))(o),
  static: () => null,
};

/** The step-level policy `name` chooses, or null for the static batch pipeline. */
export function stepPolicy(name: string, o: PolicyOptions): Policy | null {
  const make = Object.hasOwn(POLICIES, name) ? POLICIES[name as PolicyName] : undefined;
  if (!make) throw new Error(`unknown policy "${name}" (one of: ${POLICY_NAMES.join(', ')})`);
  return make(o);
}

/** The step-level policy `name` chooses; refuses `static`. */
export function makePolicy(name: string, o: PolicyOptions): Policy {
  const policy = stepPolicy(name, o);
  if (!policy) throw new Error('policy static is the batch pipeline (serveStatic), not a step-level policy');
  return policy;
}

/** Whether policy `name` orders by a predicted length (then it needs a predictor); static: its own rules. */
export function policyReadsPrediction(name: PolicyName): boolean {
  if (name === 'static') return true;
  return makePolicy(name, { preemptK: 0, starvationBound: 1, guard: 'off' }).readsPrediction;
}
