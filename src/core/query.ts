/**
 * The query as every loop sees it: one conversation's prompt, its position in the sampled subset and, when a
 * lengths file gave them, its recorded response lengths. The benchmark and the serving harness share it.
 */

/** One benchmark query. */
export interface BenchItem {
  /** the conversation id (upstream `id`) */
  id: string;
  /** position in the sampled subset (0 … num_data-1) */
  index: number;
  /** the full prompt (vicuna_v1.1 template applied) */
  prompt: string;
  /** prompt length in tokens (BOS included), when known; the simulator's prefill cost uses it */
  promptTokens?: number;
  /** recorded response lengths from a `*-length.json` file: L_gt, L_t0.0, L_t0.3, … (BOS included) */
  realLengths?: Record<string, number>;
  /**
   * A trace's prefix block hashes (Mooncake `hash_ids`), when it has them: one id per block of `hashBlockTokens`
   * prompt tokens, in prompt order; two requests with equal leading ids share that prefix (its KV can be reused).
   */
  hashIds?: number[];
  /** tokens per block of `hashIds` (Mooncake: 512); set with `hashIds` */
  hashBlockTokens?: number;
}
