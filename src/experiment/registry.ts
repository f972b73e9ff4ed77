/**
 * The stage registry of the experiment runner. A stage is a named step (simulate, later lenpred, construct,
 * train, eval, benchmark) with its own zod schema for one resolved configuration point, and a `run` that
 * turns one point into a flat record of results. The runner core knows stages only through this registry.
 */
import type { z } from 'zod';

import type { JobContext, Scalar } from '../core/job.js';
import type { OutputPath } from '../util/job-paths.js';
export type { Scalar };

/** Shared across the points of one experiment run: memoize expensive loads (e.g. sampled queries). */
export type StageContext = Omit<JobContext, 'cli' | 'outDir'> & { outDir: string };

export interface StageDef<S extends z.ZodObject = z.ZodObject> {
  /** one configuration point: a strict object schema (unknown keys are errors) */
  schema: S;
  /** checks across keys (the job's `check`), run on every point when the file is loaded */
  check?(cfg: z.infer<S>, key: (k: string) => string): string | undefined;
  /** files the point reads, by config key; all must exist (or be produced by an earlier stage) before any work */
  files?(cfg: z.infer<S>): { key: string; path: string }[];
  /** files the point writes, so later stages may read them */
  outputs?(cfg: z.infer<S>): string[];
  /** every path the point writes, by key (the job's `writes`; an experiment has no CLI-only flags) */
  writes?(cfg: z.infer<S>, cli: Record<string, unknown>): OutputPath[];
  /**
   * Why the outputs on disk cannot be vouched for by the stamp the stage wrote with them (edited since, written for
   * other inputs or config, no stamp), or null when they can; absent for a stage that keeps no stamp. A shard calls
   * it before reading a prepared point's outputs (src/experiment/sweep.ts).
   */
  outputsStale?(cfg: z.infer<S>): Promise<string | null>;
  /** run one point; the record becomes one row of results.csv */
  run(cfg: z.infer<S>, ctx: StageContext): Promise<{ record: Record<string, Scalar>; detail?: unknown; text?: string }>;
  /** the stage reads the results of the run's earlier points in memory (ctx.cache), so its experiment runs in one process, never split over shards */
  wholeRun?: boolean;
  /** table.md section for this stage's rows; a plain table of every record key when absent */
  table?(rows: { label: string; swept: Record<string, Scalar>; record: Record<string, Scalar> }[]): string;
}

export interface PointResult {
  stage: string;
  stageIndex: number;
  label: string;
  swept: Record<string, Scalar>;
  record: Record<string, Scalar>;
  config: Record<string, unknown>;
  detail?: unknown;
}

const registry = new Map<string, StageDef>();

export function registerStage<S extends z.ZodObject>(name: string, def: StageDef<S>): void {
  if (registry.has(name)) throw new Error(`experiment stage "${name}" is registered twice`);
  registry.set(name, def as unknown as StageDef);
}

export function getStage(name: string): StageDef | undefined {
  return registry.get(name);
}

export function stageNames(): string[] {
  return [...registry.keys()];
}
