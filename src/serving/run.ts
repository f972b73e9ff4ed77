/**
 * One serving run from a configuration (config.ts): build the workload (queries, arrivals at a rate or a load
 * of the measured capacity), the engine (real tfjs or simulated; step-level, or the batch engine for the static
 * pipeline), the predictor and the policy, run the harness and compute the metrics. Used by the `serve`
 * experiment stage and `seqsch serve-bench`; loads are memoized through `cache` when the caller has one.
 */
import type { BenchItem } from '../core/query.js';
import { loadBenchItems } from '../workload/items.js';
import { defaultCostModel, loadCostModel, type CostModel } from '../cost/costmodel.js';
import { SimulatedEngine } from '../engines/batch-sim.js';
import { TfjsEngine } from '../engines/batch-tfjs.js';
import { loadBenchModel, realPredictor, warmUp, type LoadedModel } from '../benchmark/real.js';
import { initBackend, type BackendChoice } from '../core/backend.js';
import { answerText } from '../perception/lenpred.js';
import { countTokens, llamaTokenizer } from '../tokenizer/llama.js';
import { sharedPrefixLength } from '../generation/generate.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { scheduleOf } from '../scheduling/options.js';
import { SimClock, WallClock } from './clock.js';
import { checkServeConfig, type ServeConfig } from './config.js';
import { SimStepEngine, type SimStepRequest } from '../engines/step-sim.js';
import { TfjsStepEngine } from '../engines/step-tfjs.js';
import { serveContinuous, type ServeResult } from './harness.js';
import { servingMetrics, type RequestRecord, type ServingMetrics } from './metrics.js';
import { makePolicy } from './policies/index.js';
import {
  constantPredictor, fromLengthPredictor, linearCost, lmaxPredictor, oraclePredictor, perceptionCost, predictionsFile, withCost,
  withProbeRemaining, type ServingPredictor,
} from './predictors.js';
import { serveStatic } from './static.js';
import { LengthProbe } from '../perception/probe.js';
import { loadTrace } from '../workload/trace.js';
import { arrivalTimes, makeRequests, traceItems, type ArrivalSpec } from '../workload/arrivals.js';

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
}

export interface ServeContext {
  /** memoize loads (model, queries, capacity) across runs, e.g. an experiment's points */
  cache?<T>(key: string, make: () => T): T;
  onFinish?(r: RequestRecord): void;
}

const memo = <T>(ctx: ServeContext, key: string, make: () => T): T => (ctx.cache ? ctx.cache(key, make) : make());

/** The workload's queries (memoized). */
export function workloadItems(c: ServeConfig, ctx: ServeContext): BenchItem[] {
  if (c.trace_requests) {
    const { rows } = memo(ctx, `trace:${c.trace}`, () => loadTrace(c.trace!));
    return traceItems(rows, c.num_data ?? rows.length, c.real_lengths);
  }
  return memo(ctx, `items:${c.data}|${c.lengths}|${c.num_data}|${c.seed}`, () => loadBenchItems({ data: c.data!, lengths: c.lengths, numData: c.num_data, seed: c.seed }));
}

/** The real engine's model and tokenizer, with the adapter when the config names one (memoized). */
export function loadedModel(c: ServeConfig, ctx: ServeContext): Promise<LoadedModel> {
  return memo(ctx, `model:${c.model}|${c.lora ?? ''}`, () => loadBenchModel(c.model!, c.lora));
}

/** What a capacity measurement depends on: the engine and its limits on these queries, not arrivals or policy. */
function capacityKey(c: ServeConfig): string {
  const { engine, data, lengths, num_data, seed, trace_requests, max_batch, kv_budget, max_length, prefix_cache, model, backend, temperature, cost_model, real_lengths, recorded_max_length, default_prompt_tokens } = c;
  return `capacity:${JSON.stringify({ engine, data, lengths, num_data, seed, trace_requests, trace: trace_requests ? c.trace : undefined, max_batch, kv_budget, max_length, prefix_cache, model, backend, temperature, cost_model, real_lengths, recorded_max_length, default_prompt_tokens })}`;
}

/** The engine's capacity (requests/s): the throughput of an offline FCFS run of the same engine and queries. */
export async function measureCapacity(c: ServeConfig, ctx: ServeContext = {}): Promise<number> {
  return memo(ctx, capacityKey(c), async () => {
    const run = await runServe({ ...c, arrival: 'offline', rate: undefined, load: undefined, capacity: undefined, policy: 'fcfs', predictor: 'none', predictor_cost: 'measured' }, { cache: ctx.cache });
    return run.metrics.throughput;
  });
}

