/**
 * Paths the tests read. Everything lives in the repository: the Alpaca traces under data/alpaca/ (gzipped;
 * readJson reads `.json.gz` directly) and the HF + PEFT reference fixture under test/fixtures/.
 */
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** An absolute path inside the repository. */
export function repoPath(...parts: string[]): string {
  return resolve(REPO_ROOT, ...parts);
}

/** The paper's Alpaca split and Vicuna-7B's recorded lengths for it (see data/alpaca/README.md). */
export const ALPACA = {
  trainData: repoPath('data/alpaca/alpaca-train-10k.json.gz'),
  trainLengths: repoPath('data/alpaca/alpaca-train-10k-length.json.gz'),
  valData: repoPath('data/alpaca/alpaca-val-10k.json.gz'),
  valLengths: repoPath('data/alpaca/alpaca-val-10k-length.json.gz'),
};

/** The tiny random LLaMA + PEFT adapter written by HF transformers (see its meta.json). */
export const HF_FIXTURE = repoPath('test/fixtures/hf-llama-tiny');
