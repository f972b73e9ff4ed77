/**
 * Shortest predicted remaining time first with limited preemption (TRAIL, Shahout et al. 2025): candidates
 * ordered by predicted remaining tokens; a running request may give its slot to a shorter one only while it
 * has generated fewer than `k` tokens (its KV stays in memory, so resuming costs nothing), which bounds the
 * memory that paused requests hold and the work a long request can lose its place on.
 */
import { belowK, byKey, type Policy, type QueueEntry } from './policy.js';

const key = (e: QueueEntry) => e.remaining;

export function srpt(k: number): Policy {
  return {
    name: 'srpt',
    preemptive: true,
    order: (entries) => byKey(entries, key),
    preemptible: belowK(k, 'srpt'),
    readsPrediction: true,
    key,
  };
}
