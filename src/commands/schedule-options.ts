/**
 * The options that `seqsch simulate` and `seqsch benchmark` share — predictions, strategy, VBS/FCR switches,
 * query sampling, batch/group size, max length, bucket cell, FCR limit, trace file — and their mapping to the
 * benchmark driver's parameters. Each command declares its own inputs (`--data`, `--lengths`) and engine
 * options; nothing here loads data or runs anything.
 */
import type { Argv } from 'yargs';
import { STRATEGIES, type StrategyName } from '../perception/predictor.js';
import { DEFAULT_SCHEDULE, parseFcrLimit, type ScheduleConfig } from '../scheduling/schedule.js';

/** The parsed shared options (yargs keys). */
export interface ScheduleArgs {
  predictions?: string;
  strategy: StrategyName;
  vbs: boolean;
  fcr: boolean;
  'num-data'?: number;
  seed: number;
  'batch-size': number;
  'group-size': number;
  'max-length': number;
  cell: number;
  'fcr-limit': string;
  trace?: string;
}

export function withScheduleOptions<T>(y: Argv<T>) {
  return y
    .option('predictions', { type: 'string', describe: 'predicted lengths JSON ([{id, predicted}]) for po/seqsch' })
    .option('strategy', { choices: STRATEGIES, default: 'vanilla' as StrategyName })
    .option('vbs', { type: 'boolean', default: false, describe: 'variable batch size' })
    .option('fcr', { type: 'boolean', default: false, describe: 'failure collection and recomputation' })
    .option('num-data', { type: 'number', describe: 'sample this many queries (numpy permutation)' })
    .option('seed', { type: 'number', default: 42 })
    .option('batch-size', { type: 'number', default: DEFAULT_SCHEDULE.batchSize })
    .option('group-size', { type: 'number', default: 256 })
    .option('max-length', { type: 'number', default: 512, describe: 'max new tokens' })
    .option('cell', { type: 'number', default: DEFAULT_SCHEDULE.cell, describe: 'VBS bucket cell (tokens)' })
    .option('fcr-limit', { type: 'string', default: 'bucket', describe: 'FCR batch limit: bucket | x<factor> | +<tokens>' })
    .option('trace', { type: 'string', describe: 'write the per-batch trace and per-query results to this JSON file' });
}

/**
 * The driver parameters both commands pass on: strategy, predictions, schedule (paper defaults for what the
 * CLI does not expose, then `overrides`), max length and group size. `--fcr-limit off` turns FCR off.
 */
export function scheduleParams(argv: ScheduleArgs, overrides: Partial<ScheduleConfig> = {}) {
  const fcrLimit = parseFcrLimit(argv['fcr-limit']);
  const schedule: ScheduleConfig = {
    ...DEFAULT_SCHEDULE,
    batchSize: argv['batch-size'],
    vbs: argv.vbs,
    cell: argv.cell,
    fcr: argv.fcr && fcrLimit !== null,
    fcrLimit: fcrLimit ?? DEFAULT_SCHEDULE.fcrLimit,
    ...overrides,
  };
  return {
    strategy: argv.strategy,
    predictions: argv.predictions,
    schedule,
    maxLength: argv['max-length'],
    groupSize: argv['group-size'],
  };
}
