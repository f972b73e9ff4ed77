/**
 * One training run as the train job (src/jobs/train.ts) asks for it: load (or randomly initialise) the
 * model and tokenizer, fine-tune (src/training/finetune.ts) and write OUT/train_done.json with a hash of the
 * inputs and the configuration and the sha256 of every result file; with `skipIfDone` a matching record whose
 * files are unchanged is returned without training.
 *
 * A finished OUT is never modified in place. A run whose OUT holds no finished result trains in OUT itself
 * (a killed run resumes from its checkpoints there; nothing in it looks finished). A run whose OUT holds a
 * finished result (other options, changed files, or no --skip-if-done) trains beside it in `OUT.next-<hash>/`
 * (where a killed run resumes) and, once that holds its own train_done.json, swaps it in: OUT → `OUT.prev`,
 * `OUT.next-<hash>` → OUT, `OUT.prev` removed. A kill between the two renames is finished by the next job on
 * OUT (`settleSwap`). So at any instant OUT is either the old finished result or the new one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { initBackend, type BackendChoice } from '../core/backend.js';
import { loadConversations, type Conversation } from '../data/conversation.js';
import { ensureSyntheticData } from '../data/synthetic/files.js';
import { Llama } from '../model/llama.js';
import { loadLlama } from '../model/checkpoint.js';
import { configFromHF } from '../model/config.js';
import type { LoraTarget } from '../model/lora-config.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { buildIdMap, remapTokenizer } from '../tokenizer/idmap.js';
import { finetune, idMapTexts, writeFinetuneSummary, type FinetuneMode, type FinetuneOptions } from './finetune.js';
import { removeCheckpoints } from './checkpoint.js';
import { readJson, writeJson } from '../util/fs.js';
import { DONE_FILE } from './defaults.js';

/** One `seqsch train` run: the optimiser settings are FinetuneOptions' own, the rest says what to load and where to write. */
export interface TrainJob extends Pick<
  FinetuneOptions,
  'mode' | 'epochs' | 'batchSize' | 'gradAccum' | 'lr' | 'weightDecay' | 'warmupRatio' | 'maxLength' | 'seed'
> {
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
  const defining =
    /^(config\.json|.*\.safetensors|model\.safetensors\.index\.json|tokenizer_idmap\.json|tokenizer\.json|tokenizer_config\.json|adapter_config\.json)$/;
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => defining.test(f))
      .sort()
      .map((f) => [f, sha256File(join(dir, f))]),
  );
}

/** What the result depends on: the configuration (minus where it is written and how fast) and input digests. */
export function trainJobHash(job: TrainJob): { hash: string; inputs: Record<string, unknown> } {
  if (job.synthetic) ensureSyntheticData(job.synthetic);
  const { out: _o, backend: _b, ...config } = job;
  const inputs: Record<string, unknown> = {
    data: Object.fromEntries(job.data.map((f) => [f, sha256File(f)])),
    idmapFrom: Object.fromEntries((job.idmapFrom ?? []).map((f) => [f, sha256File(f)])),
    model: job.model ? folderDigest(job.model) : null,
    initConfig: typeof job.initConfig === 'string' ? sha256File(job.initConfig) : (job.initConfig ?? null),
    tokenizer: job.tokenizer ? folderDigest(job.tokenizer) : null,
  };
  const hash = createHash('sha256')
    .update(JSON.stringify({ format: 'seqsch-train-1', config, inputs }))
    .digest('hex');
  return { hash, inputs };
}

/** sha256 of each result file (log.csv left out: it is a record of the run, not part of the result). */
export function resultDigests(out: string, files: string[]): Record<string, string> {
  return Object.fromEntries(files.filter((f) => f !== 'log.csv').map((f) => [f, sha256File(join(out, f))]));
}

/**
 * The record of a finished job in `out` when its hash is `hash` and every result file still has the sha256
 * recorded in train_done.json; otherwise null and, in `why`, the reason (for the log line of a rerun).
 */
export function finishedJob(out: string, hash: string, why: string[] = []): Record<string, unknown> | null {
  const file = join(out, DONE_FILE);
  if (!existsSync(file)) return null;
  const done = readJson<{ hash?: string; outputs?: Record<string, string>; summary?: { files?: string[] } }>(file);
  if (done.hash !== hash) {
    why.push(`${file} is of other inputs or options`);
    return null;
  }
  const files = (done.summary?.files ?? []).filter((f) => f !== 'log.csv');
  if (!done.outputs) {
    why.push(
      `${file} records no hashes of its result files (written before they were kept), so they cannot be checked`,
    );
    return null;
  }
  for (const f of files) {
    const path = join(out, f);
    if (!existsSync(path)) {
      why.push(`${path} is missing`);
      return null;
    }
    if (sha256File(path) !== done.outputs[f]) {
      why.push(`${path} changed since ${file} was written`);
      return null;
    }
  }
  return done as Record<string, unknown>;
}

/** The folder a job on `out` trains in when `out` holds a finished result it will replace. */
export const stagingDir = (out: string, hash: string) => `${out.replace(/\/+$/, '')}.next-${hash.slice(0, 12)}`;
const prevDir = (out: string) => `${out.replace(/\/+$/, '')}.prev`;

/** Staging folders beside `out` (any hash). */
function stagingDirs(out: string): string[] {
  const parent = dirname(out);
  const prefix = `${basename(out)}.next-`;
  return existsSync(parent)
    ? readdirSync(parent)
        .filter((n) => n.startsWith(prefix))
        .map((n) => join(parent, n))
    : [];
}

