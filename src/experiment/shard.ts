/**
 * Sweeps split over a job array (Slurm `--array`, a Kubernetes Indexed Job): which points a part runs, what
 * identifies an experiment across processes, and where a task's index comes from. Running a part is sweep.ts's
 * job, putting the parts back together merge.ts's. This module only computes; it reads and writes nothing.
 *
 * An experiment's points fall in two kinds:
 * - prepared points: those of a stage that writes files other points may read (a stage with `outputs`: lenpred,
 *   construct, train, eval, train-predictor, proxy-predict). They run once, in the prepare step
 *   (`seqsch experiment FILE --prepare`, before the array), never in a shard, so no output is computed twice
 *   or by two processes at once.
 * - swept points: every other point. Shard k of n runs the swept points at positions k, k + n, k + 2n, … of the
 *   experiment's swept points in file order (round robin, so rows of different cost spread evenly). The
 *   assignment depends only on the experiment file and n.
 * A stage that reads the results of the run's earlier points in memory (`wholeRun`: calibrate) cannot be split;
 * sharding such an experiment is refused.
 */
import { createHash } from 'node:crypto';
import type { Experiment } from './config.js';
import { getStage } from './registry.js';
import type { Provenance } from './provenance.js';

/** Shard `index` of `count` (0 ≤ index < count). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** A part of a sweep: the prepare step or one shard. */
export type Part = { kind: 'prepare' } | ({ kind: 'shard' } & ShardSpec);

export const partName = (p: Part) => (p.kind === 'prepare' ? 'prepare' : `shard ${p.index}/${p.count}`);

/** The part's folder name under the results root: `<experiment>-prepare`, `<experiment>-shard-<k>of<n>`. */
export const partFolder = (experiment: string, p: Part) =>
  p.kind === 'prepare' ? `${experiment}-prepare` : `${experiment}-shard-${p.index}of${p.count}`;

/** `i/n` → shard i of n; the error names the flag. */
export function parseShard(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`--shard ${text}: expected INDEX/COUNT, e.g. --shard 0/3 (indices start at 0)`);
  return checkedShard(Number(m[1]), Number(m[2]), `--shard ${text}`);
}

function checkedShard(index: number, count: number, where: string): ShardSpec {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new Error(`${where}: the shard count must be a positive integer`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count)
    throw new Error(`${where}: shard index ${index} is outside 0…${count - 1}`);
  return { index, count };
}

const intVar = (env: NodeJS.ProcessEnv, name: string): number | undefined => {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim())) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return Number(v);
};

/**
 * The shard of this task from the scheduler's environment, or null outside a job array:
 * - Slurm without `count`: index = SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN, count = SLURM_ARRAY_TASK_COUNT
 *   (else MAX − MIN + 1); the array must be a dense range (`--array=0-(n-1)`; a step or a list is refused).
 * - Slurm with `count` (--shards N): index = SLURM_ARRAY_TASK_ID itself, so `--array=1` reruns shard 1 of N.
 * - Kubernetes Indexed Job: index = JOB_COMPLETION_INDEX; the count is not in the environment, so `count`
 *   (the Job's `completions`, passed as --shards) is required.
 */
export function shardFromEnv(env: NodeJS.ProcessEnv, count?: number): ShardSpec | null {
  const id = intVar(env, 'SLURM_ARRAY_TASK_ID');
  if (id !== undefined) {
    if (count !== undefined) return checkedShard(id, count, `SLURM_ARRAY_TASK_ID=${id} with --shards ${count}`);
    const min = intVar(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const max = intVar(env, 'SLURM_ARRAY_TASK_MAX');
    const n = intVar(env, 'SLURM_ARRAY_TASK_COUNT') ?? (max !== undefined ? max - min + 1 : undefined);
    const where = `SLURM_ARRAY_TASK_ID=${id} (MIN=${env.SLURM_ARRAY_TASK_MIN ?? '?'}, MAX=${env.SLURM_ARRAY_TASK_MAX ?? '?'}, COUNT=${env.SLURM_ARRAY_TASK_COUNT ?? '?'})`;
    if (n === undefined)
      throw new Error(
        `${where}: neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is set, so the shard count is unknown; pass --shards N`,
      );
    if (max !== undefined && max - min + 1 !== n)
      throw new Error(`${where}: the array is not a dense range; submit it as --array=0-${n - 1} or pass --shards N`);
    return checkedShard(id - min, n, where);
  }
  const k = intVar(env, 'JOB_COMPLETION_INDEX');
  if (k !== undefined) {
    if (count === undefined)
      throw new Error(
        `JOB_COMPLETION_INDEX=${k} is set but the shard count is not: pass --shards N (the Job's completions)`,
      );
    return checkedShard(k, count, `JOB_COMPLETION_INDEX=${k} with --shards ${count}`);
  }
  if (count !== undefined)
    throw new Error(
      `--shards ${count}: no task index in the environment (SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX); give --shard INDEX/${count}`,
    );
  return null;
}

/** A prepared point: its stage writes files (declares `outputs`). */
export const isPrepared = (exp: Experiment, i: number) => getStage(exp.points[i].stage)?.outputs !== undefined;

/** The experiment's point indices a part runs, in file order. Throws when the experiment cannot be split. */
export function partPoints(exp: Experiment, p: Part): number[] {
  const whole = [
    ...new Set(
      exp.points.filter((q) => getStage(q.stage)?.wholeRun).map((q) => `stages[${q.stageIndex}] (${q.stage})`),
    ),
  ];
  if (whole.length) {
    throw new Error(
      `${exp.file}: ${whole.join(', ')} reads the results of the run's earlier points in memory, so this experiment cannot be split over shards; run it in one process`,
    );
  }
  const all = exp.points.map((_, i) => i);
  if (p.kind === 'prepare') return all.filter((i) => isPrepared(exp, i));
  return all.filter((i) => !isPrepared(exp, i)).filter((_, j) => j % p.count === p.index);
}

/** JSON with object keys sorted, so equal content gives equal bytes whatever the key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * The experiment's content hash (sha256, hex): its YAML as data and every resolved point (stage, label, sweep
 * values, config with the stage's defaults filled in). Shards of the same file and code agree; a changed key,
 * sweep value or default does not. It covers no input file's bytes (the stage stamps do that) and not the
 * file's path, so the same file run from another folder merges.
 */
export function experimentHash(exp: Pick<Experiment, 'raw' | 'points'>): string {
  const points = exp.points.map((p) => ({
    stage: p.stage,
    stageIndex: p.stageIndex,
    label: p.label,
    swept: p.swept,
    config: p.config,
  }));
  return createHash('sha256')
    .update(canonicalJson({ raw: exp.raw, points }))
    .digest('hex');
}

/** `shard.json`: what identifies a part folder and lets merge.ts rebuild the experiment without its YAML file. */
export interface PartManifest {
  /** part-1 folders (written before provenance was kept) are refused by merge.ts: their results cannot be checked */
  format: 'seqsch-part-2';
  part: Part;
  hash: string;
  /** experiment point indices of results.json's `results`, in the same order */
  points: number[];
  /** files the points wrote into the folder (relative path → the last point index that wrote it) */
  sideFiles: Record<string, number>;
  /** whether the run asked for per-point details in results.json (a part keeps them anyway, for the merge) */
  details: boolean;
  experiment: Pick<Experiment, 'file' | 'name' | 'description' | 'raw' | 'points'>;
  /** content hashes of what the part read (inputs, prepared outputs) and wrote (results files): provenance.ts */
  provenance: Provenance;
}

export const MANIFEST = 'shard.json';
