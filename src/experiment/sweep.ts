/**
 * Run one part of a sweep (shard.ts says which points): the prepare step (`--prepare`) or shard k of n
 * (`--shard k/n`, or from the job array's environment). A part writes the folder a full run writes, for its
 * points only, into `<root>/<experiment>-prepare` or `<root>/<experiment>-shard-<k>of<n>`, plus `shard.json`
 * (its identity, the experiment's content hash, its point indices, the files its points wrote, and the sha256 of
 * its inputs, the prepared outputs and each results file: provenance.ts). A shard first checks that every prepared
 * output is still what the prepare step wrote, and refuses naming the file. Its results.json
 * always keeps per-point details (the merged report.html plots them). The folder is written under
 * `<dir>.partial-<host>-<pid>` (containers of a Kubernetes Job all run as PID 1; their host names differ) and
 * renamed when complete, so a part killed midway never looks complete; a failed part removes it; a rerun of a
 * finished part replaces its folder.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadExperiment, type Experiment } from './config.js';
import { runPoints, writeRunFiles } from './runner.js';
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
import { readJson, writeJson } from '../util/fs.js';
import { startRunFolder } from './run-folder.js';
import { claimOutputs } from './claim.js';
import { getStage } from './registry.js';
import { changedDuring, hashFiles, hashFolder, pointInputs, pointOutputs, type Provenance } from './provenance.js';

/** Every file under `dir` (relative path → size and mtime), temporaries left out. */
function fileStates(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = statSync(p, { bigint: true });
      if (s.isDirectory()) walk(p);
      else if (!name.includes('.tmp-')) out.set(relative(dir, p), `${s.size}:${s.mtimeNs}`);
    }
  };
  walk(dir);
  return out;
}

/**
 * Shards read the prepared points' outputs: the prepare folder of the same experiment must be complete, and every
 * prepared output must still be what the prepare step wrote — vouched for by its stage's stamp (a single-process
 * run would compute an edited output again; a shard never computes a prepared point, so it refuses) and equal to
 * the hash the prepare folder recorded. The error names the file.
 */
async function requirePrepared(exp: Experiment, hash: string, root: string): Promise<void> {
  const prepared = exp.points.filter((_, i) => isPrepared(exp, i));
  if (!prepared.length) return;
  const dir = join(root, partFolder(exp.name, { kind: 'prepare' }));
  const what = `${prepared.length} point(s) of ${[...new Set(prepared.map((p) => p.stage))].join(', ')}`;
  const fix = `run \`seqsch experiment ${exp.file} --prepare --results ${root}\` once before the shards (deploy/slurm/ submits it as their dependency)`;
  if (!existsSync(join(dir, MANIFEST)))
    throw new Error(`${dir}: not found; the shards read the outputs of ${what}: ${fix}`);
  const m = readJson<PartManifest>(join(dir, MANIFEST));
  if (m.hash !== hash)
    throw new Error(
      `${dir}: prepared for a different version of ${exp.file} (content hash ${m.hash.slice(0, 12)}…, this file ${hash.slice(0, 12)}…): ${fix}`,
    );
  for (const [i, p] of exp.points.entries()) {
    if (!isPrepared(exp, i)) continue;
    const why = await getStage(p.stage)?.outputsStale?.(p.config as never);
    if (why)
      throw new Error(
        `${why}\n  a prepared output of stages[${p.stageIndex}] ${p.stage} "${p.label}" (${dir}); a shard does not compute it again: ${fix}`,
      );
  }
  const recorded = m.provenance?.prepared ?? {};
  const now = hashFiles(Object.keys(recorded));
  for (const [f, h] of Object.entries(recorded))
    if (now[f] !== h)
      throw new Error(
        `${f}: changed since the prepare step wrote it (its sha256 in ${join(dir, MANIFEST)} differs): ${fix}`,
      );
}

/**
 * A finished part folder is replaced only by a rerun of the same part of the same experiment (same content hash):
 * one of another configuration (an edited YAML, another file under the same name) is refused naming what differs,
 * instead of being replaced without a word.
 */
