/**
 * `seqsch train`: full-parameter or LoRA training of a LLaMA on FastChat conversations (vicuna_v1.1 template,
 * loss on the answer and EOS), from an HF model folder (--model) or a seeded random init (--init-config, with
 * --idmap-from to give the new model an id-mapped LLaMA-1 vocabulary covering a corpus). Defaults are upstream
 * train.sh's (LoRA r 8, alpha 16, dropout 0.05 on q_proj,v_proj; 3 epochs; batch 2 × accumulation 16; lr 2e-5).
 * The job itself (src/training/job.ts) is shared with the `train` experiment stage.
 */
import { BACKEND_OPTION, JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions, stageConfigOf } from '../core/options/spec.js';
import { LORA_TARGETS } from '../model/lora-config.js';
import { TRAIN_DEFAULTS } from '../training/defaults.js';
import type { TrainJob } from '../training/job.js';

/**
 * Also the `train` experiment stage's keys. Lists (`--data a,b`, `--lora-targets q_proj,v_proj`) are
 * comma-separated on the CLI and YAML lists (or one value) in a stage.
 */
export const trainOptions = defineOptions({
  model: { type: 'string', describe: 'HF model folder to start from' },
  'init-config': {
    type: 'string', describe: 'HF config.json for a seeded random init instead of --model',
    yamlZod: (z) => z.union([z.string(), z.record(z.string(), z.unknown())]).optional(), // a stage may give the config inline
  },
  'init-seed': { type: 'number', int: true, min: 0, describe: 'seed of the random init (default --seed)' },
  tokenizer: { type: 'string', describe: "tokenizer name or folder (default: the model folder's, else 'llama')" },
  'idmap-from': { type: 'list', of: 'string', sep: ',', minItems: 1, describe: 'with --init-config: comma-separated conversation files whose LLaMA-1 ids form the model vocabulary' },
  data: { type: 'list', of: 'string', sep: ',', required: true, describe: 'comma-separated FastChat conversation files' },
  'skip-data': { type: 'number', int: true, min: 0, describe: 'leave out the first N conversations' },
  'num-data': { type: 'number', int: true, min: 1, describe: 'train on the first N conversations only (after --skip-data)' },
  synthetic: { type: 'string', cli: false, describe: 'a synthetic-corpus folder whose missing split files are generated first' },
  out: { type: 'string', required: true, describe: 'output folder (result, log.csv, checkpoints)' },
  mode: { type: 'choice', choices: ['full', 'lora'] as const, default: TRAIN_DEFAULTS.mode, describe: 'full-parameter or LoRA-only training' },
  'lora-r': { type: 'number', int: true, min: 1, default: TRAIN_DEFAULTS.loraR },
  'lora-alpha': { type: 'number', gt: 0, default: TRAIN_DEFAULTS.loraAlpha },
  'lora-dropout': { type: 'number', min: 0, lt: 1, default: TRAIN_DEFAULTS.loraDropout },
  'lora-targets': { type: 'list', of: 'choice', choices: LORA_TARGETS, sep: ',', minItems: 1, default: TRAIN_DEFAULTS.loraTargets, describe: `comma-separated, from ${LORA_TARGETS.join(', ')}` },
  epochs: { type: 'number', int: true, min: 1, default: TRAIN_DEFAULTS.epochs },
  'batch-size': { type: 'number', int: true, min: 1, default: TRAIN_DEFAULTS.batchSize, describe: 'per micro-batch' },
  'grad-accum': { type: 'number', int: true, min: 1, default: TRAIN_DEFAULTS.gradAccum, describe: 'micro-batches per optimizer step' },
  lr: { type: 'number', gt: 0, default: TRAIN_DEFAULTS.lr, describe: 'peak learning rate (cosine schedule with warmup)' },
  'weight-decay': { type: 'number', min: 0, default: TRAIN_DEFAULTS.weightDecay },
  'warmup-ratio': { type: 'number', min: 0, max: 1, default: TRAIN_DEFAULTS.warmupRatio },
  'max-length': { type: 'number', int: true, min: 2, describe: "truncate examples to N tokens (default the model's max_position_embeddings)" },
  seed: { type: 'number', int: true, min: 0, default: TRAIN_DEFAULTS.seed },
  'save-every': { type: 'number', int: true, min: 0, default: TRAIN_DEFAULTS.saveEvery, describe: 'checkpoint every N optimizer steps (0: at the end); a rerun resumes' },
  'pack-length': { type: 'number', int: true, min: 2, describe: 'pretraining: pack whole conversations into rows of N tokens' },
  'max-grad-norm': { type: 'number', min: 0, default: TRAIN_DEFAULTS.maxGradNorm, describe: 'clip the global gradient norm (0: off)' },
  backend: BACKEND_OPTION,
  'skip-if-done': { type: 'boolean', default: false, yaml: false, describe: 'do nothing when OUT holds a finished result for the same inputs and options (a stage always does)' },
  json: JSON_OPTION,
});

export const trainCommand = command({
  command: 'train',
  describe: 'train a LLaMA on conversations: LoRA instruction tuning (PEFT output) or full-parameter (HF output, e.g. the tiny base model)',
  options: trainOptions,
  builder: (y) =>
    y.check((a) => {
      if ((a.model === undefined) === (a['init-config'] === undefined)) throw new Error('give exactly one of --model or --init-config');
      return true;
    }),
  handler: async (argv) => {
    const { runTrainJob, trainJobOf } = await import('../training/job.js');
    const job: TrainJob = trainJobOf(stageConfigOf(trainOptions, argv));
    const r = await runTrainJob(job, { skipIfDone: argv['skip-if-done'] });
    const s = r.summary;
    report(argv.json, r, () => r.skipped
      ? `${r.out} already holds this result (hash ${r.hash.slice(0, 12)}); nothing to do`
      : `trained ${r.mode} (${s.trainableParameters} trainable parameters) on ${s.examples} conversations: ${s.steps}/${s.totalSteps} steps, ` +
        `loss ${Number(s.firstLoss).toFixed(4)} → ${Number(s.finalLoss).toFixed(4)}${s.lossMoved ? '' : ` (the loss did not move: ${Number(s.firstStepLossNow).toFixed(4)} on step 1's batches after training; lr too low, or too few steps?)`} ` +
        `in ${Number(s.seconds).toFixed(1)} s; wrote ${(s.files as string[]).join(', ')} to ${r.out}`);
  },
});
