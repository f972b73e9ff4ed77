/**
 * Skip a stage whose outputs already exist for the same inputs and config. A stage that writes files (lenpred,
 * construct, train, eval) stores a stamp beside its main output, `<output>.stage.json`: a hash of its config
 * and of every input file's bytes (folders hashed file by file), plus the record it returned. When the stamp
 * matches and every output exists, the record is returned without running the stage. It does not decide what a
 * stage's inputs are (the stage lists them) and never deletes outputs.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Scalar } from './registry.js';
import { writeJson } from '../util/fs.js';

/**
 * Folder entries that are not a stage's input: stamps, temporaries, and what a training run writes beside its
 * weights (curve, summaries, cards, intermediate checkpoints), so editing a model card does not rerun a stage.
 */
const NOT_INPUT = /(\.stage\.json|\.md|\.csv|^train_done\.json|^train_summary\.json)$|\.tmp-|\.partial|^checkpoint-/;

/** sha256 of a file's bytes, or of a folder's files (relative names and bytes, sorted by name; NOT_INPUT entries skipped). */
export function hashPath(path: string): string {
  if (!existsSync(path)) throw new Error(`${path}: input not found`);
  const h = createHash('sha256');
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (NOT_INPUT.test(name)) continue;
        walk(join(p, name));
      }
    } else {
      h.update(relative(path, p) + '\0');
      h.update(readFileSync(p));
    }
  };
  walk(path);
  return h.digest('hex');
}

export interface StageStamp {
  key: string;
  config: unknown;
  inputs: Record<string, string>;
  record: Record<string, Scalar>;
}

export function stampPath(mainOutput: string): string {
  return `${mainOutput}.stage.json`;
}

/** The cache key of a config and its input files. */
export function stageKey(config: unknown, inputs: string[]): { key: string; inputs: Record<string, string> } {
  const hashes = Object.fromEntries(inputs.map((p) => [p, hashPath(p)]));
  const key = createHash('sha256').update(JSON.stringify({ config, inputs: hashes })).digest('hex');
  return { key, inputs: hashes };
}

/**
 * Run `produce` unless `<outputs[0]>.stage.json` holds the same key and every output exists; the record says
 * `skipped: true` when the stored one was reused. The stamp is written after `produce` succeeds.
 */
export async function runCached(
  o: { outputs: string[]; inputs: string[]; config: unknown },
  produce: () => Promise<Record<string, Scalar>>,
): Promise<Record<string, Scalar>> {
  const stamp = stampPath(o.outputs[0]);
  const { key, inputs } = stageKey(o.config, o.inputs);
  if (existsSync(stamp) && o.outputs.every((p) => existsSync(p))) {
    try {
      const saved = JSON.parse(readFileSync(stamp, 'utf8')) as StageStamp;
      if (saved.key === key) return { ...saved.record, skipped: true };
    } catch {
      // an unreadable stamp means: run again
    }
  }
  const record = await produce();
  writeJson(stamp, { key, config: o.config, inputs, record } satisfies StageStamp);
  return { ...record, skipped: false };
}
