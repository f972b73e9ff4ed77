/**
 * The policies by name, each non-FCFS one under the starvation guard (aging.ts); `static` names no step-level
 * policy but the paper's batch pipeline (serving/static.ts), so `stepPolicy` gives null for it.
 */
import type { Policy } from './policy.js';
import { fcfs } from './fcfs.js';
import { sjf } from './sjf.js';
import { srpt } from './srpt.js';
import { ltr } from './ltr.js';
import { withAging } from './aging.js';

export type { Policy, QueueEntry } from './policy.js';
import { POLICY_NAMES, type PolicyName } from '../../core/names.js';

export interface PolicyOptions {
  /** srpt/ltr: a running request may be preempted while it has generated fewer tokens than this */
  preemptK: number;
  /** decode steps after which a waiting request goes first (every policy but fcfs) */
  starvationBound: number;
}

/** Each name's policy; null: the static batch pipeline, which orders nothing step by step. */
const POLICIES: Record<PolicyName, (o: PolicyOptions) => Policy | null> = {
  fcfs: () => fcfs,
  sjf: (o) => withAging(sjf, o.starvationBound),
  srpt: (o) => withAging(srpt(o.preemptK), o.starvationBound),
  ltr: (o) => withAging(ltr(o.preemptK), o.starvationBound),
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
