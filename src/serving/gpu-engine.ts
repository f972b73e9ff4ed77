/**
 * The GPU simulator set up from a serving configuration: the batching mode and token budget (vLLM's defaults where
 * the config names none), the KV pool planned from the cost model's GPU and model (src/cost/memory.ts) unless
 * `num_gpu_blocks` names it, and each request's engine form. A workload that cannot run is refused here, naming the
 * key to change: a request longer than the whole KV pool, or (prefill-first) a prompt over the token budget.
 */
import type { BatchingName } from '../core/names.js';
import type { IterationCostModel } from '../cost/iteration.js';
import { planKvBlocks } from '../cost/memory.js';
import { GpuSimEngine, type GpuSimRequest } from '../engines/step-gpu-sim.js';
import type { ServeRequest } from '../workload/arrivals.js';
import type { ServeConfig } from './config.js';

/** vLLM V0's defaults: 2048 with chunked prefill; max(max_model_len, 2048) without it (4096 for a 4096-token model). */
export const DEFAULT_BATCHED_TOKENS = { chunked: 2048, 'prefill-first': 4096 } as const;

/** The batching mode a configuration runs: its own, else chunked for a GPU cost model and split for the others. */
export function batchingOf(c: ServeConfig, gpuCostModel: boolean): BatchingName {
  const b = c.batching ?? (gpuCostModel ? 'chunked' : 'split');
  if (b !== 'split' && !gpuCostModel)
    throw new Error(
      `batching ${b} needs a GPU cost model (a cost_model file of kind "iteration", e.g. data/costmodels/a100-llama2-7b.json)`,
    );
  return b;
}

export interface GpuSetup {
  engine: GpuSimEngine;
  toEngine(r: ServeRequest): GpuSimRequest;
}

export function gpuStepEngine(
  c: ServeConfig,
  cost: IterationCostModel,
  o: {
    batching: 'chunked' | 'prefill-first';
    requests: ServeRequest[];
    pausedRows: number;
    prefixTokens: number;
    needed(r: ServeRequest): number;
  },
): GpuSetup {
  const batchedTokens = c.max_num_batched_tokens ?? DEFAULT_BATCHED_TOKENS[o.batching];
  let numBlocks = c.num_gpu_blocks;
  let kvNote = `${numBlocks} KV blocks (num_gpu_blocks)`;
  if (numBlocks === undefined) {
    const plan = planKvBlocks(cost.gpu, cost.model, {
      utilization: c.gpu_memory_utilization,
      blockSize: c.block_size,
      batchedTokens,
      maxSeqs: c.max_batch,
    });
    numBlocks = plan.numBlocks;
    const gib = (x: number) => (x / 1024 ** 3).toFixed(1);
    kvNote = `${numBlocks} KV blocks of ${c.block_size} tokens: ${gib(plan.budgetBytes)} GiB (${cost.gpu.name} × ${c.gpu_memory_utilization}) − weights ${gib(plan.weightBytes)} GiB − activations ${gib(plan.activationBytes)} GiB (estimate)`;
  }
  const toEngine = (r: ServeRequest): GpuSimRequest => ({
    id: r.id,
    promptTokens: r.item.promptTokens ?? c.default_prompt_tokens,
    maxNewTokens: c.max_length,
    needed: o.needed(r),
    arrival: r.arrival,
    hashIds: c.prefix_cache ? r.item.hashIds : undefined,
    hashBlockTokens: r.item.hashBlockTokens,
  });
  const poolTokens = numBlocks * c.block_size;
  for (const r of o.requests) {
    const q = toEngine(r);
    const total = q.promptTokens + Math.min(q.needed, q.maxNewTokens);
    if (total > poolTokens)
      throw new Error(
        `request ${r.id} needs ${total} KV tokens (prompt ${q.promptTokens} + ${Math.min(q.needed, q.maxNewTokens)} new), more than the whole KV pool (${poolTokens} tokens: ${kvNote}): raise --num-gpu-blocks or --gpu-memory-utilization, or lower --max-length`,
      );
    if (o.batching === 'prefill-first' && q.promptTokens - o.prefixTokens > batchedTokens)
      throw new Error(
        `request ${r.id}: its prompt of ${q.promptTokens} tokens exceeds --max-num-batched-tokens ${batchedTokens}, which a prefill-first iteration must hold whole: raise it or use --batching chunked`,
      );
  }
  const engine = new GpuSimEngine(cost, {
    maxBatch: c.max_batch,
    maxBatchedTokens: batchedTokens,
    paddedPrefill: c.prefill_budget === 'padded',
    batching: o.batching,
    numBlocks,
    blockSize: c.block_size,
    watermark: c.kv_watermark,
    prefixTokens: o.prefixTokens,
    // reuse by block hashes where the requests carry them (a trace's hash_ids)
    prefixReuse: c.prefix_cache && o.requests.some((r) => r.item.hashIds?.length),
    pausedRows: o.pausedRows,
  });
  return { engine, toEngine };
}