function costModel(c: ServeConfig, ctx: ServeContext): CostModel {
  return memo(ctx, `costmodel:${c.cost_model ?? 'default'}`, () => (c.cost_model ? loadCostModel(c.cost_model) : defaultCostModel()));
}

function makePredictor(c: ServeConfig, loaded: LoadedModel | null, ctx: ServeContext): ServingPredictor | null {
  let p: ServingPredictor | null;
  switch (c.predictor) {
    case 'none':
      return null;
    case 'vanilla':
      p = constantPredictor(c.max_length, 'vanilla');
      break;
    case 'constant':
      p = constantPredictor(c.constant!);
      break;
    case 'gt':
      p = oraclePredictor(c.gt_key);
      break;
    case 'lmax':
      p = lmaxPredictor(c.max_length);
      break;
    case 'proxy':
      p = predictionsFile('proxy', c.predictions!, c.max_length);
      break;
    case 'seqsch':
    case 'po':
      // a predictions file, or (real engine) the model itself: seqsch = the loaded LoRA adapter, po = the base model
      p = c.predictions ? predictionsFile(c.predictor, c.predictions, c.max_length) : fromLengthPredictor(realPredictor(c.predictor, loaded!), c.max_length, true);
      break;
  }
  if (c.predictor_cost === 'free') return withCost(p, () => 0);
  if (c.predictor_cost === 'linear') return withCost(p, linearCost(c.predictor_call_s, c.predictor_item_s));
  if (c.predictor_cost === 'perception') {
    const strategy = c.predictor === 'po' ? 'po' : 'seqsch';
    return withCost(p, perceptionCost(costModel(c, ctx), { strategy, batch: c.predict_batch, steps: c.predict_tokens, defaultPromptTokens: c.default_prompt_tokens }));
  }
  return p;
}

/** The token ids every prompt of the workload starts with (sharedPrefixLength's rule), or none. */
function commonPrefix(c: ServeConfig, items: BenchItem[], tokenizer: Tokenizer): number[] {
  if (!c.prefix_cache || items.some((it) => !it.prompt)) return [];
  const ids = items.map((it) => tokenizer.encode(it.prompt));
  return ids[0].slice(0, sharedPrefixLength(ids));
}

/** Untimed: one admission of a full batch of the longest prompt and a few steps, so heap growth and first-use costs are not charged to the run. */
async function warmContinuous(engine: TfjsStepEngine, items: BenchItem[]): Promise<void> {
  const longest = items.reduce((a, b) => (b.prompt.length > a.prompt.length ? b : a)).prompt;
  const reqs = Array.from({ length: engine.maxBatch }, (_, i) => engine.request(`warm-${i}`, longest, 4));
  await engine.admit(reqs);
  while (engine.running().length) await engine.step();
  for (const r of reqs) engine.evict(r.id);
}

