/**
 * The options that `seqsch simulate` and `seqsch benchmark` (and their experiment stages) share — predictions,
 * strategy, VBS/FCR switches, query sampling, batch/group size, max length, bucket cell and table, FCR limit
 * and recompute policy — as one option table (src/core/options/spec.ts), and their mapping to the scheduler's
 * `ScheduleConfig`. Each command adds its own inputs (`--data`, `--lengths`) and engine options around it.
 * Defaults are the paper's. Nothing here loads data or runs anything.
 */
import { defineOptions } from '../core/options/spec.js';
import { STRATEGIES } from '../core/names.js';
import { PAPER_VBS_FALLBACK, PAPER_VBS_TABLE } from './buckets.js';
import { DEFAULT_SCHEDULE, parseFcrLimit, type ScheduleConfig } from './schedule.js';

const fcrLimitProblem = (s: string) => {
  try {
    parseFcrLimit(s);
    return undefined;
  } catch {
    return `expected bucket, off, x<factor> (e.g. x1.2) or +<tokens> (e.g. +32), got ${JSON.stringify(s)}`;
  }
};

/** In table order: the key order of the simulate and benchmark stages' configs. */
export const scheduleOptions = defineOptions({
  predictions: { type: 'string', describe: 'predicted lengths JSON ([{id, predicted}]) for po/seqsch' },
  strategy: { type: 'choice', choices: STRATEGIES, default: 'vanilla' },
  vbs: { type: 'boolean', default: false, describe: 'variable batch size' },
  fcr: { type: 'boolean', default: false, describe: 'failure collection and recomputation' },
  'fcr-limit': {
    type: 'string',
    default: 'bucket',
    check: fcrLimitProblem,
    describe: 'FCR batch limit: bucket | off | x<factor> | +<tokens>',
  },
  'fcr-recompute': {
    type: 'choice',
    choices: ['failed', 'upstream'] as const,
    default: 'failed',
    describe: "which queries FCR regenerates (upstream: the released code's indexing)",
  },
  'num-data': { type: 'number', int: true, min: 1, describe: 'sample this many queries (numpy permutation)' },
  seed: { type: 'number', int: true, min: 0, max: 0xffffffff, default: 42 },
  'batch-size': { type: 'number', int: true, min: 1, default: DEFAULT_SCHEDULE.batchSize },
  'group-size': { type: 'number', int: true, min: 1, default: 256 },
  'max-length': { type: 'number', int: true, min: 1, default: 512, describe: 'max new tokens' },
  cell: { type: 'number', int: true, min: 1, default: DEFAULT_SCHEDULE.cell, describe: 'VBS bucket cell (tokens)' },
  'vbs-table': {
    type: 'yaml',
    cli: false,
    describe: 'VBS: bucket (tokens) → batch size',
    default: Object.fromEntries(Object.entries(PAPER_VBS_TABLE).map(([k, v]) => [String(k), v])) as Record<
      string,
      number
    >,
    zod: (z) =>
      z
        .record(z.string().regex(/^\d+$/, 'bucket keys are token counts'), z.number().int().positive())
        .refine((t) => Object.keys(t).length > 0, 'the VBS table needs at least one bucket'),
  },
  'vbs-fallback': {
    type: 'number',
    int: true,
    min: 1,
    default: PAPER_VBS_FALLBACK,
    describe: 'VBS: batch size of buckets above every table key',
  },
  'tail-min': {
    type: 'number',
    int: true,
    min: 1,
    default: DEFAULT_SCHEDULE.tailMin,
    describe: 'VBS: a chunk smaller than max(batch / 2, this) moves up to the next bucket',
  },
});

/** The schedule keys of a simulate/benchmark config (stage keys; the CLI's args through stageConfigOf). */
export interface ScheduleFields {
  batch_size: number;
  vbs: boolean;
  cell: number;
  vbs_table: Record<string, number>;
  vbs_fallback: number;
  tail_min: number;
  fcr: boolean;
  fcr_limit: string;
  fcr_recompute: 'failed' | 'upstream';
}

/** The scheduler's config; `fcr_limit: off` turns FCR off whatever `fcr` says. */
export function scheduleOf(c: ScheduleFields): ScheduleConfig {
  const policy = parseFcrLimit(c.fcr_limit);
  return {
    batchSize: c.batch_size,
    vbs: c.vbs,
    cell: c.cell,
    vbsTable: Object.fromEntries(Object.entries(c.vbs_table).map(([k, v]) => [Number(k), v])),
    vbsFallback: c.vbs_fallback,
    tailMin: c.tail_min,
    fcr: c.fcr && policy !== null,
    fcrLimit: policy ?? DEFAULT_SCHEDULE.fcrLimit,
    fcrRecompute: c.fcr_recompute,
  };
}
