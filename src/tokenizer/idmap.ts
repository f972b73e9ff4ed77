/**
 * The id-mapped tokenizer of the project's tiny model: the model keeps only the base (LLaMA-1) token ids its
 * corpus uses, so its embedding and output layer hold a few thousand rows instead of 32000. Model id i is
 * base id keptIds[i]; the text → ids step and every token count stay the base tokenizer's (lengths remain
 * LLaMA-1 counts). It does not train or extend a vocabulary: base ids that were not kept map to unk.
 *
 * File `tokenizer_idmap.json`, stored beside the model's config.json:
 *   { "base": "llama-1",          // the base tokenizer, a loadTokenizer name (or a path relative to this folder)
 *     "kept_ids": [0, 1, 2, ...] } // kept_ids[i] = base id of model id i; starts with unk 0, bos 1, eos 2
 */
import { join } from 'node:path';
import { readJson, writeJson } from '../util/fs.js';
import type { EncodeOptions, Tokenizer } from './types.js';

export const IDMAP_FILE = 'tokenizer_idmap.json';

export interface RemappedTokenizer extends Tokenizer {
  readonly base: Tokenizer;
  /** keptIds[modelId] = baseId. */
  readonly keptIds: readonly number[];
  /** Base ids → model ids (ids that were not kept → unk). */
  toModel(baseIds: number[]): number[];
  /** Model ids → base ids (error on an id outside the model's vocabulary). */
  toBase(modelIds: number[]): number[];
}

/** Check that keptIds is a valid map for `base`; errors name `where` (a file or 'remapTokenizer'). */
function validateKeptIds(
  keptIds: unknown,
  baseVocabSize: number,
  specials: [number, number, number],
  where: string,
): number[] {
  if (!Array.isArray(keptIds)) throw new Error(`${where}: kept_ids must be an array of token ids`);
  const seen = new Set<number>();
  keptIds.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= baseVocabSize) {
      throw new Error(`${where}: kept_ids[${i}] = ${JSON.stringify(id)} is not a token id in [0, ${baseVocabSize})`);
    }
    if (seen.has(id)) throw new Error(`${where}: kept_ids[${i}] = ${id} appears twice`);
    seen.add(id);
  });
  specials.forEach((id, i) => {
    if (keptIds[i] !== id) {
      throw new Error(
        `${where}: kept_ids must start with unk, bos, eos = [${specials.join(', ')}] so special ids stay equal; kept_ids[${i}] = ${keptIds[i]}`,
      );
    }
  });
  return keptIds as number[];
}

/** Model id i ↔ base id keptIds[i]; keptIds must start with the base's unk, bos, eos (model ids 0, 1, 2). */
export function remapTokenizer(base: Tokenizer, keptIds: number[]): RemappedTokenizer {
  const kept = validateKeptIds(keptIds, base.vocabSize, [base.unkId, base.bosId, base.eosId], 'remapTokenizer');
  const toModelTable = new Int32Array(base.vocabSize).fill(0); // base id → model id; 0 = unk
  kept.forEach((baseId, modelId) => (toModelTable[baseId] = modelId));
  const toModel = (baseIds: number[]) => baseIds.map((id) => toModelTable[id] ?? 0);
  const toBase = (modelIds: number[]) =>
    modelIds.map((id) => {
      const b = kept[id];
      if (b === undefined || !Number.isInteger(id))
        throw new Error(`${base.name}+idmap: model id ${id} outside [0, ${kept.length})`);
      return b;
    });
  return {
    base,
    keptIds: kept,
    toModel,
    toBase,
    encode: (text: string, opts?: EncodeOptions) => toModel(base.encode(text, opts)),
    decode: (ids: number[]) => base.decode(toBase(ids)),
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: base.padId < 0 ? -1 : toModelTable[base.padId],
    vocabSize: kept.length,
    name: `${base.name}+idmap(${kept.length})`,
  };
}

/** Every base id the texts use, plus unk, bos, eos (and pad when it has one), ascending — the specials come first. */
export function buildIdMap(texts: Iterable<string>, base: Tokenizer): number[] {
  const used = new Set<number>([base.unkId, base.bosId, base.eosId]);
  if (base.padId >= 0) used.add(base.padId);
  for (const t of texts) for (const id of base.encode(t)) used.add(id);
  const specials = [base.unkId, base.bosId, base.eosId];
  const rest = [...used].filter((id) => !specials.includes(id)).sort((a, b) => a - b);
  return [...specials, ...rest];
}

export function saveIdMap(dir: string, keptIds: number[], base = 'llama-1'): void {
  writeJson(join(dir, IDMAP_FILE), { base, kept_ids: keptIds });
}

/** Read DIR/tokenizer_idmap.json; checks the shape (the ids are checked against the base in remapTokenizer). */
export function loadIdMap(dir: string): { base: string; keptIds: number[] } {
  const file = join(dir, IDMAP_FILE);
  const raw = readJson<Record<string, unknown>>(file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`${file}: expected an object {"base", "kept_ids"}`);
  if (typeof raw.base !== 'string') throw new Error(`${file}: "base" must be a tokenizer name such as "llama-1"`);
  const keptIds = validateKeptIds(raw.kept_ids, Number.MAX_SAFE_INTEGER, [0, 1, 2], file);
  return { base: raw.base, keptIds };
}
