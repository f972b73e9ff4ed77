/**
 * Shortest predicted total work first: waiting requests ordered by cost(prompt tokens still to prefill, predicted
 * tokens still to decode), ties by arrival; never preempts. The default cost is in decode-step equivalents:
 * `prefillWeight` × uncached prompt tokens + predicted decode tokens — a decode token holds a slot for one step,
 * a prefill token costs `prefillWeight` of a step (≈ slots × prefill seconds per token ÷ decode-step seconds: on
 * the real tfjs engine at 4 slots 4 × ~27 µs / ~0.4 ms ≈ 0.25, docs/serving.md). A caller with a cost model passes
 * its own `cost` (e.g. seconds). Decode tokens are `remaining` (predicted − generated, or a per-step estimate); a
 * request without a prediction sorts last (NaN), one without `promptTokens` is charged its decode work only (the
 * order is then sjf's).
 */
import { byKey, uncachedTokens, type Policy, type QueueEntry } from './policy.js';

/** Work of a request from its uncached prompt tokens and predicted decode tokens (lower first; NaN: last). */
export type WorkCost = (uncachedPromptTokens: number, decodeTokens: number) => number;

/** prefillWeight × prompt + decode, in decode-step equivalents. */
export function tokenWork(prefillWeight: number): WorkCost {
  if (!(prefillWeight >= 0) || !Number.isFinite(prefillWeight))
    throw new Error(
      `work: the prefill weight must be a finite number ≥ 0 (decode steps per prompt token), got ${prefillWeight}`,
    );
  return (prompt, decode) => prefillWeight * prompt + decode;
}

export function work(cost: WorkCost): Policy {
  const key = (e: QueueEntry) => {
    const prompt = uncachedTokens(e);
    return cost(Number.isNaN(prompt) ? 0 : prompt, e.remaining);
  };
  return {
    name: 'work',
    preemptive: false,
    order: (entries) => byKey(entries, key),
    preemptible: () => false,
    readsPrediction: true,
    key,
  };
}
