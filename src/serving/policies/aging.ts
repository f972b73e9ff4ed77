/**
 * The starvation guard every non-FCFS policy runs under: a request that is not running and has waited more than
 * `bound` engine decode steps since it arrived goes before everything else, oldest first; the rest keep the inner
 * policy's order. A length-ordered queue can otherwise keep a long request waiting forever. The bound counts
 * steps (iterations, as Fu et al.'s starvation counter), not seconds, so one setting means the same on a CPU
 * and under a GPU cost model; the default is max_length steps — a request waits at most about as long as the
 * longest request takes to serve (run.ts).
 */
import { byKey, type Policy } from './policy.js';

export function withAging(inner: Policy, bound: number): Policy {
  if (!(bound > 0)) throw new Error(`the starvation bound must be a positive number of decode steps, got ${bound}`);
  return {
    name: inner.name,
    order: (entries, now) => {
      const starved = entries.filter((e) => e.state !== 'running' && e.waited > bound);
      const rest = entries.filter((e) => !starved.includes(e));
      return [...byKey(starved, (e) => e.arrival), ...inner.order(rest, now)];
    },
    preemptible: inner.preemptible,
  };
}
