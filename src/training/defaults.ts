/**
 * Upstream train.sh's training defaults (LoRA instruction tuning of Vicuna-7B) and the name of a finished run's
 * record; no tfjs here: the train job's option table and outputs (loaded by `seqsch --help`) read them.
 */
import { DEFAULT_LORA, type LoraTarget } from '../model/lora-config.js';
import type { FinetuneMode } from './finetune.js';

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

/** The record a finished training run leaves in its folder (src/training/run.ts). */
export const DONE_FILE = 'train_done.json';
