/**
 * The scheduling policy interface of the serving harness. A policy is pure: given the requests that could
 * hold a decode slot — waiting (not yet admitted), paused (preempted, KV kept) and running — and the time,
 * it puts them in order, best first, and says which running requests it would let go. The harness fills the
 * slots in that order (plan.ts); the engine never decides order. It also says what it is — whether it ever
 * preempts — so nothing above tests a policy's name.
 */

export interface QueueEntry {
  id: string;
  /** position in the workload: the tie-break that keeps every order deterministic */
  index: number;
  /** arrival time (seconds) */
  arrival: number;
  /** decode steps the engine has run since the request arrived (the starvation guard's clock: hardware-independent) */
  waited: number;
  state: 'waiting' | 'paused' | 'running';
  /** predicted total length (tokens) */
  predicted: number;
  /** tokens generated so far */
  generated: number;
  /** predicted tokens still to generate: a per-step estimate when the predictor has one, else max(predicted − generated, 0) */
  remaining: number;
}

export interface Policy {
  readonly name: string;
  /** whether it ever takes a running request out of the decode batch (the engine then keeps cache rows for paused ones) */
  readonly preemptive: boolean;
  /** candidates, best first */
  order(entries: QueueEntry[], now: number): QueueEntry[];
  /** whether a running request may be taken out of the decode batch for a better one */
  preemptible(e: QueueEntry): boolean;
}

/**
 * Sort by a key, ties by arrival then workload position (stable and deterministic). A NaN key (a request not
 * predicted yet: the harness predicts only when requests compete for slots) sorts last.
 */
export function byKey(entries: QueueEntry[], key: (e: QueueEntry) => number): QueueEntry[] {
  const k = (e: QueueEntry) => (Number.isNaN(key(e)) ? Infinity : key(e));
  return [...entries].sort(
    (a, b) => (k(a) === k(b) ? 0 : k(a) < k(b) ? -1 : 1) || a.arrival - b.arrival || a.index - b.index,
  );
}

/** Limited preemption (srpt, ltr): a running request may be preempted only while it has generated fewer than k tokens. */
export function belowK(k: number, policy: string): (e: QueueEntry) => boolean {
  if (!Number.isInteger(k) || k < 0)
    throw new Error(`${policy}: the preemption limit k must be an integer ≥ 0, got ${k}`);
  return (e) => e.generated < k;
}
