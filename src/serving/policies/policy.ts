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
  // ---- optional: what the prompt-length and priority policies read (hrrn, spf, suf, work, priority). The harness
  //      fills them where it knows them; each policy says what it does without them (its file, docs/serving.md).
  /** prompt tokens as the engine prefills them (BOS included; StepRequest.promptTokens) */
  promptTokens?: number;
  /**
   * prompt tokens whose KV is already cached when the request is admitted (a shared system prefix copied into the
   * row, a prefix-cache hit): prefill work is promptTokens − cachedTokens. Absent: 0.
   */
  cachedTokens?: number;
  /** user-assigned priority, lower first (vLLM's convention). Absent: 0, every request alike. */
  priority?: number;
}

/**
 * Tokens still to prefill (≥ 0) before a waiting request decodes: its prompt, plus what it generated before the engine
 * dropped its KV (a recomputed request re-prefills those too, as SGLang's prefill work counts output ids), less
 * `cachedTokens`; NaN when the prompt length is unknown (the request then sorts last, as an unpredicted one). A
 * request that holds its KV (running, paused) has none.
 */
export function uncachedTokens(e: QueueEntry): number {
  if (e.state !== 'waiting') return 0;
  if (e.promptTokens === undefined) return NaN;
  return Math.max(0, e.promptTokens + e.generated - (e.cachedTokens ?? 0));
}

export interface Policy {
  readonly name: string;
  /** whether it ever takes a running request out of the decode batch (the engine then keeps cache rows for paused ones) */
  readonly preemptive: boolean;
  /** candidates, best first */
  order(entries: QueueEntry[], now: number): QueueEntry[];
  /** whether a running request may be taken out of the decode batch for a better one */
  preemptible(e: QueueEntry): boolean;
  /** whether its order reads `predicted` / `remaining`: a policy that does not needs no predictor (none is asked) */
  readonly readsPrediction: boolean;
  /**
   * The quantity it sorts by, lower first (tokens, token-equivalents or a score; NaN: unknown, last), for the
   * policies that sort by one: the response-ratio guard (aging.ts) ages it. Absent for fcfs, priority and hrrn.
   */
  key?(e: QueueEntry): number;
}

/**
 * Sort by a key, ties by arrival then workload position (stable and deterministic). A NaN key (a request not
 * predicted yet: the harness predicts only when requests compete for slots) sorts last.
 */
export function byKey(entries: QueueEntry[], key: (e: QueueEntry) => number): QueueEntry[] {
  // each key once (a decorate-sort-undecorate: the comparator runs O(n log n) times and reads two numbers)
  const keyed = entries.map((e) => {
    const k = key(e);
    return { e, k: Number.isNaN(k) ? Infinity : k };
  });
  keyed.sort((a, b) => a.k - b.k || a.e.arrival - b.e.arrival || a.e.index - b.e.index);
  return keyed.map((x) => x.e);
}

/** Limited preemption (srpt, ltr): a running request may be preempted only while it has generated fewer than k tokens. */
export function belowK(k: number, policy: string): (e: QueueEntry) => boolean {
  if (!Number.isInteger(k) || k < 0)
    throw new Error(`${policy}: the preemption limit k must be an integer ≥ 0, got ${k}`);
  return (e) => e.generated < k;
}
