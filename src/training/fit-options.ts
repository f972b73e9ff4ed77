/**
 * The optimiser's five options — epochs, batch size, peak learning rate, AdamW weight decay, warmup share — written
 * once for the small trainers that expose them the same way (`seqsch probe`, `seqsch train-predictor`), each with its
 * own defaults. Spread into an option table where the five belong: a stage's stamp hashes its config in the table's
 * key order, so the five keep theirs. (`seqsch train` has its own table: a grad-accumulation flag sits among them.)
 */
import type { OptionTable } from '../core/options/spec.js';

export interface FitDefaults {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
}

export function fitOptions(d: FitDefaults) {
  return {
    epochs: { type: 'number', int: true, min: 1, default: d.epochs },
    'batch-size': { type: 'number', int: true, min: 1, default: d.batchSize },
    lr: { type: 'number', gt: 0, max: 1, default: d.lr }, // AdamW steps ~lr per weight: above 1 swamps every weight
    'weight-decay': { type: 'number', min: 0, default: d.weightDecay },
    'warmup-ratio': { type: 'number', min: 0, max: 1, default: d.warmupRatio },
  } as const satisfies OptionTable;
}
