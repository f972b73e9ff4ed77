/**
 * Learning to rank (Fu et al. 2024): requests ordered by the predictor's score for their total length — only
 * the order of the scores matters, so a ranker that never predicts a length in tokens fits — re-ranked at every
 * step with the running ones, which a better-ranked request may preempt while they have generated fewer than
 * `k` tokens (KV kept). Unlike srpt it does not subtract what a request has generated: a score is not a length.
 */
import { belowK, byKey, type Policy, type QueueEntry } from './policy.js';

const key = (e: QueueEntry) => e.predicted;

export function ltr(k: number): Policy {
  return {
    name: 'ltr',
    preemptive: true,
    order: (entries) => byKey(entries, key),
    preemptible: belowK(k, 'ltr'),
    readsPrediction: true,
    key,
  };
}
