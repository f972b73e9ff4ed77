/**
 * The synthetic corpus on disk: train.json, val.json and pretrain.json (FastChat format) plus manifest.json
 * (the generator parameters and length statistics in LLaMA-1 tokens, BOS included). pretrain.json is too big
 * to commit, so `ensureSyntheticData` regenerates missing splits from the manifest's seed on first use and
 * checks that the committed splits still match the generator. Generation itself is in ../synthetic.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  makeSyntheticSplits,
  quantiles,
  instructionOf,
  answerOf,
  FAMILIES,
  drawTask,
  Rand,
  DEFAULT_MAX_LENGTH,
  type SyntheticSplits,
  type CorpusVersion,
} from '../synthetic.js';
import { saveConversations, type Conversation } from '../conversation.js';
import { countTokens, llamaTokenizer } from '../../tokenizer/llama.js';
import { readJson, writeJson } from '../../util/fs.js';

export const SPLITS = ['train', 'val', 'pretrain'] as const;
export type SplitName = (typeof SPLITS)[number];
export const MANIFEST_FILE = 'manifest.json';
export const REPORT_QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99] as const;

export interface SyntheticParams {
  seed: string | number;
  maxLength: number;
  train: number;
  val: number;
  pretrain: number;
  /** Corpus version; absent in version 1 manifests (their params stay as they were). */
  version?: CorpusVersion;
  /** Family-weight multipliers of the pretrain split (e.g. { count: 4 }); absent = the corpus mixture. */
  pretrainWeights?: Record<string, number>;
}

export interface SplitStats {
  n: number;
  /** Answer length (LLaMA-1 tokens, BOS included) at REPORT_QUANTILES. */
  quantiles: number[];
  mean: number;
  /** Share of answers longer than maxLength (they would be cut at generation). */
  overMaxLength: number;
  /** Distinct instructions in the split. */
  distinctInstructions: number;
}

export interface SyntheticManifest {
  params: SyntheticParams;
  quantileLevels: number[];
  splits: Record<SplitName, SplitStats>;
  /** Distinct LLaMA-1 token ids in all instructions and answers of all splits (EOS not included). */
  distinctTokenIds: number;
  /** Share of each family in a large draw (the mixture weights, normalised). */
  familyShare: Record<string, number>;
}

export function splitStats(convs: Conversation[], maxLength: number): SplitStats {
  const lens = convs.map((c) => countTokens(answerOf(c)));
  return {
    n: convs.length,
    quantiles: quantiles(lens, REPORT_QUANTILES).map((x) => Math.round(x * 10) / 10),
    mean: Math.round((lens.reduce((s, l) => s + l, 0) / Math.max(1, lens.length)) * 10) / 10,
    overMaxLength: lens.filter((l) => l > maxLength).length / Math.max(1, lens.length),
    distinctInstructions: new Set(convs.map(instructionOf)).size,
  };
}

/** Distinct LLaMA-1 ids (BOS included) over every instruction and answer. */
export function corpusTokenIds(convs: Iterable<Conversation>): Set<number> {
  const tok = llamaTokenizer();
  const ids = new Set<number>();
  for (const c of convs) for (const t of c.conversations) for (const id of tok.encode(t.value)) ids.add(id);
  return ids;
}

function manifestFor(params: SyntheticParams, s: SyntheticSplits): SyntheticManifest {
  const total = FAMILIES.reduce((a, f) => a + f.weight, 0);
  return {
    params,
    quantileLevels: [...REPORT_QUANTILES],
    splits: {
      train: splitStats(s.train, params.maxLength),
      val: splitStats(s.val, params.maxLength),
      pretrain: splitStats(s.pretrain, params.maxLength),
    },
    distinctTokenIds: corpusTokenIds([...s.train, ...s.val, ...s.pretrain]).size,
    familyShare: Object.fromEntries(FAMILIES.map((f) => [f.name, Math.round((f.weight / total) * 1000) / 1000])),
  };
}

/** Generate all splits and write them with the manifest into `dir`. */
export function writeSyntheticData(dir: string, params: SyntheticParams): SyntheticManifest {
  const splits = makeSyntheticSplits(params);
  for (const name of SPLITS) saveConversations(join(dir, `${name}.json`), splits[name]);
  const manifest = manifestFor(params, splits);
  writeJson(join(dir, MANIFEST_FILE), manifest);
  return manifest;
}

/**
 * Make sure every split file exists in `dir` (e.g. pretrain.json, which is not committed): missing ones are
 * regenerated from manifest.json's parameters, and the splits already there must equal what the generator
 * gives for those parameters (else the generator changed since they were written: rerun `seqsch make-data`).
 */
export function ensureSyntheticData(dir: string): SyntheticManifest {
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifest = readJson<SyntheticManifest>(manifestPath);
  if (!manifest.params || typeof manifest.params.maxLength !== 'number')
    throw new Error(`${manifestPath}: no "params" with the generator parameters`);
  const missing = SPLITS.filter((n) => !existsSync(join(dir, `${n}.json`)));
  if (missing.length === 0) return manifest;
  const splits = makeSyntheticSplits(manifest.params);
  for (const name of SPLITS) {
    const path = join(dir, `${name}.json`);
    const text = JSON.stringify(splits[name], null, 2) + '\n';
    if (missing.includes(name)) saveConversations(path, splits[name]);
    else if (readFileSync(path, 'utf8') !== text) {
      throw new Error(
        `${path}: differs from what the generator makes for ${manifestPath}'s params; rerun \`seqsch make-data --out ${dir}\``,
      );
    }
  }
  return manifest;
}

/**
 * Pearson correlation between the lengths of two independent reference answers to the same instruction,
 * over `n` drawn tasks: the best a model that samples the reference distribution can reach for
 * Pearson(L_t0.0, L_gt), so it must stay well above the acceptance bar of 0.8.
 */
export function resamplePearson(n: number, seed: string, maxLength: number, version: CorpusVersion = 1): number {
  const r = new Rand(`seqsch-synthetic-resample/${seed}`);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    const { task } = drawTask(r, maxLength / DEFAULT_MAX_LENGTH, version);
    a.push(countTokens(task.respond(r)));
    b.push(countTokens(task.respond(r)));
  }
  return pearson(a, b);
}

export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let c = 0,
    va = 0,
    vb = 0;
  for (let i = 0; i < n; i++) {
    c += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) ** 2;
    vb += (b[i] - mb) ** 2;
  }
  return c / Math.sqrt(va * vb);
}
