/**
 * Put a sweep's parts (sweep.ts: the prepare folder and the shard folders) back into one results folder, the
 * one a single-process run writes: config.yaml, results.csv, results.json, table.md, report.html (runner.ts's
 * writers) and the files the points wrote (for a file several points wrote, the last point's, as in one run).
 * Before writing anything it checks that every part comes from the same experiment (content hash), that no
 * results file changed since its part wrote it and every part read the same bytes of every input (the hashes in
 * each shard.json, provenance.ts), and that together they hold every point exactly once; a missing, duplicate,
 * edited or half-written part is named, with the file.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Experiment } from './config.js';
import { newRunDir, writeRunFiles } from './runner.js';
import type { PointResult } from './registry.js';
import {
  experimentHash,
  isPrepared,
  MANIFEST,
  partFolder,
  partName,
  partPoints,
  type Part,
  type PartManifest,
} from './shard.js';
import { readJson } from '../util/fs.js';
import { startRunFolder } from './run-folder.js';
import { claimRunDir } from './claim.js';
import { acquireLock } from '../util/lock.js';
import { writableProblem } from '../util/job-paths.js';
import { editedResults, inputConflicts, writeProvenance } from './provenance.js';
import './stages.js'; // the stages' tables and kinds

/** A JSON file that must hold an object (a shard's `{}` or `null` fails naming the file, not with a TypeError). */
function readObject<T>(file: string): T {
  const v = readJson<unknown>(file);
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`${file}: expected a JSON object, got ${JSON.stringify(v)}`);
  return v as T;
}

interface LoadedPart {
  dir: string;
  manifest: PartManifest;
}

const HALF_WRITTEN = /\.partial-/;
const partKey = (p: Part) => (p.kind === 'prepare' ? 'prepare' : `shard ${p.index}`);

/** The part folders an argument names: a part folder itself, or a folder holding part folders. */
function expand(arg: string, notes: string[]): string[] {
  if (!existsSync(arg)) throw new Error(`${arg}: not found`);
  if (existsSync(join(arg, MANIFEST))) return [arg];
  if (HALF_WRITTEN.test(basename(arg)))
    throw new Error(
      `${arg}: a part still running or killed midway (no ${MANIFEST}); it does not count: rerun that task`,
    );
  const inside = readdirSync(arg)
    .sort()
    .map((n) => join(arg, n));
  const parts = inside.filter((d) => existsSync(join(d, MANIFEST)));
  for (const d of inside.filter((d) => HALF_WRITTEN.test(basename(d))))
    notes.push(`${d}: half-written (a part still running or killed midway), not counted`);
  if (!parts.length) throw new Error(`${arg}: not a shard folder (no ${MANIFEST}) and holds none`);
  return parts;
}

