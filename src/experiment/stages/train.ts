/**
 * The `train` experiment stage: one point = one `seqsch train` job (full-parameter pretraining from a seeded
 * random init, or LoRA instruction tuning of a model folder), with the command's options as snake_case keys
 * and upstream train.sh's defaults. A point whose output folder already holds a finished result for the same
 * inputs and configuration (hash in OUT/train_done.json) is skipped; a changed input or key trains again.
 */
import { z } from 'zod';
import { join } from 'node:path';
import { registerStage } from '../registry.js';
import { runTrainJob, DONE_FILE, type TrainJob } from '../../training/job.js';
import { TRAIN_DEFAULTS } from '../../training/defaults.js';
import { LORA_TARGETS } from '../../model/lora.js';
import { BACKEND_CHOICES } from '../../backend.js';

const posInt = z.number().int().positive();
const files = z.union([z.string(), z.array(z.string()).min(1)]).transform((v) => (typeof v === 'string' ? [v] : v));

export const trainSchema = z.strictObject({
  model: z.string().optional(),
  init_config: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  init_seed: z.number().int().min(0).optional(),
  tokenizer: z.string().optional(),
  idmap_from: files.optional(),
  data: files,
  skip_data: z.number().int().min(0).optional(),
  num_data: posInt.optional(),
  synthetic: z.string().optional(),
  out: z.string(),
  mode: z.enum(['full', 'lora']).default(TRAIN_DEFAULTS.mode),
  lora_r: posInt.default(TRAIN_DEFAULTS.loraR),
  lora_alpha: z.number().positive().default(TRAIN_DEFAULTS.loraAlpha),
  lora_dropout: z.number().min(0).max(1).default(TRAIN_DEFAULTS.loraDropout),
  lora_targets: z.array(z.enum(LORA_TARGETS)).min(1).default(TRAIN_DEFAULTS.loraTargets),
  epochs: posInt.default(TRAIN_DEFAULTS.epochs),
  batch_size: posInt.default(TRAIN_DEFAULTS.batchSize),
  grad_accum: posInt.default(TRAIN_DEFAULTS.gradAccum),
  lr: z.number().positive().default(TRAIN_DEFAULTS.lr),
  weight_decay: z.number().min(0).default(TRAIN_DEFAULTS.weightDecay),
  warmup_ratio: z.number().min(0).max(1).default(TRAIN_DEFAULTS.warmupRatio),
  max_length: posInt.optional(),
  seed: z.number().int().min(0).default(TRAIN_DEFAULTS.seed),
  save_every: z.number().int().min(0).default(TRAIN_DEFAULTS.saveEvery),
  pack_length: posInt.optional(),
  max_grad_norm: z.number().min(0).default(TRAIN_DEFAULTS.maxGradNorm),
  backend: z.enum(BACKEND_CHOICES as [string, ...string[]]).default('wasm'),
}); // exactly one of model / init_config: checked when the point runs (a refined object has no .partial() for the runner)
export type TrainConfig = z.infer<typeof trainSchema>;

export function trainJobOf(c: TrainConfig): TrainJob {
  return {
    model: c.model, initConfig: c.init_config, initSeed: c.init_seed, tokenizer: c.tokenizer, idmapFrom: c.idmap_from,
    data: c.data, skipData: c.skip_data, numData: c.num_data, synthetic: c.synthetic, out: c.out, mode: c.mode,
    loraR: c.lora_r, loraAlpha: c.lora_alpha, loraDropout: c.lora_dropout, loraTargets: c.lora_targets,
    epochs: c.epochs, batchSize: c.batch_size, gradAccum: c.grad_accum, lr: c.lr, weightDecay: c.weight_decay,
    warmupRatio: c.warmup_ratio, maxLength: c.max_length, seed: c.seed, saveEvery: c.save_every,
    packLength: c.pack_length, maxGradNorm: c.max_grad_norm, backend: c.backend as TrainJob['backend'],
  };
}

/** Files under the synthetic folder may be generated on first use (pretrain.json): its manifest stands for them. */
function inputFiles(c: TrainConfig): { key: string; path: string }[] {
  const syn = c.synthetic ? c.synthetic.replace(/\/+$/, '') + '/' : null;
  const stand = (path: string) => (syn && path.startsWith(syn) ? join(c.synthetic!, 'manifest.json') : path);
  return [
    ...c.data.map((path) => ({ key: 'data', path: stand(path) })),
    ...(c.idmap_from ?? []).map((path) => ({ key: 'idmap_from', path: stand(path) })),
    ...(c.model ? [{ key: 'model', path: join(c.model, 'config.json') }] : []),
    ...(typeof c.init_config === 'string' ? [{ key: 'init_config', path: c.init_config }] : []),
  ];
}

registerStage('train', {
  schema: trainSchema,
  files: (c: TrainConfig) => inputFiles(c),
  outputs: (c: TrainConfig) => [c.out, join(c.out, DONE_FILE),
    ...(c.mode === 'full' ? ['config.json', 'model.safetensors', 'tokenizer_idmap.json'] : ['adapter_config.json', 'adapter_model.safetensors']).map((f) => join(c.out, f))],
  run: async (c: TrainConfig) => {
    const r = await runTrainJob(trainJobOf(c), { skipIfDone: true });
    const s = r.summary;
    const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : null);
    return {
      record: {
        out: r.out, mode: r.mode, skipped: r.skipped, hash: r.hash.slice(0, 16),
        examples: num('examples'), steps: num('steps'), trainable_parameters: num('trainableParameters'),
        first_loss: num('firstLoss'), final_loss: num('finalLoss'), final_loss_mean10: num('finalLossMean10'), seconds: num('seconds'),
      },
      detail: s,
    };
  },
});
