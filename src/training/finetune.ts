/**
 * Fine-tuning glue: conversations → vicuna_v1.1 training examples (loss on the answer and EOS, through the
 * model's own tokenizer, so an id-mapped tiny model gets model ids) → `train()` → the result folder. One
 * function serves full-parameter training (pretraining the tiny base model; the result is an HF model folder
 * with the tokenizer's id map beside it) and LoRA instruction tuning (the base stays frozen; the result is a
 * PEFT adapter folder). Checkpoints and the loss curve (log.csv) go to the same folder; a rerun resumes.
 * It does not choose hyperparameters, build the id map or load the model (see src/jobs/train.ts and run.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Llama } from '../model/llama.js';
import { saveLlama } from '../model/checkpoint.js';
import { paramNorm, unhealthyResult } from './health.js';
import { checkUnknownShare } from '../tokenizer/unknown.js';
import type { LoraConfig } from '../model/lora.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { saveIdMap, type RemappedTokenizer } from '../tokenizer/idmap.js';
import { firstTurn, trainingExample, vicunaPrompt, type Conversation } from '../data/conversation.js';
import { insertLengthPrompt, PIA_PROMPT, QUERY_PROMPT } from '../data/prompts.js';
import { nonFiniteParams, stepLossNow, train, type TrainOptions, type TrainResult } from './trainer.js';
import { fullHooks, loraHooks } from './llama-hooks.js';
import { removeCheckpoints } from './checkpoint.js';
import { curvePath } from './curve.js';
import { shuffledOrder, type Example } from './batches.js';
import { writeJson } from '../util/fs.js';

export type FinetuneMode = 'full' | 'lora';

export interface FinetuneOptions {
  model: Llama;
  /** the model's tokenizer (id-mapped for the tiny model); its ids go into the model */
  tokenizer: Tokenizer;
  /** FastChat conversations; each gives one example: first human turn → first gpt turn */
  conversations: Conversation[];
  /** the file(s) they came from, named when the tokenizer cannot read them (tokenizer/unknown.ts) */
  dataName?: string;
  mode: FinetuneMode;
  /** LoRA settings (mode 'lora'; defaults r 8, alpha 16, dropout 0.05 on q_proj, v_proj as upstream train.sh) */
  lora?: Partial<LoraConfig>;
  epochs: number;
  batchSize: number;
  gradAccum: number;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
  /** truncate examples to this many tokens (default: the model's max_position_embeddings) */
  maxLength?: number;
  seed: number;
  /** result, log.csv and checkpoint-STEP/ folders */
  outDir: string;
  /** checkpoint every this many optimizer steps (0: only at the end) */
  saveEvery?: number;
  /** keep the checkpoint-STEP/ folders after a finished run (default false: the result is in outDir itself; a caller that
   *  marks the result done removes them after that, so a kill in between leaves a resumable run, never a lost one) */
  keepCheckpoints?: boolean;
  /** written as base_model_name_or_path in a PEFT adapter */
  baseModelNameOrPath?: string | null;
  /** clip the global gradient norm (default 1.0, HF's) */
  maxGradNorm?: number;
  /**
   * Pretraining only: concatenate whole examples (seeded order) into rows of at most this many tokens, so a
   * batch carries almost no padding (a random batch of unpacked examples is about half padding on this
   * corpus). Rows attend across the conversations they hold, as in GPT-style packed pretraining; positions
   * run on through the row (rotary attention only sees offsets). 0/undefined: one example per row (upstream).
   */
  packLength?: number;
  /** stop after this optimizer step (checkpointed; a rerun continues) */
  stopAtStep?: number;
  label?: string;
}

export interface FinetuneResult {
  train: TrainResult;
  /** conversations trained on, training rows (fewer when packed), tokens (after truncation) and how many were cut */
  examples: number;
  rows: number;
  exampleTokens: number;
  truncated: number;
  /** trainable parameters (all of the model, or the adapter's) */
  trainableParameters: number;
  /** loss of the first and last optimizer step, and the mean of the last 10 */
  firstLoss: number;
  finalLoss: number;
  finalLossMean10: number;
  /** the loss of step 1's batches under the final weights (firstLoss: the same batches before the first update) */
  firstStepLossNow: number;
  /** whether training changed the loss on step 1's batches by more than 0.1 % (false: lr too low, or too few steps) */
  lossMoved: boolean;
  /** L2 norm of the trained tensors after training / before it (health.ts bounds it) */
  normGrowth: number;
  seconds: number;
  /** files of the result in outDir */
  files: string[];
}

