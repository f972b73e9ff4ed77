/**
 * The config keys that the `simulate` and `benchmark` experiment stages share — queries, strategy and every
 * scheduling knob (VBS, bucket cell and table, FCR limit and recompute policy, batch/group size, max length,
 * seed) — and their mapping to the scheduler's `ScheduleConfig`. Each stage adds its own keys (engine,
 * model, cost model…); nothing here runs a benchmark.
 */
import { z } from 'zod';
import { STRATEGIES } from '../../perception/predictor.js';
import { PAPER_VBS_FALLBACK, PAPER_VBS_TABLE } from '../../scheduling/buckets.js';
import { DEFAULT_SCHEDULE, parseFcrLimit, type ScheduleConfig } from '../../scheduling/schedule.js';

const posInt = z.number().int().positive();
const fcrLimit = z.string().refine((s) => {
  try {
    parseFcrLimit(s);
    return true;
  } catch {
    return false;
  }
}, 'expected bucket, off, x<factor> (e.g. x1.2) or +<tokens> (e.g. +32)');
const vbsTable = z
  .record(z.string().regex(/^\d+$/, 'bucket keys are token counts'), posInt)
  .refine((t) => Object.keys(t).length > 0, 'the VBS table needs at least one bucket');

/**
 * The shared zod shape, in the key order the stages' configs (and their written copies) keep. `lengths` is
 * required here (the simulator replays it); a stage that can do without it overrides the key in place.
 * Defaults are the paper's.
 */
export const scheduleFields = {
  data: z.string(),
  lengths: z.string(),
  predictions: z.string().optional(),
  strategy: z.enum(STRATEGIES as [string, ...string[]]).default('vanilla'),
  vbs: z.boolean().default(false),
  fcr: z.boolean().default(false),
  fcr_limit: fcrLimit.default('bucket'),
  fcr_recompute: z.enum(['failed', 'upstream']).default('failed'),
  num_data: posInt.optional(),
  seed: z.number().int().min(0).max(0xffffffff).default(42),
  batch_size: posInt.default(DEFAULT_SCHEDULE.batchSize),
  group_size: posInt.default(256),
  max_length: posInt.default(512),
  cell: posInt.default(DEFAULT_SCHEDULE.cell),
  vbs_table: vbsTable.default(Object.fromEntries(Object.entries(PAPER_VBS_TABLE).map(([k, v]) => [String(k), v]))),
  vbs_fallback: posInt.default(PAPER_VBS_FALLBACK),
  tail_min: posInt.default(DEFAULT_SCHEDULE.tailMin),
};

type ScheduleKeys = 'batch_size' | 'vbs' | 'cell' | 'vbs_table' | 'vbs_fallback' | 'tail_min' | 'fcr' | 'fcr_limit' | 'fcr_recompute';
export type ScheduleFields = Pick<z.infer<z.ZodObject<typeof scheduleFields>>, ScheduleKeys>;

/** The scheduler's config for a stage config; `fcr_limit: off` turns FCR off whatever `fcr` says. */
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
