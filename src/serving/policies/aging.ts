/**
 * The starvation guards, each a pure wrapper around a policy (its name, preemption and prediction needs kept). A
 * length-ordered queue can otherwise keep a long request waiting forever; each guard trades some of the inner order's
 * mean latency for a bound on the wait (docs/serving.md, "Prompt-length baselines and the guards"):
 *
 * - `withAging(inner, steps)`, the decode-step guard (the default): a request that has waited more than `steps`
 *   engine decode steps since it arrived goes before everything else, oldest first; the rest keep the inner order.
 *   Steps (iterations, as Fu et al.'s starvation counter and TensorRT-LLM's context_starvation_iterations), not
 *   seconds, so one setting means the same on a CPU and under a GPU cost model; run.ts's default is max_length
 *   steps — a request waits at most about as long as the longest request takes to serve.
 * - `withWaitGuard(inner, seconds)`: the same with the clock's seconds since arrival (now − arrival).
 * - `withResponseRatio(inner)`, HRRN-style aging: the inner policy's key (its service estimate: predicted length,
 *   remaining, prompt tokens) replaced by the response ratio 1 + waited seconds / key, highest first — short
 *   requests still go early, but every ratio grows while its request waits, so none starves and there is no bound
 *   to choose. Needs an inner policy that sorts by a key (not fcfs, priority, hrrn).
 * - `withGuard(inner, spec)` picks one of them, or none (`off`).
 *
 * The bounded guards count running requests too: when only the waiting and paused ones did, an old running request
 * that a preemptive policy (srpt) may still preempt lost its slot to an old paused one, became a starved paused one
 * itself and took the slot back at the next step — two requests trading places every step until one passed the
 * preemption limit (thousands of preemptions for 512 requests under overload, docs/serving.md). Ranked by arrival
 * together, the older keeps the slot.
 */
import { byKey, type Policy, type QueueEntry } from './policy.js';
import { byResponseRatio } from './hrrn.js';

/** Requests `starved(e, now)` says have waited too long first (oldest first), then the rest in `inner`'s order. */
function starvedFirst(inner: Policy, starved: (e: QueueEntry, now: number) => boolean): Policy {
  return {
    ...inner,
    order: (entries, now) => {
      const old: QueueEntry[] = [];
      const rest: QueueEntry[] = [];
      for (const e of entries) (starved(e, now) ? old : rest).push(e);
      return old.length ? [...byKey(old, (e) => e.arrival), ...inner.order(rest, now)] : inner.order(rest, now);
    },
  };
}

/** The decode-step guard: more than `bound` decode steps since arrival → first. */
export function withAging(inner: Policy, bound: number): Policy {
  if (!(bound > 0)) throw new Error(`the starvation bound must be a positive number of decode steps, got ${bound}`);
  return starvedFirst(inner, (e) => e.waited > bound);
}

/** The waiting-time guard: more than `seconds` since arrival → first. */
export function withWaitGuard(inner: Policy, seconds: number): Policy {
  if (!(seconds > 0) || !Number.isFinite(seconds))
    throw new Error(`the waiting-time guard needs a positive number of seconds, got ${seconds}`);
  return starvedFirst(inner, (e, now) => now - e.arrival > seconds);
}

/** HRRN-style aging of `inner`'s key: highest 1 + waited seconds / key first. */
export function withResponseRatio(inner: Policy): Policy {
  const key = inner.key;
  if (!key)
    throw new Error(`the response-ratio guard ages a policy's key (a service estimate); ${inner.name} sorts by none`);
  return { ...inner, order: (entries, now) => byResponseRatio(entries, now, key) };
}

export const GUARDS = ['off', 'steps', 'seconds', 'ratio'] as const;
export type GuardName = (typeof GUARDS)[number];

export type GuardSpec =
  { kind: 'off' } | { kind: 'steps'; steps: number } | { kind: 'seconds'; seconds: number } | { kind: 'ratio' };

/** `inner` under the guard `spec` names. */
export function withGuard(inner: Policy, spec: GuardSpec): Policy {
  switch (spec.kind) {
    case 'off':
      return inner;
    case 'steps':
      return withAging(inner, spec.steps);
    case 'seconds':
      return withWaitGuard(inner, spec.seconds);
    case 'ratio':
      return withResponseRatio(inner);
  }
}