/** One training example per conversation (first human and gpt turns), ids through `tokenizer`. */
export function conversationExamples(tokenizer: Tokenizer, conversations: Conversation[]): Example[] {
  return conversations.map((c) => trainingExample(tokenizer, firstTurn(c, 'human'), firstTurn(c, 'gpt')));
}

/**
 * Pack examples greedily, in a seeded shuffle, into rows of at most `packLength` tokens; an example longer
 * than packLength is truncated to it and gets a row of its own. Each example keeps its BOS and its mask.
 */
export function packExamples(examples: Example[], packLength: number, seed: number): Example[] {
  if (!(Number.isInteger(packLength) && packLength >= 2))
    throw new Error(`packLength must be an integer ≥ 2, got ${packLength}`);
  const order = shuffledOrder(examples.length, seed, -1); // epoch -1: a stream distinct from the trainer's shuffles
  const rows: Example[] = [];
  let row: Example = { ids: [], labelMask: [] };
  for (const i of order) {
    const e = examples[i];
    const n = Math.min(e.ids.length, packLength);
    if (row.ids.length + n > packLength && row.ids.length > 0) {
      rows.push(row);
      row = { ids: [], labelMask: [] };
    }
    row.ids.push(...e.ids.slice(0, n));
    row.labelMask.push(...e.labelMask.slice(0, n));
  }
  if (row.ids.length > 0) rows.push(row);
  return rows;
}

/**
 * The texts an id map for a model trained on `conversations` must cover: every training text as the model
 * sees it (vicuna prompt + " " + answer), the vicuna prompt with each length prompt inserted (PiA and the
 * query prompt), and the digits 0-9 (length answers). Whole texts, not their parts, so pieces formed across
 * the template's boundaries are kept too.
 */
export function* idMapTexts(conversations: Iterable<Conversation>): Generator<string> {
  for (const c of conversations) {
    const prompt = vicunaPrompt(firstTurn(c, 'human'));
    yield `${prompt} ${firstTurn(c, 'gpt')}`;
  }
  const probe = vicunaPrompt('List three animals.');
  yield insertLengthPrompt(probe, QUERY_PROMPT);
  yield insertLengthPrompt(probe, PIA_PROMPT);
  yield `${probe} 0 1 2 3 4 5 6 7 8 9 10 100 256 512`;
}

function isRemapped(t: Tokenizer): t is RemappedTokenizer {
  return Array.isArray((t as RemappedTokenizer).keptIds);
}

