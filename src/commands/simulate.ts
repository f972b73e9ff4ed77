/**
 * `seqsch simulate`: the paper's benchmark replayed on recorded response lengths — sample the queries as
 * upstream does, predict (vanilla | gt | po/seqsch from a predictions file), schedule (optionally VBS),
 * "generate" with the simulated engine (optionally FCR) and print upstream's metrics. No model is loaded.
 */
import type { CommandModule } from 'yargs';
import { withJson, report } from './common.js';
import { loadBenchItems } from '../benchmark/items.js';
import { simulate } from '../benchmark/simulate.js';
import { upstreamBlock } from '../benchmark/report.js';
import { STRATEGIES, type StrategyName } from '../perception/predictor.js';
import { DEFAULT_SCHEDULE, parseFcrLimit } from '../scheduling/schedule.js';
import { writeJson } from '../util/fs.js';

interface Args {
  data: string;
  lengths: string;
  predictions?: string;
  strategy: StrategyName;
  vbs: boolean;
  fcr: boolean;
  'num-data'?: number;
  seed: number;
  'batch-size': number;
  'group-size': number;
  'max-length': number;
  'real-lengths': string;
  'recorded-max-length': number;
  'cost-model'?: string;
  cell: number;
  'fcr-limit': string;
  'fcr-recompute': 'failed' | 'upstream';
  trace?: string;
  json: boolean;
}

export const simulateCommand: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'replay the benchmark on recorded response lengths (trace-driven simulator, no model)',
  builder: (y) =>
    withJson(
      y
        .option('data', { type: 'string', demandOption: true, describe: 'conversations JSON (FastChat format)' })
        .option('lengths', { type: 'string', demandOption: true, describe: 'recorded lengths JSON ({id, L_gt, L_t0.0, …})' })
        .option('predictions', { type: 'string', describe: 'predicted lengths JSON ([{id, predicted}]) for po/seqsch' })
        .option('strategy', { choices: STRATEGIES, default: 'vanilla' as StrategyName })
        .option('vbs', { type: 'boolean', default: false, describe: 'variable batch size' })
        .option('fcr', { type: 'boolean', default: false, describe: 'failure collection and recomputation' })
        .option('num-data', { type: 'number', describe: 'sample this many queries (numpy permutation)' })
        .option('seed', { type: 'number', default: 42 })
        .option('batch-size', { type: 'number', default: DEFAULT_SCHEDULE.batchSize })
        .option('group-size', { type: 'number', default: 256 })
        .option('max-length', { type: 'number', default: 512, describe: 'max new tokens' })
        .option('real-lengths', { type: 'string', default: 'L_t0.0', describe: 'recorded length that plays the real response' })
        .option('recorded-max-length', { type: 'number', default: 512, describe: 'max_length of the run that recorded the lengths' })
        .option('cost-model', { type: 'string', describe: 'measured cost model JSON (default: analytic A100-like model)' })
        .option('cell', { type: 'number', default: DEFAULT_SCHEDULE.cell, describe: 'VBS bucket cell (tokens)' })
        .option('fcr-limit', { type: 'string', default: 'bucket', describe: 'FCR batch limit: bucket | x<factor> | +<tokens>' })
        .option('fcr-recompute', { choices: ['failed', 'upstream'] as const, default: 'failed' as const })
        .option('trace', { type: 'string', describe: 'write the per-batch trace and per-query results to this JSON file' }),
    ) as never,
  handler: async (argv) => {
    const items = loadBenchItems({ data: argv.data, lengths: argv.lengths, numData: argv['num-data'], seed: argv.seed });
    const fcrLimit = parseFcrLimit(argv['fcr-limit']);
    const r = await simulate(items, {
      strategy: argv.strategy,
      predictions: argv.predictions,
      schedule: {
        ...DEFAULT_SCHEDULE,
        batchSize: argv['batch-size'],
        vbs: argv.vbs,
        cell: argv.cell,
        fcr: argv.fcr && fcrLimit !== null,
        fcrLimit: fcrLimit ?? DEFAULT_SCHEDULE.fcrLimit,
        fcrRecompute: argv['fcr-recompute'],
      },
      maxLength: argv['max-length'],
      groupSize: argv['group-size'],
      realLengths: argv['real-lengths'],
      recordedMaxLength: argv['recorded-max-length'],
      costModel: argv['cost-model'],
    });
    if (argv.trace) writeJson(argv.trace, { trace: r.trace, items: r.items });
    const out = {
      strategy: r.strategy, vbs: r.vbs, fcr: r.fcr, num_samples: r.num_samples,
      average_length: r.average_length, effective_token_ratio: r.effective_token_ratio, failure_ratio: r.failure_ratio,
      num_batches: r.num_batches, decode_steps: r.decode_steps, simulated_seconds: r.seconds, throughput: r.throughput,
    };
    report(argv.json, out, () => upstreamBlock(r, argv['group-size'], argv['batch-size']));
  },
};
