/**
 * `seqsch simulate`: the paper's benchmark replayed on recorded response lengths — sample the queries as
 * upstream does, predict (vanilla | gt | po/seqsch from a predictions file), schedule (optionally VBS),
 * "generate" with the simulated engine (optionally FCR) and print upstream's metrics. No model is loaded.
 * Its option table is also the `simulate` experiment stage's schema.
 */
import { JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions, stageConfigOf } from '../core/options/spec.js';
import { scheduleOptions } from '../scheduling/options.js';
import { writeJson } from '../util/fs.js';

export const simulateOptions = defineOptions({
  data: { type: 'string', required: true, describe: 'conversations JSON (FastChat format)' },
  lengths: { type: 'string', required: true, describe: 'recorded lengths JSON ({id, L_gt, L_t0.0, …})' },
  ...scheduleOptions,
  'real-lengths': { type: 'string', default: 'L_t0.0', describe: 'recorded length that plays the real response' },
  'recorded-max-length': { type: 'number', int: true, min: 1, default: 512, describe: 'max_length of the run that recorded the lengths' },
  'cost-model': { type: 'string', describe: 'measured cost model JSON (default: analytic A100-like model)' },
  trace: { type: 'string', yaml: false, describe: 'write the per-batch trace and per-query results to this JSON file' },
  json: JSON_OPTION,
});

export const simulateCommand = command({
  command: 'simulate',
  describe: 'replay the benchmark on recorded response lengths (trace-driven simulator, no model)',
  options: simulateOptions,
  handler: async (args) => {
    const [{ loadBenchItems }, { simulate, simulationParams }, { upstreamBlock }] = await Promise.all([
      import('../workload/items.js'), import('../benchmark/simulate.js'), import('../benchmark/report.js')]);
    const c = stageConfigOf(simulateOptions, args);
    const items = loadBenchItems({ data: c.data, lengths: c.lengths, numData: c.num_data, seed: c.seed });
    const r = await simulate(items, simulationParams(c));
    if (args.trace) writeJson(args.trace, { trace: r.trace, items: r.items });
    const out = {
      strategy: r.strategy, vbs: r.vbs, fcr: r.fcr, num_samples: r.num_samples,
      average_length: r.average_length, effective_token_ratio: r.effective_token_ratio, failure_ratio: r.failure_ratio,
      num_batches: r.num_batches, decode_steps: r.decode_steps, simulated_seconds: r.seconds, throughput: r.throughput,
    };
    report(args.json, out, () => upstreamBlock(r, c.group_size, c.batch_size));
  },
});
