/**
 * Run a validated experiment: every configuration point through its stage, one progress bar over all
 * points, then the results folder `results/<experiment>-<timestamp>/` (resolved config, results.csv,
 * results.json, table.md, report.html, and provenance.json: the sha256 of the config, of every input file and
 * of each file written, provenance.ts), written under a temporary name and renamed when complete
 * (run-folder.ts: removed on failure, those of killed runs removed at the next start). Parsing and
 * validation are in config.ts; what a stage computes is in its own module.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { stringify as yamlStringify } from 'yaml';
import { loadExperiment, type Experiment } from './config.js';
import { getStage, type PointResult, type Scalar, type StageContext } from './registry.js';
import { note, progress } from '../util/progress.js';
import { memoCache } from '../util/memo.js';
import { writeFileAtomic, writeJson } from '../util/fs.js';
import { reportHtml } from './report-html.js';
import { startRunFolder } from './run-folder.js';
import { claimOutputs, claimRunDir } from './claim.js';
import { sideFileNames } from '../util/side-files.js';
import { changedDuring, hashFiles, pointInputs, pointOutputs, writeProvenance } from './provenance.js';
import { experimentHash } from './shard.js';

export interface RunOptions {
  /** parent of the run folder (default "results") */
  resultsRoot?: string;
  /** timestamp in the folder name (default now) */
  now?: Date;
  /** keep per-point details (e.g. per-query results) in results.json */
  details?: boolean;
}

const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/:/g, '-');

/**
 * Run the points at `indices` (default: every point) in file order; returns their results without writing
 * anything but what the stages write into `outDir`. `afterPoint` is called after each point with its index.
 */
export async function runPoints(
  exp: Experiment,
  outDir: string,
  indices: number[] = exp.points.map((_, i) => i),
  afterPoint?: (index: number) => void,
): Promise<PointResult[]> {
  const ctx: StageContext = { outDir, cache: memoCache() };
  const sideNames = sideFileNames(exp.points); // over every point, so each shard names a point as a full run does
  const bar = progress(exp.name, indices.length, {}, { lines: false }); // without a TTY: the note() lines below
  const out: PointResult[] = [];
  try {
    for (const [k, i] of indices.entries()) {
      const p = exp.points[i];
      const t0 = performance.now();
      const where = `${exp.name}: point ${k + 1}/${indices.length}`;
      note(
        `${where}, stages[${p.stageIndex}] ${p.stage} "${p.label}"${Object.keys(p.swept).length ? ` ${JSON.stringify(p.swept)}` : ''}`,
      );
      const { record, detail } = await getStage(p.stage)!.run(p.config as never, {
        ...ctx,
        point: { label: p.label, swept: p.swept, sideName: sideNames[i] },
      });
      out.push({
        stage: p.stage,
        stageIndex: p.stageIndex,
        label: p.label,
        swept: p.swept,
        record,
        config: p.config,
        detail,
      });
      note(
        `${where} done in ${((performance.now() - t0) / 1000).toFixed(1)} s${record.skipped === true ? ' (reused)' : ''}`,
      );
      afterPoint?.(i);
      bar.tick(1);
    }
  } finally {
    bar.stop();
  }
  return out;
}

function defaultTable(rows: PointResult[]): string {
  const keys = [...new Set(rows.flatMap((r) => [...Object.keys(r.swept), ...Object.keys(r.record)]))];
  const head = ['label', ...keys];
  const cell = (v: Scalar | undefined) => (typeof v === 'number' ? String(Number(v.toFixed(4))) : String(v ?? ''));
  return (
    [
      `| ${head.join(' | ')} |`,
      `|${head.map(() => ' --- ').join('|')}|`,
      ...rows.map((r) => `| ${[r.label, ...keys.map((k) => cell(r.swept[k] ?? r.record[k]))].join(' | ')} |`),
    ].join('\n') + '\n'
  );
}

export function tableMarkdown(exp: Experiment, results: PointResult[]): string {
  const parts = [`# ${exp.name}\n`, exp.description ? `${exp.description.trim()}\n` : '', `From \`${exp.file}\`.\n`];
  const stages = [...new Set(results.map((r) => r.stageIndex))];
  for (const si of stages) {
    const rows = results.filter((r) => r.stageIndex === si);
    const def = getStage(rows[0].stage)!;
    parts.push(`\n## stages[${si}]: ${rows[0].stage}\n\n`, def.table ? def.table(rows) : defaultTable(rows));
  }
  return parts.join('');
}

