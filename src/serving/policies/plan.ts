/**
 * One scheduling decision: which waiting requests to admit, which running ones to preempt and which paused
 * ones to resume, from the policy's order and the engine's limits. Running requests the policy may not
 * preempt keep their slots; the other slots go down the policy's order. A waiting request needs a free cache
 * row and its KV reservation; the first that does not fit blocks every waiting request after it (strict
 * order, as vLLM's queue), while paused and running ones, which hold their KV already, still take slots. Where
 * the engine has a token budget per iteration (vLLM's max_num_batched_tokens), a waiting request also needs its
 * prefill's tokens of it — all of them, or with chunked prefill at least one (the rest follows in later iterations).
 * Whatever holds KV and gets no slot is paused — at most the rows the engine keeps for them (see below).
 */
import type { Policy, QueueEntry } from './policy.js';

export interface EngineLimits {
  maxBatch: number;
  /** cache rows: decode slots + rows that paused requests may keep */
  cacheRows: number;
  kvBudget: number | null;
  /** KV tokens reserved by the running and paused requests */
  kvReserved: number;
  /** KV tokens a waiting request would reserve */
  reservation(id: string): number;
  /** prompt tokens the next iteration can still take for new prefills (absent: no token budget) */
  tokenBudget?: number;
  /** tokens admitting a waiting request takes from that budget */
  tokenCost?(id: string): number;
  /** a prefill may start with part of its tokens and finish in later iterations (chunked prefill) */
  partialPrefill?: boolean;
}

export interface Plan {
  admit: string[];
  preempt: string[];
  resume: string[];
}

export function plan(policy: Policy, entries: QueueEntry[], now: number, lim: EngineLimits): Plan {
  const running = entries.filter((e) => e.state === 'running');
  const paused = entries.filter((e) => e.state === 'paused');
  const pinned = new Set(running.filter((e) => !policy.preemptible(e)).map((e) => e.id));
  const keep = new Set(pinned); // requests holding KV that get a slot
  const admit: string[] = [];
  let slots = lim.maxBatch - pinned.size;
  let kv = lim.kvReserved;
  const budget = lim.tokenBudget ?? Infinity;
  let tokens = 0; // of the budget, taken by this plan's admissions
  let blocked = false;
  for (const e of policy.order(
    entries.filter((x) => !pinned.has(x.id)),
    now,
  )) {
    if (slots <= 0) break;
    if (e.state !== 'waiting') {
      keep.add(e.id);
      slots--;
      continue;
    }
    if (blocked) continue;
    const need = lim.reservation(e.id);
    // a whole prefill must fit the token budget; a chunked one needs a token of it now
    const cost = lim.tokenCost?.(e.id) ?? 0;
    const take = lim.partialPrefill ? Math.min(cost, budget - tokens) : cost;
    if (
      running.length + paused.length + admit.length + 1 > lim.cacheRows ||
      (lim.kvBudget !== null && kv + need > lim.kvBudget) ||
      (budget !== Infinity && (take <= 0 || tokens + take > budget))
    ) {
      blocked = true;
      continue;
    }
    admit.push(e.id);
    kv += need;
    tokens += take;
    slots--;
  }
  // Paused afterwards = holders − kept. When the slots ran out, kept + admitted = maxBatch, so paused ≤ holders + admitted −
  // maxBatch ≤ cacheRows − maxBatch; otherwise every holder was kept. Either way within the rows kept for paused requests.
  return {
    admit,
    preempt: running.filter((e) => !keep.has(e.id)).map((e) => e.id),
    resume: paused.filter((e) => keep.has(e.id)).map((e) => e.id),
  };
}
