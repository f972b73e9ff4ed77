/**
 * The `train` experiment stage: one point = one `seqsch train` job (full-parameter pretraining from a seeded
 * random init, or LoRA instruction tuning of a model folder), with the command's options as snake_case keys
 * and upstream train.sh's defaults (its keys are the command's option table). A point whose output folder already holds a finished result for the same
 * inputs and configuration (hash in OUT/train_done.json) is skipped; a changed input or key trains again.
 */
import { z } from 'zod';
import { join } from 'node:path';
import { registerStage } from '../registry.js';
import { runTrainJob, trainJobOf, DONE_FILE, type TrainConfig } from '../../training/job.js';
import { trainOptions } from '../../commands/train.js';
import { stageFields } from '../../core/options/zod.js';

export const trainSchema = z.strictObject(stageFields(trainOptions)); // exactly one of model / init_config: checked when the point runs

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
