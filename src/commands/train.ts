/**
 * `seqsch train`: full-parameter or LoRA training of a LLaMA on FastChat conversations (vicuna_v1.1 template,
 * loss on the answer and EOS), from an HF model folder (--model) or a seeded random init (--init-config, with
 * --idmap-from to give the new model an id-mapped LLaMA-1 vocabulary covering a corpus). Defaults are upstream
 * train.sh's (LoRA r 8, alpha 16, dropout 0.05 on q_proj,v_proj; 3 epochs; batch 2 × accumulation 16; lr 2e-5).
 * The job (`runTrainJob`) is shared with the `train` experiment stage: it writes OUT/train_done.json with a hash
 * of the inputs and the configuration, and `skipIfDone` returns that record without training when it matches.
 */
import type { CommandModule } from 'yargs';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { withBackend, withJson, report } from './common.js';
import { initBackend, type BackendChoice } from '../backend.js';
import { loadConversations, type Conversation } from '../data/conversation.js';
import { ensureSyntheticData } from '../data/synthetic/files.js';
import { Llama } from '../model/llama.js';
import { loadLlama } from '../model/checkpoint.js';
import { configFromHF } from '../model/config.js';
import { DEFAULT_LORA, LORA_TARGETS, type LoraTarget } from '../model/lora.js';
import { loadTokenizer, type Tokenizer } from '../tokenizer/tokenizer.js';
import { buildIdMap, remapTokenizer } from '../tokenizer/idmap.js';
import { finetune, idMapTexts, writeFinetuneSummary, type FinetuneMode, type FinetuneOptions } from '../training/finetune.js';
import { readJson, writeJson } from '../util/fs.js';

/** Upstream train.sh's values (LoRA instruction tuning of Vicuna-7B). */
export const TRAIN_DEFAULTS = {
  mode: 'lora' as FinetuneMode,
  loraR: DEFAULT_LORA.r,
  loraAlpha: DEFAULT_LORA.alpha,
  loraDropout: DEFAULT_LORA.dropout,
  loraTargets: DEFAULT_LORA.targetModules as LoraTarget[],
  epochs: 3,
  batchSize: 2,
  gradAccum: 16,
  lr: 2e-5,
  weightDecay: 0,
  warmupRatio: 0.03,
  seed: 42, // HF TrainingArguments' default seed
  saveEvery: 0,
  maxGradNorm: 1.0,
};

export const DONE_FILE = 'train_done.json';

/** One `seqsch train` run: the optimiser settings are FinetuneOptions' own, the rest says what to load and where to write. */
export interface TrainJob
  extends Pick<FinetuneOptions, 'mode' | 'epochs' | 'batchSize' | 'gradAccum' | 'lr' | 'weightDecay' | 'warmupRatio' | 'maxLength' | 'seed'> {
  /** HF model folder to start from; exactly one of model / initConfig */
  model?: string;
  /** random init: an HF config.json file or its object (vocab_size may be left out: the tokenizer's size) */
  initConfig?: string | Record<string, unknown>;
  /** seed of the random init (default: seed) */
  initSeed?: number;
  /** tokenizer name or folder (default: the model folder when it has tokenizer files, else 'llama') */
  tokenizer?: string;
  /** with initConfig: build an id map over these conversation files (base: tokenizer, default llama-1) */
  idmapFrom?: string[];
  /** conversation files, concatenated in order */
  data: string[];
  /** leave out the first N conversations of the concatenation (e.g. a continued run on the next slice) */
  skipData?: number;
  /** then use only the first N conversations */
  numData?: number;
  /** a synthetic-corpus folder whose missing split files (pretrain.json) are generated first */
  synthetic?: string;
  out: string;
  loraR: number;
  loraAlpha: number;
  loraDropout: number;
  loraTargets: LoraTarget[];
  saveEvery: number;
  packLength?: number;
  maxGradNorm: number;
  backend: BackendChoice;
}

export interface TrainJobResult {
  skipped: boolean;
  hash: string;
  out: string;
  mode: FinetuneMode;
  /** the finetune summary (steps, losses, seconds, files, …) of the run that produced the result */
  summary: Record<string, unknown>;
}

const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Digests of the files of a model or tokenizer folder that define it (weights, config, tokenizer files). */
function folderDigest(dir: string): Record<string, string> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return {};
  const defining = /^(config\.json|.*\.safetensors|model\.safetensors\.index\.json|tokenizer_idmap\.json|tokenizer\.json|tokenizer_config\.json|adapter_config\.json)$/;
  return Object.fromEntries(readdirSync(dir).filter((f) => defining.test(f)).sort().map((f) => [f, sha256File(join(dir, f))]));
}

/** What the result depends on: the configuration (minus where it is written and how fast) and input digests. */
export function trainJobHash(job: TrainJob): { hash: string; inputs: Record<string, unknown> } {
  if (job.synthetic) ensureSyntheticData(job.synthetic);
  const { out: _o, backend: _b, ...config } = job;
  const inputs: Record<string, unknown> = {
    data: Object.fromEntries(job.data.map((f) => [f, sha256File(f)])),
    idmapFrom: Object.fromEntries((job.idmapFrom ?? []).map((f) => [f, sha256File(f)])),
    model: job.model ? folderDigest(job.model) : null,
    initConfig: typeof job.initConfig === 'string' ? sha256File(job.initConfig) : job.initConfig ?? null,
    tokenizer: job.tokenizer ? folderDigest(job.tokenizer) : null,
  };
  const hash = createHash('sha256').update(JSON.stringify({ format: 'seqsch-train-1', config, inputs })).digest('hex');
  return { hash, inputs };
}

