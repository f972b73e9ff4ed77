/**
 * A job is one concept of the pipeline — lenpred, construct, train, eval, benchmark, simulate, serve, … — defined
 * once: its option table (every CLI flag and YAML key, src/core/options/spec.ts) and a `run` from one checked
 * configuration to a flat record. The CLI (src/commands/mount.ts) and the experiment runner
 * (src/experiment/stages.ts) are two loops over the one list of jobs (src/jobs/index.ts); neither declares an
 * option of its own.
 * This module holds types only, so the CLI's --help loads no job code beyond the tables.
 */
import type { OptionTable, StageConfigOf } from './options/spec.js';
import type { OutputPath } from '../util/job-paths.js';

export type Scalar = string | number | boolean | null;

/** What a job's run may use besides its config. Shared by the points of one experiment run. */
export interface JobContext {
  /** memoize expensive loads (models, sampled queries) across the points of one experiment run */
  cache<T>(key: string, make: () => T): T;
  /** where side files go: the run's results folder in an experiment, or undefined on the CLI */
  outDir?: string;
  /**
   * the experiment point being run: its row label, sweep values, and the name of its side files, unique among the
   * experiment's points (src/util/side-files.ts)
   */
  point?: { label: string; swept: Record<string, Scalar>; sideName: string };
  /** the CLI-only flags (`yaml: false` entries) as given, by flag name; empty in an experiment */
  cli: Record<string, unknown>;
}

/** One row of a stage's table: the point's label, sweep values and record. */
export interface JobRow {
  label: string;
  swept: Record<string, Scalar>;
  record: Record<string, Scalar>;
}

export interface JobResult {
  /** one row of results.csv; the CLI's --json line */
  record: Record<string, Scalar>;
  /** kept in results.json with --details and read by later stages of the same run */
  detail?: unknown;
  /**
   * what the CLI prints without --json (upstream's block, a summary line); the record as JSON when absent; ''
   * prints nothing (a tool that wrote its output to stdout as it went)
   */
  text?: string;
}

export interface Job<T extends OptionTable = OptionTable> {
  /** the command's and the stage's name */
  name: string;
  /** one line for `seqsch --help` */
  describe: string;
  /** the one option table: CLI flags (kebab-case) and YAML keys (snake_case) */
  options: T;
  /** false: an experiment-only stage (no command); `cli: false` entries of its table are its keys */
  cli?: boolean;
  /** false: a CLI-only command (no stage) */
  yaml?: boolean;
  /** the yargs command string when it takes positionals (`tokenize <file>`) or differs from the stage's name */
  command?: string;
  /** `seqsch <name> --help` examples: [command line, what it does] */
  examples?: [string, string][];
  /**
   * Checks across keys that one entry cannot state. `key('max_length')` names a key as the surface spells it
   * (`--max-length` on the CLI, `max_length` in YAML), so both reject a bad value with the same words.
   */
  check?(c: StageConfigOf<T>, key: (k: string) => string): string | undefined;
  /** files the point reads, by key: all must exist (or be written by an earlier stage) before any work */
  files?(c: StageConfigOf<T>): { key: string; path: string }[];
  /** files the point writes, so later stages may read them */
  outputs?(c: StageConfigOf<T>): string[];
  /**
   * Every path the run writes, by key (CLI-only flags too, from `cli`; empty in an experiment), a folder with the
   * check that it is this job's own earlier output. Before any work both mounts refuse an output that equals,
   * contains or lies inside an input (`files`), or a foreign non-empty folder (src/util/job-paths.ts), check that
   * each can be written, and lock each for the run (src/util/lock.ts).
   */
  writes?(c: StageConfigOf<T>, cli: Record<string, unknown>): OutputPath[];
  /**
   * In an experiment, skip the point when its outputs exist for the same inputs (these files) and config
   * (src/jobs/reuse.ts); the CLI always runs.
   */
  reuse?(c: StageConfigOf<T>): { outputs: string[]; inputs: string[] };
  /**
   * Why the outputs on disk cannot be vouched for, for a job that keeps its own record of them instead of `reuse`'s
   * stamp (train: OUT/train_done.json); null when they match. A shard checks a prepared point's outputs with it.
   */
  outputsStale?(c: StageConfigOf<T>): Promise<string | null>;
  /**
   * Record keys scored from the files the point wrote (a predictions file), appended to the record after the run
   * or its reuse on both surfaces: a point reused from a stamp written before these keys existed gets them too.
   */
  scoreOutputs?(c: StageConfigOf<T>): Promise<Record<string, Scalar>>;
  /** the point reads earlier points of its run from ctx.cache, so its experiment runs in one process */
  wholeRun?: boolean;
  run(c: StageConfigOf<T>, ctx: JobContext): Promise<JobResult>;
  /** table.md section for this stage's rows; a plain table of every record key when absent */
  table?(rows: JobRow[]): string;
}

/** Keeps a job's table type for its `run` and `check`. */
export function defineJob<const T extends OptionTable>(job: Job<T>): Job<T> {
  return job;
}
