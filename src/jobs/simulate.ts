/**
 * simulate as a job: the paper's benchmark replayed on recorded response lengths — sample the queries as upstream
 * does, predict (vanilla | gt | po/seqsch from a predictions file), schedule (optionally VBS), "generate" with the
 * simulated engine (optionally FCR) and report upstream's metrics. No model is loaded. Every scheduling knob is a
 * key, so a sweep can vary the bucket cell, the VBS table, the FCR limit policy, batch/group size, max length and
 * the seed; defaults are the paper's. `--trace FILE` (CLI) writes the per-batch trace and per-query results.
 */
import { defineJob } from '../core/job.js';
import { defineOptions } from '../core/options/spec.js';
import { cliOutput } from '../util/job-paths.js';
import { scheduleOptions } from '../scheduling/options.js';
import type { BenchmarkResult } from '../benchmark/driver.js';
import { markdownTable, paperRecord } from '../benchmark/report.js';
import type { SimulationParams } from '../benchmark/simulate.js';
import { scheduleOf } from '../scheduling/options.js';
import type { StageConfigOf } from '../core/options/spec.js';

export const simulateOptions = defineOptions({
  data: { type: 'string', required: true, describe: 'conversations JSON (FastChat format)' },
  lengths: { type: 'string', required: true, describe: 'recorded lengths JSON ({id, L_gt, L_t0.0, …})' },
  ...scheduleOptions,
  'real-lengths': { type: 'string', default: 'L_t0.0', describe: 'recorded length that plays the real response' },
  'recorded-max-length': {
    type: 'number',
    int: true,
    min: 1,
    default: 512,
    describe: 'max_length of the run that recorded the lengths',
  },
  'cost-model': { type: 'string', describe: 'measured cost model JSON (default: analytic A100-like model)' },
  trace: { type: 'string', yaml: false, describe: 'write the per-batch trace and per-query results to this JSON file' },
});

export const simulateJob = defineJob({
  name: 'simulate',
  describe: 'replay the benchmark on recorded response lengths (trace-driven simulator, no model)',
  options: simulateOptions,
  writes: (_c, cli) => cliOutput(cli, 'trace'),
  files: (c) => [
    { key: 'data', path: c.data },
    { key: 'lengths', path: c.lengths },
    ...(c.predictions ? [{ key: 'predictions', path: c.predictions }] : []),
    ...(c.cost_model ? [{ key: 'cost_model', path: c.cost_model }] : []),
  ],
  run: async (c, ctx) => {
    const [{ loadBenchItems, checkRecordedMaxLength }, { simulate }, { upstreamBlock }, { writeJson }] =
      await Promise.all([
        import('../workload/items.js'),
        import('../benchmark/simulate.js'),
        import('../benchmark/report.js'),
        import('../util/fs.js'),
      ]);
    const items = ctx.cache(`items:${c.data}|${c.lengths}|${c.num_data}|${c.seed}`, () =>
      loadBenchItems({ data: c.data, lengths: c.lengths, numData: c.num_data, seed: c.seed }),
    );
    checkRecordedMaxLength(items, c.lengths, c.recorded_max_length);
    const r = await simulate(items, simulationParams(c));
    if (typeof ctx.cli.trace === 'string') writeJson(ctx.cli.trace, { trace: r.trace, items: r.items });
    return {
      // (r.fcr is c.fcr unless fcr_limit is off, where both spell 'off')
      record: {
        ...paperRecord(r, c.fcr_limit),
        simulated_seconds: r.seconds,
        throughput: r.throughput,
      },
      detail: { items: r.items, trace: r.trace },
      text: upstreamBlock(r, c.group_size, c.batch_size),
    };
  },
  table: (rows) => {
    const swept = [...new Set(rows.flatMap((r) => Object.keys(r.swept)))];
    return markdownTable(
      ['Strategy', ...swept],
      rows.map((r) => ({
        lead: [r.label, ...swept.map((k) => String(r.swept[k]))],
        result: r.record as unknown as BenchmarkResult,
      })),
    );
  },
});

/** The run parameters of a `simulate` config (the calibrate stage replays static rows through them too). */
export function simulationParams(c: StageConfigOf<typeof simulateOptions>): SimulationParams {
  return {
    strategy: c.strategy,
    predictions: c.predictions,
    schedule: scheduleOf(c),
    maxLength: c.max_length,
    groupSize: c.group_size,
    realLengths: c.real_lengths,
    recordedMaxLength: c.recorded_max_length,
    costModel: c.cost_model,
  };
}
