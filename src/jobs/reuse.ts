/**
 * Skip a stage whose outputs already exist for the same inputs and config. A stage that writes files (lenpred,
 * construct, eval) stores a stamp beside its main output, `<output>.stage.json`: a hash of its config and of
 * every input file's bytes (folders hashed file by file), the sha256 of every output as written, and the record
 * it returned. When the stamp's key matches and every output still has its recorded hash, the record is
 * returned without running the stage; an output that changed (edited, damaged, or replaced by a killed run) or a
 * stamp without output hashes makes it run again, saying why on stderr. It does not decide what a stage's
 * inputs are (the stage lists them) and never deletes outputs. (The train stage keeps the same record in its
 * own OUT/train_done.json, src/training/run.ts.)
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Scalar } from '../core/job.js';
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
  /** sha256 of each output (hashPath) when the stamp was written */
  outputs?: Record<string, string>;
  record: Record<string, Scalar>;
}

export function stampPath(mainOutput: string): string {
  return `${mainOutput}.stage.json`;
}

/** The cache key of a config and its input files. */
export function stageKey(config: unknown, inputs: string[]): { key: string; inputs: Record<string, string> } {
  const hashes = Object.fromEntries(inputs.map((p) => [p, hashPath(p)]));
  const key = createHash('sha256')
    .update(JSON.stringify({ config, inputs: hashes }))
    .digest('hex');
  return { key, inputs: hashes };
}

/**
 * Why the stamp cannot vouch for the outputs (key differs, an output is missing or changed, no output hashes), or
 * null when they can be reused.
 */
export function staleReason(stamp: string, key: string, outputs: string[]): string | null {
  if (!existsSync(stamp)) return 'no stamp';
  let saved: StageStamp;
  try {
    saved = JSON.parse(readFileSync(stamp, 'utf8')) as StageStamp;
  } catch {
    return `${stamp} is not readable JSON`;
  }
  if (saved.key !== key) return 'its inputs or configuration changed';
  for (const p of outputs) {
    if (!existsSync(p)) return `${p} is missing`;
    if (!saved.outputs?.[p]) return `${stamp} records no hash of ${p}, so it cannot be checked`;
    if (hashPath(p) !== saved.outputs[p]) return `${p} changed since ${stamp} was written`;
  }
  return null;
}

/** Why the stage's outputs cannot be reused as they are on disk (staleReason), or null when their stamp vouches for them. */
export function staleOutputs(o: { outputs: string[]; inputs: string[]; config: unknown }): string | null {
  const stamp = stampPath(o.outputs[0]);
  const why = staleReason(stamp, stageKey(o.config, o.inputs).key, o.outputs);
  if (why === null) return null;
  if (why === 'no stamp') return `${o.outputs[0]}: its stamp ${stamp} is not there, so it cannot be checked`;
  return why.startsWith(o.outputs[0]) || why.startsWith(stamp)
    ? why
    : `${o.outputs[0]}: ${why} since ${stamp} was written`;
}

/**
 * Run `produce` unless `<outputs[0]>.stage.json` holds the same key and every output still has its recorded
 * hash; the record says `skipped: true` when the stored one was reused. The stamp is written after `produce`
 * succeeds (a kill between the outputs and the stamp leaves an old stamp whose hashes no longer match: rerun).
 */
export async function runCached(
  o: { outputs: string[]; inputs: string[]; config: unknown },
  produce: () => Promise<Record<string, Scalar>>,
): Promise<Record<string, Scalar>> {
  const stamp = stampPath(o.outputs[0]);
  const { key, inputs } = stageKey(o.config, o.inputs);
  const why = staleReason(stamp, key, o.outputs);
  if (why === null) return { ...(JSON.parse(readFileSync(stamp, 'utf8')) as StageStamp).record, skipped: true };
  if (existsSync(stamp)) process.stderr.write(`${o.outputs[0]}: computing again (${why})\n`);
  const record = await produce();
  const outputs = Object.fromEntries(o.outputs.map((p) => [p, hashPath(p)]));
  writeJson(stamp, { key, config: o.config, inputs, outputs, record } satisfies StageStamp);
  return { ...record, skipped: false };
}
