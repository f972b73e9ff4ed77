/**
 * The starvation guard every non-FCFS policy runs under: a request that has waited more than `bound` engine decode
 * steps since it arrived goes before everything else, oldest first; the rest keep the inner policy's order. A
 * length-ordered queue can otherwise keep a long request waiting forever. Running requests count too: when only the
 * waiting and paused ones did, an old running request that a preemptive policy (srpt) may still preempt lost its slot
 * to an old paused one, became a starved paused one itself and took the slot back at the next step — two requests
 * trading places every step until one passed the preemption limit (thousands of preemptions for 512 requests under
 * overload, docs/serving.md). Ranked by arrival together, the older keeps the slot. The bound counts
 * steps (iterations, as Fu et al.'s starvation counter), not seconds, so one setting means the same on a CPU
 * and under a GPU cost model; the default is max_length steps — a request waits at most about as long as the
 * longest request takes to serve (run.ts).
 */
import { byKey, type Policy } from './policy.js';

export function withAging(inner: Policy, bound: number): Policy {
  if (!(bound > 0)) throw new Error(`the starvation bound must be a positive number of decode steps, got ${bound}`);
  return {
    name: inner.name,
    preemptive: inner.preemptive,
    order: (entries, now) => {
      const starved = entries.filter((e) => e.waited > bound);
      const rest = entries.filter((e) => !starved.includes(e));
      return [...byKey(starved, (e) => e.arrival), ...inner.order(rest, now)];
    },
    preemptible: inner.preemptible,
  };
}