export async function runServe(cfgIn: ServeConfig, ctx: ServeContext = {}): Promise<ServeRun> {
  const c = checkServeConfig(cfgIn);
  const items = workloadItems(c, ctx);
  // ---- arrivals
  let capacity: number | null = null;
  let rate: number | null = c.rate ?? null;
  if (c.load !== undefined) {
    capacity = c.capacity ?? (await measureCapacity(c, ctx));
    rate = c.load * capacity;
  }
  let spec: ArrivalSpec;
  if (c.arrival === 'offline') spec = { kind: 'offline' };
  else if (c.arrival === 'poisson') spec = { kind: 'poisson', rate: rate! };
  else spec = { kind: 'trace', rows: memo(ctx, `trace:${c.trace}`, () => loadTrace(c.trace!)).rows, rate: rate ?? undefined, source: c.trace };
  const requests = makeRequests(items, arrivalTimes(items.length, spec, c.arrival_seed));

  const policyOpts = { preemptK: c.preempt_k, starvationBound: c.starvation_steps ?? c.max_length };
  const preemptive = c.policy === 'srpt' || c.policy === 'ltr';
  const engineOpts = { maxBatch: c.max_batch, kvBudget: c.kv_budget ?? null, pausedRows: c.paused_rows ?? (preemptive ? c.max_batch : 0) };
  const staticOpts = { schedule: scheduleOf({ ...c, batch_size: c.max_batch }), maxLength: c.max_length, groupSize: c.group_size };
  let result: ServeResult;
  let backend: string;

  if (c.engine === 'tfjs') {
    backend = await initBackend(c.backend as BackendChoice).then((b) => b.name);
    const loaded = await loadedModel(c, ctx);
    await warmUp(loaded, items, c.max_batch);
    const predictor = makePredictor(c, loaded, ctx);
    if (c.policy === 'static') {
      const engine = new TfjsEngine(loaded.model, loaded.tokenizer, { temperature: c.temperature, seed: c.seed });
      result = await serveStatic(requests, engine, { ...staticOpts, predictor: predictor!, clock: new WallClock(), onFinish: ctx.onFinish });
    } else {
      const probe = c.probe ? memo(ctx, `probe:${c.probe}`, () => loadServingProbe(c.probe!, loaded)) : undefined;
      const engine = new TfjsStepEngine(loaded.model, loaded.tokenizer, {
        ...engineOpts, temperature: c.temperature, seed: c.seed, prefix: commonPrefix(c, items, loaded.tokenizer), hiddenLayer: probe?.layer,
        capacity: Math.min(loaded.model.config.maxPositionEmbeddings, items.reduce((m, it) => Math.max(m, it.promptTokens ?? 0), 0) + c.max_length + 8),
      });
      try {
        await warmContinuous(engine, items);
        const engineReq = new Map(requests.map((r) => [r.id, engine.request(r.id, r.item.prompt, c.max_length)]));
        const refined = probe && predictor ? withProbeRemaining(predictor, probe, (ids) => engine.hiddenStates(ids), { every: c.probe_every }) : predictor;
        result = await serveContinuous(requests, engine, {
          policy: makePolicy(c.policy, policyOpts), predictor: refined, predictOn: c.predict_on, clock: new WallClock(), toEngine: (r) => engineReq.get(r.id)!, onFinish: ctx.onFinish,
        });
        // upstream's count of every answer (the decoded answer re-tokenized with BOS), outside the timed loop
        for (const rec of result.records) {
          const promptIds = engineReq.get(rec.id)!.promptIds;
          rec.numOutputTokens = countTokens(answerText(loaded.tokenizer, promptIds, engine.outputIds(rec.id)));
        }
      } finally {
        engine.dispose();
      }
    }
  } else {
    backend = 'none';
    const cm = costModel(c, ctx);
    const predictor = makePredictor(c, null, ctx);
    if (c.policy === 'static') {
      const engine = new SimulatedEngine({ realLengths: c.real_lengths, recordedMaxLength: c.recorded_max_length, costModel: cm, defaultPromptTokens: c.default_prompt_tokens });
      result = await serveStatic(requests, engine, { ...staticOpts, predictor: predictor!, clock: new SimClock(), onFinish: ctx.onFinish });
    } else {
      // the shared prefix in LLaMA-1 tokens, as the recorded prompt counts are
      const prefixTokens = memo(ctx, `prefix:${c.data}|${c.num_data}|${c.seed}|${c.prefix_cache}|${c.trace_requests}`, () => commonPrefix(c, items, llamaTokenizer()).length);
      const engine = new SimStepEngine(cm, { ...engineOpts, prefixTokens });
      result = await serveContinuous(requests, engine, {
        policy: makePolicy(c.policy, policyOpts), predictor, predictOn: c.predict_on, clock: new SimClock(), onFinish: ctx.onFinish,
        toEngine: (r): SimStepRequest => ({ id: r.id, promptTokens: r.item.promptTokens ?? c.default_prompt_tokens, maxNewTokens: c.max_length, needed: recordedNeed(r.item, c) }),
      });
    }
  }
  const metrics = servingMetrics(result.records, result.predictorSeconds);
  // an offline FCFS run without a predictor is the capacity measurement of its engine and queries: later loads refer to it
  if (c.arrival === 'offline' && c.policy === 'fcfs' && c.predictor === 'none') memo(ctx, capacityKey(c), async () => metrics.throughput);
  return { config: c, metrics, result, rate, capacity, engine: c.engine, backend };
}

/** A length probe with a remaining head, trained on this model's hidden size (refused naming the folder otherwise). */
function loadServingProbe(dir: string, loaded: LoadedModel): LengthProbe {
  const probe = LengthProbe.load(dir);
  if (!probe.has('remaining')) throw new Error(`${dir}: the probe has no 'remaining' head (train it with remaining queries > 0): srpt needs a per-step estimate`);
  probe.checkFits(loaded.model.config, dir);
  return probe;
}

/** New tokens a query needs in the simulator: its recorded length, or never (Infinity) when the recording was cut. */
function recordedNeed(it: BenchItem, c: ServeConfig): number {
  const r = it.realLengths?.[c.real_lengths];
  if (typeof r !== 'number') throw new Error(`query ${it.id}: no recorded length "${c.real_lengths}" (keys: ${Object.keys(it.realLengths ?? {}).join(', ') || 'none'})`);
  return r <= c.recorded_max_length ? r : Infinity;
}
