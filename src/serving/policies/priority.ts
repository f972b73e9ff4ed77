/**
 * User-assigned priority, as vLLM's `--scheduling-policy priority`: lower value first, ties by arrival (then
 * workload position); a request without a priority counts as 0, so a workload without priorities is served FCFS.
 * Never preempts here (vLLM's priority scheduler may also preempt a running lower-priority request when KV runs
 * out; this harness's KV budget blocks admission instead) and reads no prediction. It runs without the starvation
 * guard: aging a user's priority would change what it means.
 */
import { byKey, type Policy, type QueueEntry } from './policy.js';

export const priority: Policy = {
  name: 'priority',
  preemptive: false,
  order: (entries) => byKey(entries, (e: QueueEntry) => e.priority ?? 0),
  preemptible: () => false,
  readsPrediction: false,
};