/** Replace `out` by the finished `staged` folder: out → out.prev, staged → out, out.prev removed; then drop other staging folders. */
export function swapIn(out: string, staged: string): void {
  const prev = prevDir(out);
  rmSync(prev, { recursive: true, force: true });
  if (existsSync(out)) renameSync(out, prev);
  renameSync(staged, out);
  rmSync(prev, { recursive: true, force: true });
  for (const d of stagingDirs(out)) rmSync(d, { recursive: true, force: true }); // attempts to replace the result just replaced
}

/** Finish a swap that a kill interrupted (out missing, out.prev present) or clear its leftover out.prev. */
export function settleSwap(out: string): void {
  const prev = prevDir(out);
  if (!existsSync(prev)) return;
  if (existsSync(out)) {
    rmSync(prev, { recursive: true, force: true });
    return;
  }
  const staged = stagingDirs(out).find((d) => existsSync(join(d, DONE_FILE)));
  if (staged) swapIn(out, staged);
  else renameSync(prev, out); // nothing finished to swap in: the old result stays
}

function readConversations(files: string[]): Conversation[] {
  return files.flatMap((f) => loadConversations(f));
}

/** Load (or randomly initialise) the model and its tokenizer as the job says. */
async function modelAndTokenizer(job: TrainJob): Promise<{ model: Llama; tokenizer: Tokenizer }> {
  if ((job.model === undefined) === (job.initConfig === undefined))
    throw new Error('train: give exactly one of a model folder (--model) or an init config (--init-config)');
  if (job.model !== undefined) {
    if (job.idmapFrom?.length)
      throw new Error('train: --idmap-from builds the vocabulary of a new model; it cannot be used with --model');
    const tokName =
      job.tokenizer ??
      (['tokenizer_idmap.json', 'tokenizer.json'].some((f) => existsSync(join(job.model!, f))) ? job.model : 'llama');
    const tokenizer = await loadTokenizer(tokName);
    return { model: loadLlama(job.model), tokenizer };
  }
  const where = typeof job.initConfig === 'string' ? job.initConfig : 'init config';
  const raw = {
    ...(typeof job.initConfig === 'string' ? readJson<Record<string, unknown>>(job.initConfig) : job.initConfig),
  };
  let tokenizer = await loadTokenizer(job.tokenizer ?? 'llama');
  if (job.idmapFrom?.length)
    tokenizer = remapTokenizer(tokenizer, buildIdMap(idMapTexts(readConversations(job.idmapFrom)), tokenizer));
  if (raw.vocab_size === undefined) raw.vocab_size = tokenizer.vocabSize;
  else if (raw.vocab_size !== tokenizer.vocabSize)
    throw new Error(
      `${where}: vocab_size ${raw.vocab_size} differs from the tokenizer's ${tokenizer.vocabSize} ids (${tokenizer.name}); leave vocab_size out`,
    );
  const config = configFromHF(raw, where);
  return { model: Llama.random(config, job.initSeed ?? job.seed), tokenizer };
}

/** Train as the job says (resuming from checkpoints in `out`), or skip when `out` already holds its result. */
export async function runTrainJob(job: TrainJob, opts: { skipIfDone?: boolean } = {}): Promise<TrainJobResult> {
  for (const f of [...job.data, ...(job.idmapFrom ?? [])]) {
    if (!existsSync(f)) throw new Error(`${f}: conversation file not found`);
  }
  const { hash, inputs } = trainJobHash(job);
  settleSwap(job.out);
  const why: string[] = [];
  if (opts.skipIfDone) {
    const done = finishedJob(job.out, hash, why);
    if (done)
      return { skipped: true, hash, out: job.out, mode: job.mode, summary: done.summary as Record<string, unknown> };
  }
  // a finished result is replaced only once the new one is finished (see the header)
  const dir = existsSync(join(job.out, DONE_FILE)) ? stagingDir(job.out, hash) : job.out;
  if (dir !== job.out) {
    const reason = why.length ? why.join('; ') : 'no --skip-if-done';
    process.stderr.write(
      `train: ${job.out} holds a finished result (${reason}); training beside it in ${dir}, swapped in when finished\n`,
    );
  }
  await initBackend(job.backend);
  const { model, tokenizer } = await modelAndTokenizer(job);
  try {
    let conversations = readConversations(job.data);
    if (job.skipData) conversations = conversations.slice(job.skipData);
    if (job.numData !== undefined) conversations = conversations.slice(0, job.numData);
    if (conversations.length === 0)
      throw new Error(`train: no conversations left in ${job.data.join(', ')} after skipping ${job.skipData ?? 0}`);
    const r = await finetune({
      model,
      tokenizer,
      conversations,
      dataName: job.data.join(', '),
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
      outDir: dir,
      saveEvery: job.saveEvery,
      keepCheckpoints: true, // removed below, once the result is marked done
      packLength: job.packLength,
      maxGradNorm: job.maxGradNorm,
      baseModelNameOrPath: job.model ?? null,
      label: `train ${job.mode}`,
    });
    const { train: t, ...rest } = r;
    const summary = {
      ...rest,
      steps: t.step,
      totalSteps: t.totalSteps,
      finished: t.finished,
      resumedFrom: t.resumedFrom,
      parameters: model.numParameters(),
      vocabSize: model.config.vocabSize,
      tokenizer: tokenizer.name,
    };
    writeFinetuneSummary(dir, r, { parameters: model.numParameters(), tokenizer: tokenizer.name });
    if (t.finished) {
      const outputs = resultDigests(dir, r.files);
      writeJson(join(dir, DONE_FILE), {
        format: 'seqsch-train-1',
        hash,
        config: { ...job, backend: undefined },
        inputs,
        outputs,
        summary,
      });
      removeCheckpoints(dir);
      if (dir !== job.out) swapIn(job.out, dir);
    }
    return { skipped: false, hash, out: job.out, mode: job.mode, summary };
  } finally {
    model.dispose();
  }
}
