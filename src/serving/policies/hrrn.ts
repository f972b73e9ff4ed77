/**
 * Highest response ratio next on prompt length, as SGLang's `hrrn` (python/sglang/srt/managers/schedule_policy.py,
 * `_sort_by_hrrn`): response ratio = (waiting + expected service) / expected service = 1 + waiting / service, the
 * service estimated from the prompt tokens still to prefill (`uncachedTokens`). A short prompt goes early, and any
 * request's ratio grows while it waits, so none starves — it needs no starvation guard. SGLang measures waiting in
 * prefill tokens the engine processed since the request arrived (equal to seconds × prefill throughput when that is
 * constant); here waiting is seconds (now − arrival). Only the order of the ratios matters, and the order of
 * waiting / service does not change when either is scaled, so no seconds-per-token rate is needed. A request with
 * nothing to prefill goes first (SGLang drains those too); one with an unknown prompt length sorts last. Ties
 * (e.g. every request arrived just now) go by arrival. Never preempts, reads no prediction. (SGLang also falls back
 * to FCFS above 128 waiting requests to save its sort; this harness always sorts.)
 */
import { byKey, uncachedTokens, type Policy, type QueueEntry } from './policy.js';

/**
 * `entries` by response ratio, highest first: waiting seconds (now − arrival) over `service(e)` (any unit ≥ 0; 0:
 * first; NaN: last). The ordering of HRRN and of the response-ratio guard (aging.ts).
 */
export function byResponseRatio(entries: QueueEntry[], now: number, service: (e: QueueEntry) => number): QueueEntry[] {
  return byKey(entries, (e) => {
    const s = service(e);
    if (Number.isNaN(s)) return NaN;
    if (s <= 0) return -Infinity;
    return -Math.max(0, now - e.arrival) / s; // minus (ratio − 1): the highest ratio first
  });
}

export const hrrn: Policy = {
  name: 'hrrn',
  preemptive: false,
  order: (entries, now) => byResponseRatio(entries, now, uncachedTokens),
  preemptible: () => false,
  readsPrediction: false,
};
