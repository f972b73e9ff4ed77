/**
 * Binds the generic trainer to the LLaMA model: the loss of a batch (forward in training mode, then the
 * masked causal LM loss) and the checkpoint callbacks for the two modes, LoRA-only (PEFT adapter files;
 * the base stays frozen) and full-parameter (HF checkpoint files). Loading writes into the very variables
 * the trainer is updating, never replaces them. It does not choose hyperparameters (see trainer.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Llama } from '../model/llama.js';
import { LoraAdapter } from '../model/lora.js';
import { loadLlama, saveLlama } from '../model/checkpoint.js';
import type { Batch } from './batches.js';
import { causalLmLoss } from './losses.js';
import type { MicroStep, TrainOptions } from './trainer.js';

export type ModelHooks = Pick<TrainOptions, 'params' | 'lossFn' | 'saveState' | 'loadState'>;

/**
 * Mean target-token cross-entropy of a batch under `model` (LoRA dropout on; its masks are drawn from the
 * micro-batch's seed, so a resumed run repeats them).
 */
export function llamaLoss(model: Llama): (batch: Batch, micro?: MicroStep) => tf.Scalar {
  return (batch, micro) =>
    tf.tidy(() => {
      if (micro) model.lora?.reseedDropout(micro.seed);
      const logits = model.forward(batch.inputIds, { attentionMask: batch.attentionMask, training: true }); // (B, T, V)
      return causalLmLoss(logits, batch.inputIds, batch.labelMask);
    });
}

/** Copy `from` into `to` pairwise (same order and shapes); `what` names the source in errors. */
function assignAll(to: tf.Variable[], from: tf.Variable[], what: string): void {
  if (to.length !== from.length) throw new Error(`${what}: ${from.length} tensors, the model has ${to.length}`);
  to.forEach((v, i) => {
    if (!tf.util.arraysEqual(v.shape, from[i].shape))
      throw new Error(`${what}: tensor ${i} has shape [${from[i].shape}], the model has [${v.shape}]`);
    v.assign(from[i]);
  });
}

/** LoRA-only training: the attached adapter's variables; checkpoints are PEFT adapter folders. */
export function loraHooks(model: Llama, baseModelNameOrPath: string | null = null): ModelHooks {
  const lora = model.lora;
  if (!lora) throw new Error('loraHooks: the model has no LoRA adapter attached (call model.attachLora first)');
  return {
    params: lora.variables(),
    lossFn: llamaLoss(model),
    saveState: async (dir) => lora.save(dir, baseModelNameOrPath),
    loadState: async (dir) => {
      const saved = LoraAdapter.load(dir, model);
      try {
        if ([...saved.aT.keys()].join() !== [...lora.aT.keys()].join()) {
          throw new Error(
            `${dir}/adapter_config.json: adapter on ${[...saved.aT.keys()].join(', ')}, the model's on ${[...lora.aT.keys()].join(', ')}`,
          );
        }
        assignAll(lora.variables(), saved.variables(), `${dir}/adapter_model.safetensors`);
      } finally {
        saved.dispose();
      }
    },
  };
}

/** Full-parameter training: every base weight; checkpoints are HF model folders. */
export function fullHooks(model: Llama): ModelHooks {
  if (model.lora)
    throw new Error('fullHooks: a LoRA adapter is attached; detach or merge it for full-parameter training');
  return {
    params: model.baseVariables(),
    lossFn: llamaLoss(model),
    saveState: async (dir) => saveLlama(model, dir),
    loadState: async (dir) => {
      const saved = loadLlama(dir);
      try {
        assignAll(model.baseVariables(), saved.baseVariables(), `${dir}/model.safetensors`);
      } finally {
        saved.dispose();
      }
    },
  };
}
