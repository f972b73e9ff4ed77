/**
 * Shortest uncached first, as TensorRT-LLM's `context_scheduling_policy: shortest_uncached_first` (SchedulerConfig,
 * https://nvidia.github.io/TensorRT-LLM/1.4.0rc4/llm-api/reference/SchedulerConfig.html: "fewest prompt tokens not
 * covered by reusable KV cache first"): waiting requests ordered by the prompt tokens still to prefill
 * (promptTokens − cachedTokens, policy.ts `uncachedTokens`), ties by arrival; never preempts, reads no prediction.
 * With `contextStarvationIterations` (TensorRT-LLM's `context_starvation_iterations`, off by default there too), a
 * request that has waited more than that many iterations goes first, oldest first — here an iteration is one decode
 * step of the harness, the decode-step guard's clock (aging.ts). Without `cachedTokens` it orders as spf.
 */
import { byKey, uncachedTokens, type Policy } from './policy.js';
import { withAging } from './aging.js';

const core: Policy = {
  name: 'suf',
  preemptive: false,
  order: (entries) => byKey(entries, uncachedTokens),
  preemptible: () => false,
  readsPrediction: false,
  key: uncachedTokens,
};

export function suf(contextStarvationIterations?: number): Policy {
  return contextStarvationIterations === undefined ? core : withAging(core, contextStarvationIterations);
}
