/**
 * Shortest prefill first: waiting requests ordered by their prompt length in tokens, ties by arrival; never
 * preempts, reads no prediction. SGLang ships it as `shortest-prefill-first` (python/sglang/srt/managers/
 * schedule_policy.py, `_sort_by_shortest_prefill`: key max(1, prompt + output − matched prefix), then queue entry
 * time), which subtracts its radix-cache match; this one orders by the whole prompt — what a server without a
 * prefix cache sees — and `suf` (suf.ts) is the cache-aware variant. A request whose prompt length is unknown
 * (no `promptTokens`) sorts last, in arrival order.
 */
import { byKey, type Policy, type QueueEntry } from './policy.js';

/** the prompt (and, for a request recomputed after losing its KV, its generated tokens); held KV: nothing to prefill */
const key = (e: QueueEntry) => {
  if (e.state !== 'waiting') return 0;
  return e.promptTokens === undefined ? NaN : e.promptTokens + e.generated;
};

export const spf: Policy = {
  name: 'spf',
  preemptive: false,
  order: (entries) => byKey(entries, key),
  preemptible: () => false,
  readsPrediction: false,
  key,
};
