/**
 * `seqsch serve-bench`: one serving configuration — engine (real tfjs or simulated), workload (offline, Poisson
 * at a rate or a load of the measured capacity, a trace), policy and predictor — run through the continuous-
 * batching harness (or the paper's static pipeline), printing latency and throughput. Its flags are the option
 * table of src/serving/options.ts, which is also the `serve` stage's schema. Heavy modules load in the handler.
 */
import { JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions, stageConfigOf } from '../core/options/spec.js';
import { serveOptions } from '../serving/options.js';

export const serveBenchOptions = defineOptions({
  ...serveOptions,
  out: { type: 'string', yaml: false, describe: 'write the per-request timeline and engine calls to this JSON file' },
  json: JSON_OPTION,
});

export const serveBenchCommand = command({
  command: 'serve-bench',
  describe: 'serve one workload with continuous batching (or the static pipeline): latency, TTFT, throughput',
  options: serveBenchOptions,
  handler: async (args) => {
    const [{ checkServeConfig, cliFlag }, { runServe }, { servingTable }, { writeJson }] = await Promise.all([
      import('../serving/config.js'), import('../serving/run.js'), import('../serving/report.js'), import('../util/fs.js')]);
    const run = await runServe(checkServeConfig(stageConfigOf(serveOptions, args), cliFlag));
    const c = run.config;
    if (args.out) writeJson(args.out, { config: c, metrics: run.metrics, rate: run.rate, capacity: run.capacity, records: run.result.records, calls: run.result.calls, predictor_calls: run.result.predictorCalls });
    const m = run.metrics;
    report(args.json, { engine: run.engine, backend: run.backend, policy: c.policy, predictor: c.predictor, max_batch: c.max_batch, arrival: c.arrival, rate: run.rate, capacity: run.capacity, ...m }, () =>
      [
        `${c.engine} engine (${run.backend}), policy ${c.policy}, predictor ${c.predictor}, max batch ${c.max_batch}, ${m.num_requests} requests, arrival ${c.arrival}` +
          (run.rate !== null ? ` at ${run.rate.toFixed(2)} req/s` : '') + (run.capacity !== null ? ` (${c.load} × capacity ${run.capacity.toFixed(2)} req/s)` : ''),
        servingTable(['Policy', 'Predictor'], [{ lead: [c.policy, c.predictor], metrics: m }]),
      ].join('\n'));
  },
});
