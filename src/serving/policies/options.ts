/**
 * The policy layer's own option entries (src/core/options/spec.ts tables): which starvation guard the length-ordered
 * policies run under and the knobs of the new policies. The serving option table (serving/options.ts) spreads them
 * into its own, beside `preempt-k` and `starvation-steps`, so the CLI flags and the `serve` stage's keys come from
 * here; `policyOptionsOf` turns a checked configuration into policies/index.ts's PolicyOptions, and
 * `policyConfigProblem` states the checks across keys. No heavy imports (the CLI's --help loads this).
 */
import { defineOptions } from '../../core/options/spec.js';
import type { PolicyName } from '../../core/names.js';
import { GUARDS, type GuardName } from './aging.js';
import { DEFAULT_PREFILL_WEIGHT, type PolicyOptions } from './index.js';

export const policyOptions = defineOptions({
  guard: {
    type: 'choice',
    choices: GUARDS,
    default: 'steps',
    describe:
      'starvation guard of the length-ordered policies (sjf srpt ltr work spf suf): off | steps (waited > starvation-steps decode steps: first) | seconds (waited > starvation-seconds: first) | ratio (HRRN-style aging of the policy key)',
  },
  'starvation-seconds': {
    type: 'number',
    gt: 0,
    describe: 'guard seconds: seconds since arrival after which a request goes first',
  },
  'context-starvation-iterations': {
    type: 'number',
    int: true,
    min: 1,
    describe:
      "suf: TensorRT-LLM's context_starvation_iterations — a request waiting more than this many decode steps goes first (default: none)",
  },
  'work-prefill-weight': {
    type: 'number',
    min: 0,
    default: DEFAULT_PREFILL_WEIGHT,
    describe: 'work: decode-step equivalents per uncached prompt token (work = weight × prompt + predicted decode)',
  },
});

/** The configuration keys these entries give (snake_case, as the stage config spells them). */
export interface PolicyConfig {
  policy: PolicyName;
  preempt_k: number;
  starvation_steps?: number;
  max_length: number;
  guard: GuardName;
  starvation_seconds?: number;
  context_starvation_iterations?: number;
  work_prefill_weight: number;
}

/** PolicyOptions from a checked configuration (the steps bound defaults to max_length, as before). */
export function policyOptionsOf(c: PolicyConfig): PolicyOptions {
  return {
    preemptK: c.preempt_k,
    starvationBound: c.starvation_steps ?? c.max_length,
    guard: c.guard,
    starvationSeconds: c.starvation_seconds,
    contextStarvationIterations: c.context_starvation_iterations,
    workPrefillWeight: c.work_prefill_weight,
  };
}

/** What is wrong across the policy keys, or undefined; `k` names a key as the surface spells it. */
export function policyConfigProblem(c: PolicyConfig, k: (key: string) => string): string | undefined {
  if (c.guard === 'seconds' && c.starvation_seconds === undefined)
    return `serve: ${k('guard')} seconds needs ${k('starvation_seconds')} (seconds a request may wait)`;
  if (c.guard !== 'seconds' && c.starvation_seconds !== undefined)
    return `serve: ${k('starvation_seconds')} is read only by ${k('guard')} seconds (got ${c.guard})`;
  if (c.context_starvation_iterations !== undefined && c.policy !== 'suf')
    return `serve: ${k('context_starvation_iterations')} is suf's (TensorRT-LLM's) starvation bound, not ${c.policy}'s`;
  return undefined;
}
