/**
 * One scheduling decision: which waiting requests to admit, which running ones to preempt and which paused
 * ones to resume, from the policy's order and the engine's limits. Running requests the policy may not
 * preempt keep their slots; the other slots go down the policy's order. A waiting request needs a free cache
 * row and its KV reservation; the first that does not fit blocks every waiting request after it (strict
 * order, as vLLM's queue), while paused and running ones, which hold their KV already, still take slots. Where
 * the engine has a token budget per iteration (vLLM's max_num_batched_tokens), a waiting request also needs its
 * prefill's tokens of it — all of them, or with chunked prefill at least one (the rest follows in later iterations).
 * Whatever holds KV and gets no slot is paused — at most the rows the engine keeps for them (see below).
 *
 * It runs once per engine iteration (every ~0.4 ms decode step of the real engine), so it asks the policy for an
 * order only when the order can change something: when no slot is left to the policy (every slot held by a running
 * request it may not preempt), or nothing waits or is paused, the decision is empty whatever the order — the
 * common case of a loaded non-preemptive server between two finishes. It allocates little: one pass sorts the
 * entries into running, paused and candidates.
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
  /** the budget bounds admissions × their longest prefill (a padded batch: Vidur's vLLM scheduler), not their sum */
  paddedPrefill?: boolean;
}

export interface Plan {
  admit: string[];
  preempt: string[];
  resume: string[];
}

export function plan(policy: Policy, entries: QueueEntry[], now: number, lim: EngineLimits): Plan {
  let running = 0;
  let paused = 0;
  let waiting = 0;
  let pinned = 0;
  const candidates: QueueEntry[] = []; // everything but the running requests that keep their slots
  for (const e of entries) {
    if (e.state === 'running') {
      running++;
      if (!policy.preemptible(e)) {
        pinned++;
        continue;
      }
    } else if (e.state === 'paused') paused++;
    else waiting++;
    candidates.push(e);
  }
  const none: Plan = { admit: [], preempt: [], resume: [] };
  let slots = lim.maxBatch - pinned;
  // no slot for the policy to give, or nobody to give one to: nothing changes, whatever the order
  if (slots <= 0 || waiting + paused === 0) return none;

  const keep = new Set<string>(); // candidates holding KV that get a slot
  const admit: string[] = [];
  let kv = lim.kvReserved;
  const budget = lim.tokenBudget ?? Infinity;
  let tokens = 0; // of the budget, taken by this plan's admissions
  let widest = 0; // the longest admitted prefill (padded budget)
  let blocked = false;
  let holders = candidates.length - waiting; // candidates holding KV not yet met in the order
  for (const e of policy.order(candidates, now)) {
    if (slots <= 0) break;
    if (e.state !== 'waiting') {
      keep.add(e.id);
      slots--;
      holders--;
      continue;
    }
    if (blocked) {
      if (holders === 0) break; // only waiting requests are left, and they wait behind the blocked one
      continue;
    }
    const need = lim.reservation(e.id);
    // a whole prefill must fit the token budget; a chunked one needs a token of it now
    const cost = lim.tokenCost?.(e.id) ?? 0;
    const take = lim.partialPrefill
      ? Math.min(cost, budget - tokens)
      : lim.paddedPrefill
        ? (admit.length + 1) * Math.max(widest, cost) - tokens // the padded batch's growth
        : cost;
    if (
      running + paused + admit.length + 1 > lim.cacheRows ||
      (lim.kvBudget !== null && kv + need > lim.kvBudget) ||
      (budget !== Infinity && (take <= 0 || tokens + take > budget))
    ) {
      blocked = true;
      continue;
    }
    admit.push(e.id);
    kv += need;
    tokens += take;
    widest = Math.max(widest, cost);
    slots--;
  }
  // Paused afterwards = holders − kept. When the slots ran out, kept + admitted = maxBatch, so paused ≤ holders + admitted −
  // maxBatch ≤ cacheRows − maxBatch; otherwise every holder was kept. Either way within the rows kept for paused requests.
  const preempt: string[] = [];
  const resume: string[] = [];
  for (const e of candidates) {
    if (e.state === 'running' && !keep.has(e.id)) preempt.push(e.id);
    else if (e.state === 'paused' && keep.has(e.id)) resume.push(e.id);
  }
  return { admit, preempt, resume };
}