function refuseOtherPart(dir: string, exp: Experiment, hash: string): void {
  if (!existsSync(dir)) return;
  const file = join(dir, MANIFEST);
  if (!existsSync(file))
    throw new Error(`${dir}: exists but holds no ${MANIFEST}, so it is not a part folder of ${exp.file}; move it away`);
  const m = readJson<Partial<PartManifest>>(file);
  if (m.hash === hash) return;
  const was = (m.experiment?.raw ?? {}) as { stages?: unknown[] };
  const now = exp.raw as { stages?: unknown[] };
  const stages = Array.from({ length: Math.max(was.stages?.length ?? 0, now.stages?.length ?? 0) }, (_, i) => i).filter(
    (i) => JSON.stringify(was.stages?.[i]) !== JSON.stringify(now.stages?.[i]),
  );
  const what = [
    ...(m.experiment?.file !== exp.file ? [`written from ${m.experiment?.file ?? '?'}, this run is ${exp.file}`] : []),
    ...(stages.length ? [`stages ${stages.map((i) => `[${i}]`).join(', ')} differ`] : []),
    `content hash ${String(m.hash ?? '?').slice(0, 12)}… there, ${hash.slice(0, 12)}… here`,
  ].join('; ');
  throw new Error(
    `${dir}: holds this part of another configuration (${what}); it is not replaced: move it away or give another --results`,
  );
}

export interface PartRun {
  dir: string;
  experiment: Experiment;
  part: Part;
  points: number[];
  results: PointResult[];
}

/** Run one part of an experiment file and write its folder under `resultsRoot` (default "results"). */
export async function runPart(
  file: string,
  part: Part,
  opts: { resultsRoot?: string; details?: boolean } = {},
): Promise<PartRun> {
  const exp = loadExperiment(file);
  const root = opts.resultsRoot ?? 'results';
  const points = partPoints(exp, part);
  const hash = experimentHash(exp);
  if (part.kind === 'shard') await requirePrepared(exp, hash, root);
  const inputsBefore = hashFiles(pointInputs(exp, points)); // those an earlier prepared point writes are 'missing' here
  process.stderr.write(
    `${exp.name} ${partName(part)}: ${points.length} of ${exp.points.length} points${points.length ? ` (${points.slice(0, 8).join(', ')}${points.length > 8 ? ', …' : ''})` : ''}\n`,
  );

  const dir = join(root, partFolder(exp.name, part));
  refuseOtherPart(dir, exp, hash);
  // before any work: the points' outputs writable and locked, and the part folder ours alone (claim.ts)
  const release = claimOutputs(exp, points, { path: dir, what: `the ${partName(part)} folder`, lock: true });
  let run: ReturnType<typeof startRunFolder>;
  try {
    run = startRunFolder(dir); // <dir>.partial-<host>-<pid>; dead writers' partial folders are removed first
  } catch (e) {
    release();
    throw e;
  }
  const tmp = run.tmp;
  try {
    // which point wrote which side file (benchmark/<row>.json, …): merge.ts keeps the last writer's, as one run would
    const sideFiles: Record<string, number> = {};
    let before = fileStates(tmp);
    const results = run.relocate(
      await runPoints(exp, tmp, points, (i) => {
        const after = fileStates(tmp);
        for (const [f, s] of after) if (before.get(f) !== s) sideFiles[f] = i;
        before = after;
      }),
    );
    await writeRunFiles(tmp, exp, results, { details: true });
    const inputs = hashFiles(pointInputs(exp, points));
    const during = changedDuring(inputsBefore, inputs, pointOutputs(exp, points));
    if (during) throw new Error(`${exp.file} ${partName(part)}: ${during}; run the part again`);
    const prepared = exp.points.map((_, i) => i).filter((i) => isPrepared(exp, i));
    const provenance: Provenance = {
      config: hash,
      inputs,
      prepared: hashFiles(pointOutputs(exp, prepared)),
      results: hashFolder(tmp),
    };
    const manifest: PartManifest = {
      format: 'seqsch-part-2',
      part,
      hash,
      points,
      sideFiles,
      details: opts.details ?? false,
      experiment: { file: exp.file, name: exp.name, description: exp.description, raw: exp.raw, points: exp.points },
      provenance,
    };
    writeJson(join(tmp, MANIFEST), manifest);
    if (existsSync(dir)) {
      // a rerun of a finished part: swap the folders, then drop the old one
      const old = `${tmp}-replaced`;
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else run.commit();
    return { dir, experiment: exp, part, points, results };
  } catch (e) {
    run.abort();
    throw e;
  } finally {
    release();
  }
}
