/**
 * One serving run from a configuration (config.ts): the workload (queries, and arrivals at a rate or at a load of
 * the measured capacity; make-workload.ts), the engine (make-engine.ts), the predictor (predictors.ts) and the policy
 * (policies/: a step-level one for continuous batching, or none — the paper's static pipeline), then the harness
 * and the metrics. Used by the serve job and the serve-calibrate one; loads are memoized through the context.
 */
import { basename } from 'node:path';
import { scheduleOf } from '../scheduling/options.js';
import { checkServeConfig, type ServeConfig } from './config.js';
import { memo, type ServeContext } from './context.js';
import { servingEngine } from './make-engine.js';
import { serveContinuous, type ServeResult } from './harness.js';
import { servingMetrics, type ServingMetrics } from './metrics.js';
import { stepPolicy } from './policies/index.js';
import { policyOptionsOf } from './policies/options.js';
import { servingPredictor } from './predictors.js';
import { serveStatic } from './static.js';
import { arrivingRequests, workloadItems } from './make-workload.js';

export interface ServeRun {
  config: ServeConfig;
  metrics: ServingMetrics;
  result: ServeResult;
  /** the arrival rate the run used (requests/s; null offline or for a trace taken as is) */
  rate: number | null;
  /** the capacity a `load` referred to (requests/s) */
  capacity: number | null;
  engine: 'tfjs' | 'sim';
  backend: string;
  /** the simulator's cost model by name (its file, or the analytic default), "estimated" said where a term is */
  costModel: string | null;
}

/** The run whose throughput is the engine's capacity on these queries (what a `load` refers to). */
const CAPACITY_RUN = { arrival: 'offline', policy: 'fcfs', predictor: 'none' } as const;
const isCapacityRun = (c: ServeConfig) =>
  c.arrival === CAPACITY_RUN.arrival && c.policy === CAPACITY_RUN.policy && c.predictor === CAPACITY_RUN.predictor;

/** What a capacity measurement depends on: the engine and its limits on these queries, not arrivals or policy. */
function capacityKey(c: ServeConfig): string {
  const {
    engine,
    data,
    lengths,
    num_data,
    seed,
    trace_requests,
    max_batch,
    kv_budget,
    max_length,
    prefix_cache,
    model,
    backend,
    temperature,
    cost_model,
    real_lengths,
    recorded_max_length,
    default_prompt_tokens,
  } = c;
  // the GPU simulator's iterations and memory
  const gpu = [
    c.batching,
    c.max_num_batched_tokens,
    c.prefill_budget,
    c.gpu_memory_utilization,
    c.block_size,
    c.num_gpu_blocks,
    c.kv_watermark,
  ];
  return `capacity:${JSON.stringify({ engine, data, lengths, num_data, seed, trace_requests, trace: trace_requests ? c.trace : undefined, max_total_tokens: c.max_total_tokens, max_batch, kv_budget, max_length, prefix_cache, model, backend, temperature, cost_model, real_lengths, recorded_max_length, default_prompt_tokens, gpu })}`;
}

/** The engine's capacity (requests/s): the throughput of an offline FCFS run of the same engine and queries. */
export async function measureCapacity(c: ServeConfig, ctx: ServeContext = {}): Promise<number> {
  return memo(ctx, capacityKey(c), async () => {
    // the policy's and predictor's own knobs go with them (fcfs without a predictor reads none and refuses them)
    const own = { oracle_tau: undefined, context_starvation_iterations: undefined };
    const run = await runServe(
      {
        ...c,
        ...CAPACITY_RUN,
        ...own,
        rate: undefined,
        load: undefined,
        capacity: undefined,
        predictor_cost: 'measured',
      },
      { cache: ctx.cache },
    );
    return run.metrics.throughput;
  });
}

export async function runServe(cfgIn: ServeConfig, ctx: ServeContext = {}): Promise<ServeRun> {
  const c = checkServeConfig(cfgIn);
  const items = workloadItems(c, ctx);
  // ---- arrivals: at a rate, or at a load of the measured capacity
  let capacity: number | null = null;
  let rate: number | null = c.rate ?? null;
  if (c.load !== undefined) {
    capacity = c.capacity ?? (await measureCapacity(c, ctx));
    rate = c.load * capacity;
  }
  const requests = arrivingRequests(c, items, rate, ctx);

  // ---- policy (null: the static pipeline), engine, predictor
  const policy = stepPolicy(c.policy, policyOptionsOf(c));
  const schedule = scheduleOf({ ...c, batch_size: c.max_batch });
  const engine = await servingEngine(c, items, ctx);
  const predictor = servingPredictor(c, engine, items);

  // ---- the harness
  let result: ServeResult;
  if (!policy) {
    result = await serveStatic(requests, engine.batchEngine(), {
      schedule,
      maxLength: c.max_length,
      groupSize: c.group_size,
      predictor: predictor!,
      clock: engine.clock(),
      onFinish: ctx.onFinish,
    });
  } else {
    // a preemptive policy's paused requests keep their KV: by default one cache row per decode slot for them
    const step = await engine.stepEngine(requests, c.paused_rows ?? (policy.preemptive ? c.max_batch : 0));
    try {
      result = await serveContinuous(requests, step.engine, {
        policy,
        predictor: step.refine(predictor),
        predictOn: c.predict_on,
        clock: engine.clock(),
        toEngine: step.toEngine,
        onFinish: ctx.onFinish,
      });
      step.finish(result);
    } finally {
      step.dispose();
    }
  }
  const metrics = servingMetrics(result.records, result.predictorSeconds, result.kv, result.scheduler);
  // an offline FCFS run without a predictor measures its engine's capacity on these queries: later loads refer to it
  if (isCapacityRun(c)) memo(ctx, capacityKey(c), async () => metrics.throughput);
  const cm = engine.costModel;
  const costModel = cm
    ? `${c.cost_model ? basename(c.cost_model).replace(/\.json$/, '') : 'analytic default'}${cm.iteration?.estimated ? ' (attention estimated)' : ''}`
    : null;
  return { config: c, metrics, result, rate, capacity, engine: c.engine, backend: engine.backend, costModel };
}