export async function finetune(o: FinetuneOptions): Promise<FinetuneResult> {
  const { model, tokenizer } = o;
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new Error(
      `finetune: tokenizer ${tokenizer.name} has ${tokenizer.vocabSize} ids but the model's vocab_size is ${model.config.vocabSize}`,
    );
  }
  if (o.conversations.length === 0) throw new Error('finetune: no conversations');
  const maxLength = o.maxLength ?? model.config.maxPositionEmbeddings;
  const perConversation = conversationExamples(tokenizer, o.conversations);
  checkUnknownShare(
    tokenizer,
    perConversation.map((e) => e.ids),
    o.dataName ?? 'the training conversations',
  );
  const truncated = perConversation.filter((e) => e.ids.length > maxLength).length;
  const clipped = perConversation.map((e) =>
    e.ids.length > maxLength ? { ids: e.ids.slice(0, maxLength), labelMask: e.labelMask.slice(0, maxLength) } : e,
  );
  // an example cut before its first answer token trains on nothing (its loss is 0): refuse rather than train on less than asked
  const empty = clipped.filter((e) => !e.labelMask.some(Boolean)).length;
  if (empty > 0) {
    const need = Math.max(...perConversation.map((e) => e.labelMask.indexOf(1) + 1));
    throw new Error(
      `finetune: max length ${maxLength}${o.maxLength === undefined ? " (the model's max_position_embeddings)" : ' (--max-length / max_length)'} ` +
        `leaves ${empty} of ${clipped.length} examples without any answer token; the longest prompt needs ${need} tokens for its first answer token`,
    );
  }
  const exampleTokens = clipped.reduce((s, e) => s + e.ids.length, 0);
  if (o.packLength && o.packLength > model.config.maxPositionEmbeddings) {
    throw new Error(
      `finetune: packLength ${o.packLength} exceeds the model's max_position_embeddings ${model.config.maxPositionEmbeddings}`,
    );
  }
  const examples = o.packLength ? packExamples(clipped, o.packLength, o.seed) : clipped;

  if (o.mode === 'lora' && !model.lora) model.attachLora(o.lora ?? {}, o.seed);
  if (o.mode === 'full' && model.lora) throw new Error('finetune: mode full on a model with a LoRA adapter attached');
  const modelHooks = o.mode === 'lora' ? loraHooks(model, o.baseModelNameOrPath ?? null) : fullHooks(model);
  // a full-parameter checkpoint is a loadable model folder, so it carries the tokenizer's id map too
  const hooks = {
    ...modelHooks,
    saveState: async (dir: string) => {
      await modelHooks.saveState(dir);
      if (o.mode === 'full' && isRemapped(tokenizer)) saveIdMap(dir, [...tokenizer.keptIds], tokenizer.base.name);
    },
  };
  const trainableParameters = hooks.params.reduce((s, v) => s + v.size, 0);

  const trainOptions: TrainOptions = {
    ...hooks,
    examples,
    batchSize: o.batchSize,
    gradAccum: o.gradAccum,
    epochs: o.epochs,
    lr: o.lr,
    weightDecay: o.weightDecay,
    warmupRatio: o.warmupRatio,
    maxGradNorm: o.maxGradNorm,
    seed: o.seed,
    maxLength: o.packLength || maxLength,
    padSide: 'right',
    padId: tokenizer.padId >= 0 ? tokenizer.padId : 0,
    outDir: o.outDir,
    saveEvery: o.saveEvery ?? 0,
    stopAtStep: o.stopAtStep,
    label: o.label ?? `train ${o.mode}`,
  };
  const startNorm = await paramNorm(hooks.params); // before the first update (a resumed run: the same init)
  const result = await train(trainOptions);
  const firstStepLossNow = result.step > 0 ? await stepLossNow(trainOptions, 1) : NaN;
  const endNorm = await paramNorm(hooks.params);
  const h = result.history;
  const firstLoss = h[0]?.loss ?? NaN;

  const files: string[] = [];
  if (result.finished) {
    // the result itself, in outDir (the newest checkpoint holds the same weights plus optimizer state); the trainer
    // checked the weights after every step, this is the check of what is written
    const bad = await nonFiniteParams(hooks.params);
    if (bad.length)
      throw new Error(
        `finetune: the final weights hold non-finite values (${bad.length} of ${hooks.params.length} tensors); nothing written to ${o.outDir}`,
      );
    const unhealthy = unhealthyResult({
      startNorm,
      endNorm,
      firstLoss,
      lossAfter: firstStepLossNow,
      lr: o.lr,
      outDir: o.outDir,
    });
    if (unhealthy) throw new Error(unhealthy);
    await hooks.saveState(o.outDir);
    if (o.mode === 'full') {
      files.push('config.json', 'generation_config.json', 'model.safetensors');
      if (isRemapped(tokenizer)) files.push('tokenizer_idmap.json');
    } else {
      files.push('adapter_config.json', 'adapter_model.safetensors');
    }
    if (!o.keepCheckpoints) removeCheckpoints(o.outDir);
  }
  if (existsSync(curvePath(o.outDir))) files.push('log.csv');
  const last10 = h.slice(-10);
  const finalLoss = h[h.length - 1]?.loss ?? NaN;
  const summary: FinetuneResult = {
    train: result,
    examples: perConversation.length,
    rows: examples.length,
    exampleTokens,
    truncated,
    trainableParameters,
    firstLoss,
    finalLoss,
    finalLossMean10: last10.reduce((s, e) => s + e.loss, 0) / Math.max(1, last10.length),
    firstStepLossNow,
    lossMoved: lossMoved(firstLoss, firstStepLossNow),
    normGrowth: startNorm > 0 ? endNorm / startNorm : NaN,
    seconds: h[h.length - 1]?.seconds ?? 0,
    files,
  };
  return summary;
}

/**
 * Whether training moved the loss: the loss of the same batches (step 1's) before and after differs by more than
 * 0.1 %. The logged curve cannot tell: successive steps see other batches, whose losses differ by ~10 % here.
 */
export function lossMoved(before: number, after: number): boolean {
  return (
    Number.isFinite(before) &&
    Number.isFinite(after) &&
    Math.abs(after - before) > 1e-3 * Math.max(Math.abs(before), 1e-8)
  );
}

/** Write the run's summary (without the curve, which is in log.csv) as outDir/train_summary.json. */
export function writeFinetuneSummary(outDir: string, r: FinetuneResult, extra: Record<string, unknown> = {}): void {
  const { train: t, ...rest } = r;
  writeJson(join(outDir, 'train_summary.json'), {
    ...extra,
    ...rest,
    steps: t.step,
    totalSteps: t.totalSteps,
    finished: t.finished,
    resumedFrom: t.resumedFrom,
  });
}
