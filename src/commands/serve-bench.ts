/**
 * `seqsch serve-bench`: one serving configuration — engine (real tfjs or simulated), workload (offline, Poisson
 * at a rate or a load of the measured capacity, a trace), policy and predictor — run through the continuous-
 * batching harness (or the paper's static pipeline), printing latency and throughput. Every flag is a key of
 * the `serve` experiment stage (kebab-case); validation is the stage's schema. Heavy modules load in the handler.
 */
import type { CommandModule } from 'yargs';
import { withJson, report } from './common.js';
import { ARRIVALS, POLICY_NAMES, PREDICTOR_COSTS, PREDICTOR_NAMES } from '../serving/names.js';

type Args = Record<string, unknown> & { json: boolean; out?: string };

/** flag → [yargs option, config key]; the config key's default and rules live in src/serving/config.ts */
const FLAGS: Record<string, { type: 'string' | 'number' | 'boolean'; describe: string; choices?: readonly string[] }> = {
  engine: { type: 'string', choices: ['tfjs', 'sim'], describe: 'tfjs: the real model; sim: recorded lengths + a cost model (default tfjs)' },
  data: { type: 'string', describe: 'conversations JSON (FastChat format)' },
  lengths: { type: 'string', describe: 'recorded lengths JSON ({id, L_gt, L_t0.0, …}): the simulator\'s responses, gt/lmax predictors' },
  'num-data': { type: 'number', describe: 'sample this many queries (numpy permutation, --seed)' },
  seed: { type: 'number', describe: 'query sampling seed (default 42)' },
  arrival: { type: 'string', choices: ARRIVALS, describe: 'offline (all at t = 0), poisson, trace (default offline)' },
  rate: { type: 'number', describe: 'arrival rate, requests/s (poisson; trace: rescaled to it)' },
  load: { type: 'number', describe: 'arrival rate as a fraction of the capacity (measured: an offline FCFS run) ' },
  capacity: { type: 'number', describe: 'requests/s that --load refers to (skips the measurement)' },
  trace: { type: 'string', describe: 'arrival trace CSV (Azure LLM inference, BurstGPT, or timestamp,prompt_tokens,response_tokens)' },
  'trace-requests': { type: 'boolean', describe: 'simulator: requests from the trace\'s token counts' },
  'arrival-seed': { type: 'number', describe: 'Poisson arrivals seed (default 0)' },
  policy: { type: 'string', choices: POLICY_NAMES, describe: 'fcfs | sjf | srpt | ltr | static (the paper\'s batch pipeline)' },
  predictor: { type: 'string', choices: PREDICTOR_NAMES, describe: 'length predictor (default none)' },
  constant: { type: 'number', describe: 'the constant predictor\'s length' },
  predictions: { type: 'string', describe: 'predictions JSON for seqsch / po / proxy ([{id, predicted}])' },
  'gt-key': { type: 'string', describe: 'recorded length the gt oracle reads (default L_t0.0)' },
  'predict-on': { type: 'string', choices: ['arrival', 'contention'], describe: 'predict on arrival, or once requests compete for slots (default)' },
  'predictor-cost': { type: 'string', choices: PREDICTOR_COSTS, describe: 'how prediction time is charged (default measured)' },
  'preempt-k': { type: 'number', describe: 'srpt/ltr: preempt only rows with fewer generated tokens (default 32)' },
  'starvation-steps': { type: 'number', describe: 'decode steps after which a waiting request goes first (default max-length)' },
  'max-batch': { type: 'number', describe: 'decode slots (default 16); the static pipeline\'s batch size' },
  'kv-budget': { type: 'number', describe: 'KV tokens admitted requests may reserve (prompt + max new each)' },
  'paused-rows': { type: 'number', describe: 'cache rows for preempted requests (default max-batch for srpt/ltr)' },
  'max-length': { type: 'number', describe: 'max new tokens (default 512)' },
  vbs: { type: 'boolean', describe: 'static: variable batch size' },
  fcr: { type: 'boolean', describe: 'static: failure collection and recomputation' },
  'fcr-limit': { type: 'string', describe: 'static: FCR batch limit bucket | x<factor> | +<tokens>' },
  'group-size': { type: 'number', describe: 'static: most requests per scheduling group (default 256)' },
  cell: { type: 'number', describe: 'static: VBS bucket cell (default 50)' },
  model: { type: 'string', describe: 'HF LLaMA folder (tfjs engine)' },
  lora: { type: 'string', describe: 'PEFT adapter of the seqsch length predictor' },
  temperature: { type: 'number', describe: 'sampling temperature (default 0: greedy)' },
  backend: { type: 'string', describe: 'tfjs backend (default wasm)' },
  'cost-model': { type: 'string', describe: 'simulator: cost model JSON (default: the analytic A100-like model)' },
  'real-lengths': { type: 'string', describe: 'simulator: recorded length that plays the response (default L_t0.0)' },
  'recorded-max-length': { type: 'number', describe: 'simulator: max_length of the recording (default 512)' },
};

export const serveBenchCommand: CommandModule<object, Args> = {
  command: 'serve-bench',
  describe: 'serve one workload with continuous batching (or the static pipeline): latency, TTFT, throughput',
  builder: (y) => {
    let b = withJson(y);
    for (const [flag, o] of Object.entries(FLAGS)) b = b.option(flag, { type: o.type, describe: o.describe, ...(o.choices ? { choices: o.choices } : {}) });
    return b.option('out', { type: 'string', describe: 'write the per-request timeline and engine calls to this JSON file' }) as never;
  },
  handler: async (argv) => {
    const { serveSchema } = await import('../serving/config.js');
    const { runServe } = await import('../serving/run.js');
    const { servingTable } = await import('../serving/report.js');
    const { writeJson } = await import('../util/fs.js');
    const given = Object.fromEntries(Object.keys(FLAGS).filter((f) => argv[f] !== undefined).map((f) => [f.replace(/-/g, '_'), argv[f]]));
    const parsed = serveSchema.safeParse(given);
    if (!parsed.success) {
      throw new Error(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '').replace(/_/g, '-')}: ${i.message}`).join('; '));
    }
    const run = await runServe(parsed.data);
    const c = run.config;
    if (argv.out) writeJson(argv.out, { config: c, metrics: run.metrics, rate: run.rate, capacity: run.capacity, records: run.result.records, calls: run.result.calls, predictor_calls: run.result.predictorCalls });
    const m = run.metrics;
    report(argv.json, { engine: run.engine, backend: run.backend, policy: c.policy, predictor: c.predictor, max_batch: c.max_batch, arrival: c.arrival, rate: run.rate, capacity: run.capacity, ...m }, () =>
      [
        `${c.engine} engine (${run.backend}), policy ${c.policy}, predictor ${c.predictor}, max batch ${c.max_batch}, ${m.num_requests} requests, arrival ${c.arrival}` +
          (run.rate !== null ? ` at ${run.rate.toFixed(2)} req/s` : '') + (run.capacity !== null ? ` (${c.load} × capacity ${run.capacity.toFixed(2)} req/s)` : ''),
        servingTable(['Policy', 'Predictor'], [{ lead: [c.policy, c.predictor], metrics: m }]),
      ].join('\n'));
  },
};
