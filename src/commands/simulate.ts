/**
 * `seqsch simulate`: the paper's benchmark replayed on recorded response lengths — sample the queries as
 * upstream does, predict (vanilla | gt | po/seqsch from a predictions file), schedule (optionally VBS),
 * "generate" with the simulated engine (optionally FCR) and print upstream's metrics. No model is loaded.
 */
import type { CommandModule } from 'yargs';
import { withJson, report } from './common.js';
import { withScheduleOptions, scheduleParams, type ScheduleArgs } from './schedule-options.js';
import { writeJson } from '../util/fs.js';

interface Args extends ScheduleArgs {
  data: string;
  lengths: string;
  'real-lengths': string;
  'recorded-max-length': number;
  'cost-model'?: string;
  'fcr-recompute': 'failed' | 'upstream';
  json: boolean;
}

export const simulateCommand: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'replay the benchmark on recorded response lengths (trace-driven simulator, no model)',
  builder: (y) =>
    withJson(
      withScheduleOptions(y
        .option('data', { type: 'string', demandOption: true, describe: 'conversations JSON (FastChat format)' })
        .option('lengths', { type: 'string', demandOption: true, describe: 'recorded lengths JSON ({id, L_gt, L_t0.0, …})' }))
        .option('real-lengths', { type: 'string', default: 'L_t0.0', describe: 'recorded length that plays the real response' })
        .option('recorded-max-length', { type: 'number', default: 512, describe: 'max_length of the run that recorded the lengths' })
        .option('cost-model', { type: 'string', describe: 'measured cost model JSON (default: analytic A100-like model)' })
        .option('fcr-recompute', { choices: ['failed', 'upstream'] as const, default: 'failed' as const }),
    ) as never,
  handler: async (argv) => {
    const [{ loadBenchItems }, { simulate }, { upstreamBlock }] = await Promise.all([
      import('../benchmark/items.js'), import('../benchmark/simulate.js'), import('../benchmark/report.js')]);
    const items = loadBenchItems({ data: argv.data, lengths: argv.lengths, numData: argv['num-data'], seed: argv.seed });
    const r = await simulate(items, {
      ...scheduleParams(argv, { fcrRecompute: argv['fcr-recompute'] }),
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
