/**
 * Where a results folder's numbers came from: the content hashes (sha256) of the experiment's configuration, of
 * every file its points read (each stage's `files`: data, lengths, predictions, model folders, …), of the
 * prepared outputs a shard read, and of every file the run wrote. A full run and a merge keep them in
 * `provenance.json`; a part of a sweep keeps them in its `shard.json` (sweep.ts), and merge.ts checks them: the
 * parts must have read the same bytes, and no results file may have changed since its part wrote it.
 * Hashes of folders follow src/jobs/reuse.ts's hashPath (files by name, stamps and run records left out). This
 * module computes and compares; it decides nothing about which points run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Experiment } from './config.js';
import { getStage } from './registry.js';
import { hashPath } from '../jobs/reuse.js';
import { writeJson } from '../util/fs.js';

/** What a run or part read and wrote, by content. */
export interface Provenance {
  /** the experiment's content hash (shard.ts experimentHash: its YAML as data and every resolved point) */
  config: string;
  /** every file a point of the run names (path as written in the config → sha256; 'missing' if absent) */
  inputs: Record<string, string>;
  /** outputs of prepared points this part read or wrote (path → sha256); empty in a full run (they are inputs) */
  prepared: Record<string, string>;
  /** every file the run wrote into its folder (relative path → sha256), the manifest itself left out */
  results: Record<string, string>;
}

const MISSING = 'missing';

/** sha256 of a file's bytes (what `sha256sum` prints). */
const sha256File = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/**
 * sha256 of each path: a file's bytes (as `sha256sum` prints), a folder's files by name (src/jobs/reuse.ts
 * hashPath); 'missing' for a path that does not exist.
 */
export function hashFiles(paths: Iterable<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of [...new Set(paths)].sort())
    out[p] = !existsSync(p) ? MISSING : statSync(p).isDirectory() ? hashPath(p) : sha256File(p);
  return out;
}

/** The files the points at `indices` read, by their stages' `files`. */
export function pointInputs(exp: Experiment, indices: number[]): string[] {
  return indices.flatMap((i) => {
    const p = exp.points[i];
    return (getStage(p.stage)?.files?.(p.config as never) ?? []).map((f) => f.path);
  });
}

/** The files the points at `indices` write (their stages' `outputs`): a prepared point's products. */
export function pointOutputs(exp: Experiment, indices: number[]): string[] {
  return indices.flatMap((i) => {
    const p = exp.points[i];
    return getStage(p.stage)?.outputs?.(p.config as never) ?? [];
  });
}

/** sha256 of every file under `dir` (relative path → hash), `skip` (the manifest) and temporaries left out. */
export function hashFolder(dir: string, skip: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!name.includes('.tmp-') && !skip.includes(relative(dir, p))) out[relative(dir, p)] = sha256File(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Inputs that changed while the run was in progress: hashed before (where they existed) and after. A file the run
 * itself writes (equal to, or inside, one of `written`: a point's outputs, e.g. construct's output read by train)
 * may change. Returns the first as "PATH: changed while …", or null.
 */
export function changedDuring(
  before: Record<string, string>,
  after: Record<string, string>,
  written: string[] = [],
): string | null {
  const ours = (p: string) => written.some((w) => p === w || p.startsWith(`${w.replace(/\/+$/, '')}/`));
  for (const [p, h] of Object.entries(before))
    if (h !== MISSING && after[p] !== h && !ours(p))
      return `${p}: changed while the run was reading it (sha256 before and after differ)`;
  return null;
}

/** The results files of `dir` whose bytes differ from those `recorded` (missing ones too), as "DIR/FILE: why". */
export function editedResults(dir: string, recorded: Record<string, string>): string[] {
  const bad: string[] = [];
  for (const [f, h] of Object.entries(recorded)) {
    const p = join(dir, f);
    if (!existsSync(p)) bad.push(`${p}: missing (its part wrote it)`);
    else if (sha256File(p) !== h)
      bad.push(`${p}: changed since its part wrote it (its sha256 in ${join(dir, 'shard.json')} differs)`);
  }
  return bad;
}

/**
 * Paths that the parts saw with different bytes (a lengths file edited between two shards, a prepared output
 * replaced after the prepare step): "PATH: DIR_A read sha256 …, DIR_B read …". Each part's inputs and prepared
 * outputs are compared with every other part's.
 */
export function inputConflicts(parts: { dir: string; provenance: Provenance }[]): string[] {
  const seen = new Map<string, { dir: string; hash: string }[]>();
  for (const { dir, provenance } of parts)
    for (const [p, h] of Object.entries({ ...provenance.inputs, ...provenance.prepared }))
      seen.set(p, [...(seen.get(p) ?? []), { dir, hash: h }]);
  const out: string[] = [];
  for (const [p, list] of seen) {
    if (new Set(list.map((x) => x.hash)).size < 2) continue;
    const by = new Map<string, string[]>();
    for (const x of list) by.set(x.hash, [...(by.get(x.hash) ?? []), x.dir]);
    out.push(
      `${p}: read with different contents — ${[...by].map(([h, ds]) => `${ds.join(', ')} (${h === MISSING ? 'missing' : `sha256 ${h.slice(0, 12)}…`})`).join(' vs ')}`,
    );
  }
  return out;
}

export const PROVENANCE = 'provenance.json';

/**
 * Write `<dir>/provenance.json` of a full run or a merge: the config hash, the inputs (path → sha256, sorted) and
 * every file in `dir` as it is now. A merge of a sweep's parts writes the same bytes as the single run.
 */
export function writeProvenance(dir: string, config: string, inputs: Record<string, string>): void {
  const sorted = Object.fromEntries(Object.entries(inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  writeJson(join(dir, PROVENANCE), {
    config,
    inputs: sorted,
    prepared: {},
    results: hashFolder(dir, [PROVENANCE]),
  } satisfies Provenance);
}