/** Check the parts against each other and the experiment; returns the experiment and each point's part. */
function checkParts(parts: LoadedPart[]): Experiment {
  for (const p of parts) {
    if ((p.manifest.format as string) === 'seqsch-part-1')
      throw new Error(
        `${join(p.dir, MANIFEST)}: written before parts recorded the hashes of their inputs and results (format seqsch-part-1), so its results cannot be checked: run that part again`,
      );
    if (p.manifest.format !== 'seqsch-part-2' || !p.manifest.provenance)
      throw new Error(`${join(p.dir, MANIFEST)}: unknown format ${JSON.stringify(p.manifest.format)}`);
    if (experimentHash(p.manifest.experiment) !== p.manifest.hash)
      throw new Error(
        `${join(p.dir, MANIFEST)}: its experiment does not match its content hash (edited, or written by another version)`,
      );
  }
  const byHash = new Map<string, string[]>();
  for (const p of parts) byHash.set(p.manifest.hash, [...(byHash.get(p.manifest.hash) ?? []), p.dir]);
  if (byHash.size > 1) {
    throw new Error(
      `the parts come from different experiments (content hash):\n  ${[...byHash].map(([h, ds]) => `${h.slice(0, 12)}…: ${ds.join(', ')}`).join('\n  ')}`,
    );
  }
  const exp = parts[0].manifest.experiment as Experiment;

  // provenance: every results file as its part wrote it, and every input read with the same bytes by every part
  const edited = parts.flatMap((p) => editedResults(p.dir, p.manifest.provenance.results));
  if (edited.length) throw new Error(`results edited after their part was written:\n  ${edited.join('\n  ')}`);
  const conflicts = inputConflicts(parts.map((p) => ({ dir: p.dir, provenance: p.manifest.provenance })));
  if (conflicts.length)
    throw new Error(
      `the parts read different inputs (a file changed between them; rerun the parts that read the old one):\n  ${conflicts.join('\n  ')}`,
    );

  const seen = new Map<string, string>();
  for (const p of parts) {
    const k = partKey(p.manifest.part);
    if (seen.has(k)) throw new Error(`duplicate ${partName(p.manifest.part)}: ${seen.get(k)} and ${p.dir}; keep one`);
    seen.set(k, p.dir);
  }
  const shards = parts
    .map((p) => p.manifest.part)
    .filter((p): p is Extract<Part, { kind: 'shard' }> => p.kind === 'shard');
  const counts = [...new Set(shards.map((s) => s.count))];
  if (counts.length > 1)
    throw new Error(
      `the shards were cut in different counts (${counts.join(', ')}): ${parts
        .filter((p) => p.manifest.part.kind === 'shard')
        .map((p) => `${p.dir} (${partName(p.manifest.part)})`)
        .join(', ')}`,
    );

  // what a complete set holds: the prepare step (when there are prepared points) and shards 0 … n−1
  const root = dirname(parts[0].dir);
  const n = counts[0];
  const expected: Part[] = [];
  if (exp.points.some((_, i) => isPrepared(exp, i))) expected.push({ kind: 'prepare' });
  if (exp.points.some((_, i) => !isPrepared(exp, i))) {
    if (n === undefined)
      throw new Error(
        `no shard folders among ${parts.map((p) => p.dir).join(', ')}: the experiment's swept points are in the shards`,
      );
    for (let k = 0; k < n; k++) expected.push({ kind: 'shard', index: k, count: n });
  }
  const missing = expected.filter((e) => !seen.has(partKey(e)));
  if (missing.length) {
    const describe = (m: Part) => {
      const pts = partPoints(exp, m);
      const labels = pts.slice(0, 3).map(
        (i) =>
          exp.points[i].label +
          (Object.keys(exp.points[i].swept).length
            ? ` (${Object.entries(exp.points[i].swept)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')})`
            : ''),
      );
      const run = m.kind === 'prepare' ? '--prepare' : `--shard ${m.index}/${m.count}`;
      return `${partName(m)}: expected ${join(root, partFolder(exp.name, m))} with ${pts.length} point(s) [${labels.join('; ')}${pts.length > 3 ? '; …' : ''}]; run \`seqsch experiment ${exp.file} ${run} --results ${root}\``;
    };
    throw new Error(`missing ${missing.length} part(s) of ${exp.name}:\n  ${missing.map(describe).join('\n  ')}`);
  }
  // a prepare folder with no points (the experiment has nothing to prepare) is accepted: submit.sh always runs the step
  const unexpected = parts.filter(
    (p) => !expected.some((e) => partKey(e) === partKey(p.manifest.part)) && p.manifest.points.length > 0,
  );
  if (unexpected.length)
    throw new Error(
      `parts this experiment does not have: ${unexpected.map((p) => `${p.dir} (${partName(p.manifest.part)})`).join(', ')}`,
    );

  // every point exactly once: each part holds the points the assignment gives it
  for (const p of parts) {
    const want = partPoints(exp, p.manifest.part);
    if (JSON.stringify(want) !== JSON.stringify(p.manifest.points)) {
      throw new Error(
        `${p.dir}: holds points [${p.manifest.points.join(', ')}] but ${partName(p.manifest.part)} of ${exp.name} is [${want.join(', ')}]`,
      );
    }
  }
  return exp;
}

