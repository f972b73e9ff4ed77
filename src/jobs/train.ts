/**
 * train as a job: full-parameter or LoRA training of a LLaMA on FastChat conversations (vicuna_v1.1 template, loss
 * on the answer and EOS), from an HF model folder (model) or a seeded random init (init_config, with idmap_from to
 * give the new model an id-mapped LLaMA-1 vocabulary covering a corpus). Defaults are upstream train.sh's (LoRA
 * r 8, alpha 16, dropout 0.05 on q_proj,v_proj; 3 epochs; batch 2 × accumulation 16; lr 2e-5). The run itself —
 * resume, OUT/train_done.json, swap-in of a replaced result — is src/training/run.ts's: an experiment point whose
 * OUT already holds a finished result for the same inputs and configuration is skipped (the CLI with
 * --skip-if-done); a changed input or key trains again. Lists (`--data a,b`) are comma-separated on the CLI and
 * YAML lists (or one value) in a stage.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineJob } from '../core/job.js';
import { BACKEND_OPTION } from '../core/options/common.js';
import { defineOptions, type StageConfigOf } from '../core/options/spec.js';
import { LORA_TARGETS } from '../model/lora-config.js';
import { DONE_FILE, TRAIN_DEFAULTS } from '../training/defaults.js';
import type { TrainJob } from '../training/run.js';
import { requireFreeSpace, type FolderOwner } from '../util/job-paths.js';
import { readJson } from '../util/fs.js';
import { configFromHF, countParameters, type LlamaConfig } from '../model/config.js';

export const trainOptions = defineOptions({
  model: { type: 'string', describe: 'HF model folder to start from' },
  'init-config': {
    type: 'string',
    describe: 'HF config.json for a seeded random init instead of --model',
    yamlZod: (z) => z.union([z.string(), z.record(z.string(), z.unknown())]).optional(), // a stage may give the config inline
  },
  'init-seed': { type: 'number', int: true, min: 0, describe: 'seed of the random init (default --seed)' },
  tokenizer: { type: 'string', describe: "tokenizer name or folder (default: the model folder's, else 'llama')" },
  'idmap-from': {
    type: 'list',
    of: 'string',
    sep: ',',
    minItems: 1,
    describe: 'with --init-config: comma-separated conversation files whose LLaMA-1 ids form the model vocabulary',
  },
  data: {
    type: 'list',
    of: 'string',
    sep: ',',
    required: true,
    describe: 'comma-separated FastChat conversation files',
  },
  'skip-data': { type: 'number', int: true, min: 0, describe: 'leave out the first N conversations' },
  'num-data': {
    type: 'number',
    int: true,
    min: 1,
    describe: 'train on the first N conversations only (after --skip-data)',
  },
  synthetic: {
    type: 'string',
    cli: false,
    describe: 'a synthetic-corpus folder whose missing split files are generated first',
  },
  out: { type: 'string', required: true, describe: 'output folder (result, log.csv, checkpoints)' },
  mode: {
    type: 'choice',
    choices: ['full', 'lora'] as const,
    default: TRAIN_DEFAULTS.mode,
    describe: 'full-parameter or LoRA-only training',
  },
  'lora-r': { type: 'number', int: true, min: 1, default: TRAIN_DEFAULTS.loraR },
  'lora-alpha': { type: 'number', gt: 0, default: TRAIN_DEFAULTS.loraAlpha },
  'lora-dropout': { type: 'number', min: 0, lt: 1, default: TRAIN_DEFAULTS.loraDropout },
  'lora-targets': {
    type: 'list',
    of: 'choice',
    choices: LORA_TARGETS,
    sep: ',',
    minItems: 1,
    default: TRAIN_DEFAULTS.loraTargets,
    describe: `comma-separated, from ${LORA_TARGETS.join(', ')}`,
  },
  epochs: { type: 'number', int: true, min: 1, default: TRAIN_DEFAULTS.epochs },
  'batch-size': { type: 'number', int: true, min: 1, default: TRAIN_DEFAULTS.batchSize, describe: 'per micro-batch' },
  'grad-accum': {
    type: 'number',
    int: true,
    min: 1,
    default: TRAIN_DEFAULTS.gradAccum,
    describe: 'micro-batches per optimizer step',
  },
  lr: {
    type: 'number',
    gt: 0,
    max: 1, // AdamW's step is ~lr per weight whatever the gradient's scale: above 1 it swamps every weight
    default: TRAIN_DEFAULTS.lr,
    describe: 'peak learning rate (cosine schedule with warmup)',
  },
  'weight-decay': { type: 'number', min: 0, default: TRAIN_DEFAULTS.weightDecay },
  'warmup-ratio': { type: 'number', min: 0, max: 1, default: TRAIN_DEFAULTS.warmupRatio },
  'max-length': {
    type: 'number',
    int: true,
    min: 2,
    describe: "truncate examples to N tokens (default the model's max_position_embeddings)",
  },
  seed: { type: 'number', int: true, min: 0, default: TRAIN_DEFAULTS.seed },
  'save-every': {
    type: 'number',
    int: true,
    min: 0,
    default: TRAIN_DEFAULTS.saveEvery,
    describe: 'checkpoint every N optimizer steps (0: at the end); a rerun resumes',
  },
  'pack-length': {
    type: 'number',
    int: true,
    min: 2,
    describe: 'pretraining: pack whole conversations into rows of N tokens',
  },
  'max-grad-norm': {
    type: 'number',
    min: 0,
    default: TRAIN_DEFAULTS.maxGradNorm,
    describe: 'clip the global gradient norm (0: off)',
  },
  backend: BACKEND_OPTION,
  'skip-if-done': {
    type: 'boolean',
    default: false,
    yaml: false,
    describe: 'do nothing when OUT holds a finished result for the same inputs and options (a stage always does)',
  },
});

/** A `train` config: the stage's keys, or the command's flags through stageConfigOf. */
export type TrainConfig = StageConfigOf<typeof trainOptions>;

