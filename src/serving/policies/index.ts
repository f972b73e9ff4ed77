/** The policies by name, each non-FCFS one under the starvation guard (aging.ts). */
import type { Policy } from './policy.js';
import { fcfs } from './fcfs.js';
import { sjf } from './sjf.js';
import { srpt } from './srpt.js';
import { ltr } from './ltr.js';
import { withAging } from './aging.js';

export type { Policy, QueueEntry } from './policy.js';
import { POLICY_NAMES } from '../../core/names.js';

export interface PolicyOptions {
  /** srpt/ltr: a running request may be preempted while it has generated fewer tokens than this */
  preemptK: number;
  /** decode steps after which a waiting request goes first (every policy but fcfs) */
  starvationBound: number;
}

export function makePolicy(name: string, o: PolicyOptions): Policy {
  switch (name) {
    case 'fcfs':
      return fcfs;
    case 'sjf':
      return withAging(sjf, o.starvationBound);
    case 'srpt':
      return withAging(srpt(o.preemptK), o.starvationBound);
    case 'ltr':
      return withAging(ltr(o.preemptK), o.starvationBound);
    case 'static':
      throw new Error('policy static is the batch pipeline (serveStatic), not a step-level policy');
    default:
      throw new Error(`unknown policy "${name}" (one of: ${POLICY_NAMES.join(', ')})`);
  }
}