/** The record of a finished job in `out`, when its hash is `hash` and its result files are all there. */
export function finishedJob(out: string, hash: string): Record<string, unknown> | null {
  const file = join(out, DONE_FILE);
  if (!existsSync(file)) return null;
  const done = readJson<{ hash?: string; summary?: { files?: string[] } }>(file);
  if (done.hash !== hash) return null;
  if (!(done.summary?.files ?? []).every((f) => existsSync(join(out, f)))) return null;
  return done as Record<string, unknown>;
}

function readConversations(files: string[]): Conversation[] {
  return files.flatMap((f) => loadConversations(f));
}

/** Load (or randomly initialise) the model and its tokenizer as the job says. */
async function modelAndTokenizer(job: TrainJob): Promise<{ model: Llama; tokenizer: Tokenizer }> {
  if ((job.model === undefined) === (job.initConfig === undefined)) throw new Error('train: give exactly one of a model folder (--model) or an init config (--init-config)');
  if (job.model !== undefined) {
    if (job.idmapFrom?.length) throw new Error('train: --idmap-from builds the vocabulary of a new model; it cannot be used with --model');
    const tokName = job.tokenizer ?? (['tokenizer_idmap.json', 'tokenizer.json'].some((f) => existsSync(join(job.model!, f))) ? job.model : 'llama');
    const tokenizer = await loadTokenizer(tokName);
    return { model: loadLlama(job.model), tokenizer };
  }
  const where = typeof job.initConfig === 'string' ? job.initConfig : 'init config';
  const raw = { ...(typeof job.initConfig === 'string' ? readJson<Record<string, unknown>>(job.initConfig) : job.initConfig) };
  let tokenizer = await loadTokenizer(job.tokenizer ?? 'llama');
  if (job.idmapFrom?.length) tokenizer = remapTokenizer(tokenizer, buildIdMap(idMapTexts(readConversations(job.idmapFrom)), tokenizer));
  if (raw.vocab_size === undefined) raw.vocab_size = tokenizer.vocabSize;
  else if (raw.vocab_size !== tokenizer.vocabSize) throw new Error(`${where}: vocab_size ${raw.vocab_size} differs from the tokenizer's ${tokenizer.vocabSize} ids (${tokenizer.name}); leave vocab_size out`);
  const config = configFromHF(raw, where);
  return { model: Llama.random(config, job.initSeed ?? job.seed), tokenizer };
}

/** Train as the job says (resuming from checkpoints in `out`), or skip when `out` already holds its result. */
export async function runTrainJob(job: TrainJob, opts: { skipIfDone?: boolean } = {}): Promise<TrainJobResult> {
  for (const f of [...job.data, ...(job.idmapFrom ?? [])]) {
    if (!existsSync(f)) throw new Error(`${f}: conversation file not found`);
  }
  const { hash, inputs } = trainJobHash(job);
  if (opts.skipIfDone) {
    const done = finishedJob(job.out, hash);
    if (done) return { skipped: true, hash, out: job.out, mode: job.mode, summary: done.summary as Record<string, unknown> };
  }
  await initBackend(job.backend);
  const { model, tokenizer } = await modelAndTokenizer(job);
  try {
    let conversations = readConversations(job.data);
    if (job.skipData) conversations = conversations.slice(job.skipData);
    if (job.numData !== undefined) conversations = conversations.slice(0, job.numData);
    if (conversations.length === 0) throw new Error(`train: no conversations left in ${job.data.join(', ')} after skipping ${job.skipData ?? 0}`);
    const r = await finetune({
      model,
      tokenizer,
      conversations,
      mode: job.mode,
      lora: { r: job.loraR, alpha: job.loraAlpha, dropout: job.loraDropout, targetModules: job.loraTargets },
      epochs: job.epochs,
      batchSize: job.batchSize,
      gradAccum: job.gradAccum,
      lr: job.lr,
      weightDecay: job.weightDecay,
      warmupRatio: job.warmupRatio,
      maxLength: job.maxLength,
      seed: job.seed,
      outDir: job.out,
      saveEvery: job.saveEvery,
      packLength: job.packLength,
      maxGradNorm: job.maxGradNorm,
      baseModelNameOrPath: job.model ?? null,
      label: `train ${job.mode}`,
    });
    const { train: t, ...rest } = r;
    const summary = {
      ...rest, steps: t.step, totalSteps: t.totalSteps, finished: t.finished, resumedFrom: t.resumedFrom,
      parameters: model.numParameters(), vocabSize: model.config.vocabSize, tokenizer: tokenizer.name,
    };
    writeFinetuneSummary(job.out, r, { parameters: model.numParameters(), tokenizer: tokenizer.name });
    if (t.finished) writeJson(join(job.out, DONE_FILE), { format: 'seqsch-train-1', hash, config: { ...job, backend: undefined }, inputs, summary });
    return { skipped: false, hash, out: job.out, mode: job.mode, summary };
  } finally {
    model.dispose();
  }
}

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
    const r = await runTrainJob(job, { skipIfDone: argv['skip-if-done'] });
    const s = r.summary;
    report(argv.json, r, () => r.skipped
      ? `${r.out} already holds this result (hash ${r.hash.slice(0, 12)}); nothing to do`
      : `trained ${r.mode} (${s.trainableParameters} trainable parameters) on ${s.examples} conversations: ${s.steps}/${s.totalSteps} steps, ` +
        `loss ${Number(s.firstLoss).toFixed(4)} → ${Number(s.finalLoss).toFixed(4)} in ${Number(s.seconds).toFixed(1)} s; wrote ${(s.files as string[]).join(', ')} to ${r.out}`);
  },
};