/** The training run a config asks for (src/training/run.ts). */
export function trainJobOf(c: TrainConfig): TrainJob {
  return {
    model: c.model,
    initConfig: c.init_config,
    initSeed: c.init_seed,
    tokenizer: c.tokenizer,
    idmapFrom: c.idmap_from,
    data: c.data,
    skipData: c.skip_data,
    numData: c.num_data,
    synthetic: c.synthetic,
    out: c.out,
    mode: c.mode,
    loraR: c.lora_r,
    loraAlpha: c.lora_alpha,
    loraDropout: c.lora_dropout,
    loraTargets: c.lora_targets,
    epochs: c.epochs,
    batchSize: c.batch_size,
    gradAccum: c.grad_accum,
    lr: c.lr,
    weightDecay: c.weight_decay,
    warmupRatio: c.warmup_ratio,
    maxLength: c.max_length,
    seed: c.seed,
    saveEvery: c.save_every,
    packLength: c.pack_length,
    maxGradNorm: c.max_grad_norm,
    backend: c.backend,
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

/**
 * OUT is this job's own earlier output when its train_done.json is of the same mode (a rerun swaps a new result
 * in), or it holds a killed run's log.csv or checkpoints (a rerun resumes); anything else — a downloaded model, a
 * result of the other mode, a data folder — would be replaced by a different kind of artifact, and is refused.
 */
const trainFolder = (mode: TrainConfig['mode']): FolderOwner => ({
  what: mode === 'full' ? 'a full model (--mode full)' : 'a LoRA adapter (--mode lora)',
  owns: (dir) => {
    const done = join(dir, DONE_FILE);
    if (existsSync(done)) {
      let was: unknown;
      try {
        was = (JSON.parse(readFileSync(done, 'utf8')) as { config?: { mode?: unknown } }).config?.mode;
      } catch {
        return `${done} is not valid JSON`;
      }
      return was === mode || `it holds a ${String(was)} result (${done})`;
    }
    const names = readdirSync(dir);
    return (
      names.some((n) => n === 'log.csv' || /^checkpoint-\d+$/.test(n)) ||
      `it holds ${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''} but no ${DONE_FILE}, log.csv or checkpoint of a train run`
    );
  },
});

/**
 * Bytes the run writes into OUT, for the free-space check before any work: every checkpoint (kept until the result
 * is marked done; one every `save_every` steps and one at the end) holds the trained tensors and AdamW's two
 * moments (3 × 4 bytes per trained parameter), and the result the trained tensors once more. Trained parameters:
 * the whole model (full), or per layer and target module r × (in + out) (LoRA). A lower bound where the config
 * leaves the vocabulary to the tokenizer (counted as 0), so a refusal is never wrong.
 */
export function trainDiskBytes(c: TrainConfig, model: LlamaConfig, examples: number): number {
  const d = model.hiddenSize;
  const q = model.numHeads * model.headDim;
  const kv = model.numKvHeads * model.headDim;
  const widths: Record<string, [number, number]> = {
    q_proj: [d, q],
    k_proj: [d, kv],
    v_proj: [d, kv],
    o_proj: [q, d],
    gate_proj: [d, model.intermediateSize],
    up_proj: [d, model.intermediateSize],
    down_proj: [model.intermediateSize, d],
  };
  const trained =
    c.mode === 'full'
      ? countParameters(model)
      : model.numLayers * c.lora_targets.reduce((s, t) => s + c.lora_r * (widths[t][0] + widths[t][1]), 0);
  const steps = c.epochs * Math.ceil(Math.ceil(examples / c.batch_size) / c.grad_accum);
  // one every save_every steps, and one at the last step unless that is one of them (trainer.ts)
  const checkpoints = c.save_every > 0 ? Math.ceil(steps / c.save_every) : 1;
  return trained * 4 * (3 * checkpoints + 1);
}

/** The model's shape (from --model's config.json or --init-config; vocabulary 0 when the tokenizer sets it). */
function modelShape(c: TrainConfig): LlamaConfig {
  if (c.model) return configFromHF(readJson(join(c.model, 'config.json')), join(c.model, 'config.json'));
  const raw = typeof c.init_config === 'string' ? readJson<Record<string, unknown>>(c.init_config) : c.init_config;
  return configFromHF({ vocab_size: 0, ...raw }, typeof c.init_config === 'string' ? c.init_config : 'init_config');
}

/** Before any work: OUT's file system must hold this run's checkpoints and result (skipped when OUT will be reused). */
function checkFreeSpace(c: TrainConfig, skipIfDone: boolean): void {
  if (skipIfDone && existsSync(join(c.out, DONE_FILE))) return;
  const all = c.data.reduce((n, f) => n + (readJson<unknown[]>(f) as unknown[]).length, 0) - (c.skip_data ?? 0);
  const examples = Math.max(0, Math.min(all, c.num_data ?? all));
  requireFreeSpace(c.out, trainDiskBytes(c, modelShape(c), examples), `training (checkpoints and result)`);
}

export const trainJob = defineJob({
  name: 'train',
  describe:
    'train a LLaMA on conversations: LoRA instruction tuning (PEFT output) or full-parameter (HF output, e.g. the tiny base model)',
  options: trainOptions,
  check: (c, key) =>
    (c.model === undefined) === (c.init_config === undefined)
      ? `give exactly one of ${key('model')} or ${key('init_config')}`
      : undefined,
  files: inputFiles,
  writes: (c) => [{ key: 'out', path: c.out, folder: trainFolder(c.mode) }],
  outputs: (c) => [
    c.out,
    join(c.out, DONE_FILE),
    ...(c.mode === 'full'
      ? ['config.json', 'model.safetensors', 'tokenizer_idmap.json']
      : ['adapter_config.json', 'adapter_model.safetensors']
    ).map((f) => join(c.out, f)),
  ],
  outputsStale: async (c) => {
    const { finishedJob, trainJobHash } = await import('../training/run.js');
    const why: string[] = [];
    if (finishedJob(c.out, trainJobHash(trainJobOf(c)).hash, why)) return null;
    return why[0] ?? `${join(c.out, DONE_FILE)} not found: the training did not finish there`;
  },
  run: async (c, ctx) => {
    const { runTrainJob } = await import('../training/run.js');
    // an experiment point always skips a finished result; the CLI only with --skip-if-done
    const skipIfDone = (ctx.cli['skip-if-done'] as boolean | undefined) ?? true;
    if (!c.synthetic) checkFreeSpace(c, skipIfDone); // a synthetic corpus's splits may not exist before the run
    const r = await runTrainJob(trainJobOf(c), { skipIfDone });
    const s = r.summary;
    const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : null);
    return {
      record: {
        out: r.out,
        mode: r.mode,
        skipped: r.skipped,
        hash: r.hash.slice(0, 16),
        examples: num('examples'),
        steps: num('steps'),
        trainable_parameters: num('trainableParameters'),
        first_loss: num('firstLoss'),
        final_loss: num('finalLoss'),
        final_loss_mean10: num('finalLossMean10'),
        seconds: num('seconds'),
      },
      detail: s,
      text: r.skipped
        ? `${r.out} already holds this result (hash ${r.hash.slice(0, 12)}); nothing to do`
        : `trained ${r.mode} (${s.trainableParameters} trainable parameters) on ${s.examples} conversations: ${s.steps}/${s.totalSteps} steps, ` +
          `loss ${Number(s.firstLoss).toFixed(4)} → ${Number(s.finalLoss).toFixed(4)}${s.lossMoved ? '' : ` (the loss did not move: ${Number(s.firstStepLossNow).toFixed(4)} on step 1's batches after training; lr too low, or too few steps?)`} ` +
          `in ${Number(s.seconds).toFixed(1)} s; wrote ${(s.files as string[]).join(', ')} to ${r.out}`,
    };
  },
});
