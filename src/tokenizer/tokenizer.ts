/**
 * `loadTokenizer`, which turns a name or a folder into
 * a tokenizer (the contract is in ./types.ts): 'llama' (the built-in LLaMA-1 tokenizer), a folder with `tokenizer_idmap.json` (the tiny model's
 * id-mapped LLaMA tokenizer), or a folder/file with an HF `tokenizer.json` (read offline by transformers.js).
 * It does not count lengths: the paper's token counts come from `countTokens` in ./llama.ts.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadIdMap, remapTokenizer } from './idmap.js';
import type { Tokenizer } from './types.js';

/** Names accepted for the built-in LLaMA-1 tokenizer. */
export const LLAMA_NAMES = ['llama', 'llama-1'] as const;

/**
 * 'llama' | 'llama-1' → the built-in LLaMA-1 tokenizer (no download).
 * DIR with tokenizer_idmap.json → the id-mapped tokenizer it describes (takes precedence over tokenizer.json).
 * DIR with tokenizer.json, or an HF tokenizer JSON file → @xenova/transformers, local files only
 * (tokenizer_config.json beside it, when present, picks the tokenizer class and special tokens).
 */
export async function loadTokenizer(pathOrName: string): Promise<Tokenizer> {
  if ((LLAMA_NAMES as readonly string[]).includes(pathOrName)) {
    const { llamaTokenizer } = await import('./llama.js');
    return llamaTokenizer();
  }
  const path = resolve(pathOrName);
  if (!existsSync(path)) {
    throw new Error(
      `${pathOrName}: no such tokenizer (give 'llama', a folder with tokenizer.json or tokenizer_idmap.json, or a tokenizer.json file)`,
    );
  }
  const dir = statSync(path).isDirectory() ? path : dirname(path);
  if (statSync(path).isDirectory() && existsSync(join(dir, 'tokenizer_idmap.json'))) {
    const map = loadIdMap(dir);
    const base = await loadTokenizer(
      (LLAMA_NAMES as readonly string[]).includes(map.base) ? map.base : resolve(dir, map.base),
    );
    return remapTokenizer(base, map.keptIds);
  }
  const file = statSync(path).isDirectory() ? join(dir, 'tokenizer.json') : path;
  if (!existsSync(file)) throw new Error(`${pathOrName}: folder has neither tokenizer.json nor tokenizer_idmap.json`);
  const { hfTokenizer } = await import('./hf.js');
  return hfTokenizer(file);
}