export function resultsCsv(results: PointResult[]): string {
  const swept = [...new Set(results.flatMap((r) => Object.keys(r.swept)))];
  const rec = [...new Set(results.flatMap((r) => Object.keys(r.record)))];
  const columns = ['stage', 'label', ...swept.map((k) => `sweep.${k}`), ...rec];
  const rows = results.map((r) => [
    r.stage,
    r.label,
    ...swept.map((k) => r.swept[k] ?? ''),
    ...rec.map((k) => r.record[k] ?? ''),
  ]);
  return stringify([columns, ...rows], { cast: { boolean: (v) => String(v) } });
}

/**
 * The files of a results folder (config.yaml, results.csv, results.json, table.md, report.html) for `results`
 * in this order, written into `dir`. A full run, each shard and a merge write them here, and only here.
 */
export async function writeRunFiles(
  dir: string,
  exp: Experiment,
  results: PointResult[],
  opts: { details?: boolean } = {},
): Promise<void> {
  writeFileAtomic(
    join(dir, 'config.yaml'),
    yamlStringify({
      source: exp.file,
      experiment: exp.raw,
      points: exp.points.map((p) => ({ stage: p.stage, label: p.label, swept: p.swept, config: p.config })),
    }),
    'the resolved config',
  );
  writeFileAtomic(join(dir, 'results.csv'), resultsCsv(results), 'the results table');
  writeJson(
    join(dir, 'results.json'),
    {
      experiment: exp.name,
      source: exp.file,
      results: results.map((r) => ({ ...r, detail: opts.details ? r.detail : undefined })),
    },
    'the results',
  );
  const table = tableMarkdown(exp, results);
  writeFileAtomic(join(dir, 'table.md'), table, 'the markdown table');
  writeFileAtomic(join(dir, 'report.html'), await reportHtml(exp, results, table), 'the HTML report');
}

/** A new folder `<root>/<name>-<timestamp>` (`-2`, `-3`, … when taken); not created. */
export function newRunDir(root: string, name: string, now = new Date()): string {
  let dir = join(root, `${name}-${stamp(now)}`);
  for (let k = 2; existsSync(dir); k++) dir = join(root, `${name}-${stamp(now)}-${k}`);
  return dir;
}

/** Load, validate (file, key, line; missing files) and run an experiment file; returns the results folder. */
export async function runExperiment(
  file: string,
  opts: RunOptions = {},
): Promise<{ dir: string; experiment: Experiment; results: PointResult[] }> {
  const exp = loadExperiment(file);
  const root = opts.resultsRoot ?? 'results';
  // before any work: every point's outputs writable and locked, and a run folder of this run's own (claim.ts)
  const release = claimOutputs(
    exp,
    exp.points.map((_, i) => i),
    { path: root, what: '--results', lock: false },
  );
  let dir: string;
  let releaseDir: () => void;
  try {
    ({ dir, release: releaseDir } = claimRunDir(root, `${exp.name}-${stamp(opts.now ?? new Date())}`));
  } catch (e) {
    release();
    throw e;
  }
  const run = startRunFolder(dir); // <dir>.partial-<host>-<pid> until complete; removed if the run fails
  try {
    const all = exp.points.map((_, i) => i);
    const before = hashFiles(pointInputs(exp, all)); // those an earlier point writes are 'missing' here
    const results = run.relocate(await runPoints(exp, run.tmp));
    await writeRunFiles(run.tmp, exp, results, { details: opts.details });
    const inputs = hashFiles(pointInputs(exp, all));
    const during = changedDuring(before, inputs, pointOutputs(exp, all));
    if (during) throw new Error(`${exp.file}: ${during}; run it again`);
    writeProvenance(run.tmp, experimentHash(exp), inputs);
    run.commit();
    return { dir, experiment: exp, results };
  } catch (e) {
    run.abort();
    throw e;
  } finally {
    releaseDir();
    release();
  }
}
