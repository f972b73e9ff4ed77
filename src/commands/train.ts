/**
 * `seqsch train`: full-parameter or LoRA training of a LLaMA on FastChat conversations (vicuna_v1.1 template,
 * loss on the answer and EOS), from an HF model folder (--model) or a seeded random init (--init-config, with
 * --idmap-from to give the new model an id-mapped LLaMA-1 vocabulary covering a corpus). Defaults are upstream
 * train.sh's (LoRA r 8, alpha 16, dropout 0.05 on q_proj,v_proj; 3 epochs; batch 2 × accumulation 16; lr 2e-5).
 * The job itself (src/training/job.ts) is shared with the `train` experiment stage.
 */
import type { CommandModule } from 'yargs';
import { withBackend, withJson, report } from './common.js';
import type { BackendChoice } from '../backend.js';
import { LORA_TARGETS, type LoraTarget } from '../model/lora-config.js';
import type { FinetuneMode } from '../training/finetune.js';
import { TRAIN_DEFAULTS } from '../training/defaults.js';
import type { TrainJob } from '../training/job.js';

interface Args {
  model?: string;
  'init-config'?: string;
  'init-seed'?: number;
  tokenizer?: string;
  'idmap-from'?: string;
  data: string;
  'num-data'?: number;
  'skip-data'?: number;
  out: string;
  mode: FinetuneMode;
  'lora-r': number;
  'lora-alpha': number;
  'lora-dropout': number;
  'lora-targets': string;
  epochs: number;
  'batch-size': number;
  'grad-accum': number;
  lr: number;
  'weight-decay': number;
  'warmup-ratio': number;
  'max-length'?: number;
  seed: number;
  'save-every': number;
  'pack-length'?: number;
  'max-grad-norm': number;
  'skip-if-done': boolean;
  backend: BackendChoice;
  json: boolean;
}

/** Comma-separated LoRA targets, checked. */
export function parseLoraTargets(s: string): LoraTarget[] {
  const ts = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const t of ts) if (!(LORA_TARGETS as readonly string[]).includes(t)) throw new Error(`--lora-targets: unknown module '${t}' (choose from ${LORA_TARGETS.join(', ')})`);
  if (ts.length === 0) throw new Error('--lora-targets: name at least one module');
  return ts as LoraTarget[];
}

const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

export const trainCommand: CommandModule<object, Args> = {
  command: 'train',
  describe: 'train a LLaMA on conversations: LoRA instruction tuning (PEFT output) or full-parameter (HF output, e.g. the tiny base model)',
  builder: (y) =>
    withJson(withBackend(
      y
        .option('model', { type: 'string', describe: 'HF model folder to start from' })
        .option('init-config', { type: 'string', describe: 'HF config.json for a seeded random init instead of --model' })
        .option('init-seed', { type: 'number', describe: 'seed of the random init (default --seed)' })
        .option('tokenizer', { type: 'string', describe: "tokenizer name or folder (default: the model folder's, else 'llama')" })
        .option('idmap-from', { type: 'string', describe: 'with --init-config: comma-separated conversation files whose LLaMA-1 ids form the model vocabulary' })
        .option('data', { type: 'string', demandOption: true, describe: 'comma-separated FastChat conversation files' })
        .option('skip-data', { type: 'number', describe: 'leave out the first N conversations' })
        .option('num-data', { type: 'number', describe: 'train on the first N conversations only (after --skip-data)' })
        .option('out', { type: 'string', demandOption: true, describe: 'output folder (result, log.csv, checkpoints)' })
        .option('mode', { choices: ['full', 'lora'] as const, default: TRAIN_DEFAULTS.mode, describe: 'full-parameter or LoRA-only training' })
        .option('lora-r', { type: 'number', default: TRAIN_DEFAULTS.loraR })
        .option('lora-alpha', { type: 'number', default: TRAIN_DEFAULTS.loraAlpha })
        .option('lora-dropout', { type: 'number', default: TRAIN_DEFAULTS.loraDropout })
        .option('lora-targets', { type: 'string', default: TRAIN_DEFAULTS.loraTargets.join(','), describe: `comma-separated, from ${LORA_TARGETS.join(', ')}` })
        .option('epochs', { type: 'number', default: TRAIN_DEFAULTS.epochs })
        .option('batch-size', { type: 'number', default: TRAIN_DEFAULTS.batchSize, describe: 'per micro-batch' })
        .option('grad-accum', { type: 'number', default: TRAIN_DEFAULTS.gradAccum, describe: 'micro-batches per optimizer step' })
        .option('lr', { type: 'number', default: TRAIN_DEFAULTS.lr, describe: 'peak learning rate (cosine schedule with warmup)' })
        .option('weight-decay', { type: 'number', default: TRAIN_DEFAULTS.weightDecay })
        .option('warmup-ratio', { type: 'number', default: TRAIN_DEFAULTS.warmupRatio })
        .option('max-length', { type: 'number', describe: "truncate examples to N tokens (default the model's max_position_embeddings)" })
        .option('seed', { type: 'number', default: TRAIN_DEFAULTS.seed })
        .option('save-every', { type: 'number', default: TRAIN_DEFAULTS.saveEvery, describe: 'checkpoint every N optimizer steps (0: at the end); a rerun resumes' })
        .option('pack-length', { type: 'number', describe: 'pretraining: pack whole conversations into rows of N tokens' })
        .option('max-grad-norm', { type: 'number', default: TRAIN_DEFAULTS.maxGradNorm, describe: 'clip the global gradient norm (0: off)' })
        .option('skip-if-done', { type: 'boolean', default: false, describe: 'do nothing when OUT holds a finished result for the same inputs and options' })
        .check((a) => {
          if ((a.model === undefined) === (a['init-config'] === undefined)) throw new Error('give exactly one of --model or --init-config');
          return true;
        }),
    )) as never,
  handler: async (argv) => {
    const job: TrainJob = {
      model: argv.model,
      initConfig: argv['init-config'],
      initSeed: argv['init-seed'],
      tokenizer: argv.tokenizer,
      idmapFrom: list(argv['idmap-from']),
      data: list(argv.data)!,
      skipData: argv['skip-data'],
      numData: argv['num-data'],
      out: argv.out,
      mode: argv.mode,
      loraR: argv['lora-r'],
      loraAlpha: argv['lora-alpha'],
      loraDropout: argv['lora-dropout'],
      loraTargets: parseLoraTargets(argv['lora-targets']),
      epochs: argv.epochs,
      batchSize: argv['batch-size'],
      gradAccum: argv['grad-accum'],
      lr: argv.lr,
      weightDecay: argv['weight-decay'],
      warmupRatio: argv['warmup-ratio'],
      maxLength: argv['max-length'],
      seed: argv.seed,
      saveEvery: argv['save-every'],
      packLength: argv['pack-length'],
      maxGradNorm: argv['max-grad-norm'],
      backend: argv.backend,
    };
    const { runTrainJob } = await import('../training/job.js');
    const r = await runTrainJob(job, { skipIfDone: argv['skip-if-done'] });
    const s = r.summary;
    report(argv.json, r, () => r.skipped
      ? `${r.out} already holds this result (hash ${r.hash.slice(0, 12)}); nothing to do`
      : `trained ${r.mode} (${s.trainableParameters} trainable parameters) on ${s.examples} conversations: ${s.steps}/${s.totalSteps} steps, ` +
        `loss ${Number(s.firstLoss).toFixed(4)} → ${Number(s.finalLoss).toFixed(4)} in ${Number(s.seconds).toFixed(1)} s; wrote ${(s.files as string[]).join(', ')} to ${r.out}`);
  },
};
