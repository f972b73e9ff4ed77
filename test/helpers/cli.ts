/**
 * Argument lists of `seqsch` commands on the repository's checkpoints, data and fixtures, shared by the tests that
 * run the CLI; each test adds its own flags after them. Running them is the caller's business.
 */
import { join } from 'node:path';
import { HF_FIXTURE, repoPath } from './paths.js';

/** `seqsch train` of ckpts/tiny-v3 on the first `numData` synthetic-v3 instruct conversations, batches of 2, one epoch. */
export function tinyTrainArgs(numData: number): string[] {
  return [
    'train',
    '--model',
    repoPath('ckpts/tiny-v3'),
    '--data',
    repoPath('data/synthetic-v3/train-instruct.json'),
    '--num-data',
    String(numData),
    '--batch-size',
    '2',
    '--grad-accum',
    '1',
    '--epochs',
    '1',
    '--backend',
    'wasm',
  ];
}

/** `seqsch logits` of the HF fixture's model on its recorded input, written to `out` (safetensors). */
export function fixtureLogitsArgs(out: string): string[] {
  return [
    'logits',
    '--backend',
    'wasm',
    '--model',
    join(HF_FIXTURE, 'model'),
    '--input',
    join(HF_FIXTURE, 'expected.safetensors'),
    '--output',
    out,
  ];
}