export interface MergeOptions {
  /** the merged folder (default `<resultsRoot>/<experiment>-<timestamp>`); must not exist */
  out?: string;
  resultsRoot?: string;
  /** keep per-point details in results.json (default: when every part was run with --details) */
  details?: boolean;
  now?: Date;
}

/** Check and merge part folders (or folders holding them); returns the merged folder and its results. */
export async function mergeParts(
  args: string[],
  opts: MergeOptions = {},
): Promise<{ dir: string; experiment: Experiment; results: PointResult[]; parts: string[]; notes: string[] }> {
  if (!args.length) throw new Error('merge: name the shard folders (or the folder holding them)');
  const notes: string[] = [];
  const dirs = [...new Set(args.flatMap((a) => expand(a, notes)))];
  const parts: LoadedPart[] = dirs.map((dir) => ({ dir, manifest: readObject<PartManifest>(join(dir, MANIFEST)) }));
  let exp: Experiment;
  try {
    exp = checkParts(parts);
  } catch (e) {
    // a missing shard is often the half-written one: say so beside the error
    throw notes.length ? new Error(`${(e as Error).message}\n  ${notes.join('\n  ')}`) : e;
  }

  const byPoint: PointResult[] = new Array(exp.points.length);
  for (const p of parts) {
    const file = join(p.dir, 'results.json');
    const rs = readObject<{ results: PointResult[] }>(file).results;
    const bad = Array.isArray(rs)
      ? rs.findIndex((r) => !r || typeof r !== 'object' || !r.record || typeof r.record !== 'object')
      : -1;
    if (!Array.isArray(rs) || bad >= 0)
      throw new Error(
        `${file}: expected {"results": [...]} with one {stage, label, record} object per point` +
          (bad >= 0 ? `; results[${bad}] is ${JSON.stringify(rs[bad])}` : `; "results" is ${JSON.stringify(rs)}`),
      );
    if (rs.length !== p.manifest.points.length)
      throw new Error(`${file}: ${rs.length} results for ${p.manifest.points.length} points in ${MANIFEST}`);
    p.manifest.points.forEach((i, j) => (byPoint[i] = rs[j]));
  }
  const results = [...byPoint];

  // the merged folder is this merge's alone (claim.ts, util/lock.ts) and can be written, before anything is copied
  const fresh = newRunDir(opts.resultsRoot ?? 'results', exp.name, opts.now);
  const claim = opts.out
    ? { dir: opts.out, release: acquireLock(opts.out, '--out') }
    : claimRunDir(dirname(fresh), basename(fresh));
  const dir = claim.dir;
  let run: ReturnType<typeof startRunFolder>;
  try {
    if (existsSync(dir)) throw new Error(`${dir}: already exists; merge writes a new folder (choose another --out)`);
    const unwritable = writableProblem(dir, opts.out ? '--out' : 'the merged folder');
    if (unwritable) throw new Error(unwritable);
    run = startRunFolder(dir);
  } catch (e) {
    claim.release();
    throw e;
  }
  const tmp = run.tmp;
  try {
    // side files: from the part whose point wrote them last
    const source = new Map<string, { dir: string; point: number }>();
    for (const p of parts) {
      for (const [f, point] of Object.entries(p.manifest.sideFiles))
        if (!source.has(f) || source.get(f)!.point < point) source.set(f, { dir: p.dir, point });
    }
    for (const [f, s] of source) {
      mkdirSync(dirname(join(tmp, f)), { recursive: true });
      copyFileSync(join(s.dir, f), join(tmp, f));
    }
    await writeRunFiles(tmp, exp, results, { details: opts.details ?? parts.every((p) => p.manifest.details) });
    writeProvenance(tmp, parts[0].manifest.hash, Object.assign({}, ...parts.map((p) => p.manifest.provenance.inputs)));
    run.commit();
  } catch (e) {
    run.abort();
    throw e;
  } finally {
    claim.release();
  }
  return { dir, experiment: exp, results, parts: dirs, notes };
}
