/**
 * GPU memory as vLLM plans it: of the device's memory × utilization, the weights and a reserve for activations are
 * taken first and the rest holds KV blocks. The activation reserve is an estimate (vLLM measures its peak by
 * profiling one forward of max_num_batched_tokens tokens): the hidden states, Q/K/V, attention output and the gated
 * MLP's two intermediate tensors of one layer for every token of an iteration, and fp32 logits for every sequence.
 */
import { kvBytesPerToken, parameterCount, type GpuSpec, type ModelShape } from './iteration.js';

export interface KvPlan {
  numBlocks: number;
  /** bytes: the budget (memory × utilization), the weights, the activation reserve, one KV block */
  budgetBytes: number;
  weightBytes: number;
  activationBytes: number;
  blockBytes: number;
}

const GIB = 1024 ** 3;

/**
 * KV blocks that fit: ⌊(memory × utilization − weights − activations) / block bytes⌋; an error naming the flag when
 * none does.
 */
export function planKvBlocks(
  gpu: GpuSpec,
  model: ModelShape,
  o: { utilization: number; blockSize: number; batchedTokens: number; maxSeqs: number },
): KvPlan {
  const budgetBytes = gpu.memoryGiB * GIB * o.utilization;
  const weightBytes = parameterCount(model) * model.dtypeBytes;
  const activationBytes =
    o.batchedTokens * (4 * model.hidden + 2 * model.intermediate) * model.dtypeBytes + o.maxSeqs * model.vocab * 4;
  const blockBytes = kvBytesPerToken(model) * o.blockSize;
  const numBlocks = Math.floor((budgetBytes - weightBytes - activationBytes) / blockBytes);
  if (numBlocks < 1)
    throw new Error(
      `${model.name} on ${gpu.name}: ${(budgetBytes / GIB).toFixed(1)} GiB (--gpu-memory-utilization ${o.utilization}) hold the weights (${(weightBytes / GIB).toFixed(1)} GiB) and activations (${(activationBytes / GIB).toFixed(2)} GiB) but no KV block: raise --gpu-memory-utilization or lower --max-num-batched-tokens`,
    );
  return { numBlocks, budgetBytes, weightBytes, activationBytes, blockBytes };
}
