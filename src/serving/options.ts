/**
 * One serving configuration — engine, workload, policy, predictor, limits — as one option table (src/core/options/
 * spec.ts): the flags of `seqsch serve-bench` and the keys of the `serve` experiment stage both come from it, so
 * each bound is written once and a bad value is named by its flag (`--rate: expected a number > 0, got -1`) or
 * its YAML key. The static pipeline's knobs are the benchmark's (src/scheduling/options.ts); its batch size is
 * `max-batch`. The checks across keys (serveConfigProblem) are stated here too: the serve job runs them when an
 * experiment file loads and before the CLI runs, and config.ts throws them for direct callers of the run. No heavy
 * imports (no zod): `seqsch serve-bench --help` loads this.
 */
import { defineOptions, type StageConfigOf } from '../core/options/spec.js';
import { policyConfigProblem, policyOptions } from './policies/options.js';
import { policyReadsPrediction } from './policies/index.js';
import { scheduleOptions } from '../scheduling/options.js';
import { BACKEND_OPTION } from '../core/options/common.js';
import { ARRIVALS, BATCHINGS, POLICY_NAMES, PREDICTOR_COSTS, PREDICTOR_NAMES } from '../core/names.js';

const { vbs, fcr, cell, seed } = scheduleOptions;
const s = scheduleOptions;

export const serveOptions = defineOptions({
  engine: {
    type: 'choice',
    choices: ['tfjs', 'sim'] as const,
    default: 'tfjs',
    describe: 'tfjs: the real model; sim: recorded lengths + a cost model',
  },
  // ---- workload: queries (sampled as the benchmark samples them) and arrivals
  data: { type: 'string', describe: 'conversations JSON (FastChat format)' },
  lengths: {
    type: 'string',
    describe: "recorded lengths JSON ({id, L_gt, L_t0.0, …}): the simulator's responses, oracle/gt predictors",
  },
  'num-data': s['num-data'],
  seed,
  arrival: {
    type: 'choice',
    choices: ARRIVALS,
    default: 'offline',
    describe: 'offline (all at t = 0), poisson, trace',
  },
  rate: { type: 'number', gt: 0, describe: 'arrival rate, requests/s (poisson; trace: rescaled to this mean rate)' },
  load: {
    type: 'number',
    gt: 0,
    describe: "arrival rate as a fraction of the capacity (the engine's offline FCFS throughput at this max batch)",
  },
  capacity: { type: 'number', gt: 0, describe: 'requests/s that --load refers to (skips the measurement)' },
  trace: {
    type: 'string',
    describe:
      'arrival trace, .csv/.jsonl or .gz (Azure LLM inference, BurstGPT, Mooncake JSONL, or timestamp,prompt_tokens,response_tokens)',
  },
  'max-total-tokens': {
    type: 'number',
    int: true,
    min: 2,
    describe:
      "with --trace-requests: keep only the trace's requests whose prompt + response (+ EOS) fit this many tokens (a model's context window)",
  },
  'trace-requests': {
    type: 'boolean',
    default: false,
    describe: "simulator: the requests are the trace's own token counts (no text)",
  },
  'arrival-seed': { type: 'number', int: true, min: 0, default: 0, describe: 'Poisson arrivals seed' },
  // ---- policy and predictor
  policy: {
    type: 'choice',
    choices: POLICY_NAMES,
    default: 'fcfs',
    describe:
      "fcfs | sjf srpt ltr (predicted output length) | work (prompt + predicted decode) | hrrn spf (prompt length, SGLang) | suf (uncached prompt, TensorRT-LLM) | priority (vLLM) | static (the paper's batch pipeline)",
  },
  predictor: { type: 'choice', choices: PREDICTOR_NAMES, default: 'none', describe: 'length predictor' },
  constant: { type: 'number', min: 0, describe: "the constant predictor's length" },
  predictions: {
    type: 'string',
    describe: 'predictions JSON for seqsch / po / proxy ([{id, predicted}] or {seconds, predictions})',
  },
  'oracle-key': {
    type: 'string',
    default: 'L_t0.0',
    describe: 'recorded length the oracle predictor reads (gt: L_max)',
  },
  'oracle-tau': {
    type: 'number',
    gt: 0,
    lt: 1,
    describe:
      "oracle degraded to this Kendall τ: log-normal noise on each true length, σ calibrated on the workload, seeded by --seed and the request's id",
  },
  'predictor-cost': {
    type: 'choice',
    choices: PREDICTOR_COSTS,
    default: 'measured',
    describe:
      "how prediction time is charged: measured (wall time, or a file's seconds), perception (the LLM's own prediction under the cost model), free, linear (--predictor-call-s + --predictor-item-s × requests)",
  },
  'predictor-call-s': { type: 'number', min: 0, default: 0, describe: 'linear predictor cost: seconds per call' },
  'predictor-item-s': { type: 'number', min: 0, default: 0, describe: 'linear predictor cost: seconds per request' },
  'predict-on': {
    type: 'choice',
    choices: ['arrival', 'contention'] as const,
    default: 'contention',
    describe: 'predict on arrival, or once requests compete for slots',
  },
  'preempt-k': {
    type: 'number',
    int: true,
    min: 0,
    default: 32,
    describe: 'srpt/ltr: a running request may be preempted while it has generated fewer tokens',
  },
  'starvation-steps': {
    type: 'number',
    int: true,
    min: 1,
    describe: 'decode steps a request may wait before it goes first (default max-length)',
  },
  ...policyOptions,
  // ---- engine limits
  'max-batch': {
    type: 'number',
    int: true,
    min: 1,
    default: 16,
    describe: "decode slots; the static pipeline's batch size",
  },
  'kv-budget': {
    type: 'number',
    int: true,
    min: 1,
    describe: 'KV tokens admitted requests may reserve (prompt + max new each)',
  },
  'paused-rows': {
    type: 'number',
    int: true,
    min: 0,
    describe: 'cache rows for preempted requests (default max-batch for srpt/ltr, else 0)',
  },
  'max-length': s['max-length'],
  'prefix-cache': {
    type: 'boolean',
    default: true,
    describe: 'compute the prompt prefix every request shares once and copy it into new rows',
  },
  // ---- the static pipeline (policy static)
  vbs: { ...vbs, describe: 'static: variable batch size' },
  fcr: { ...fcr, describe: 'static: failure collection and recomputation' },
  'fcr-limit': s['fcr-limit'],
  'fcr-recompute': s['fcr-recompute'],
  cell,
  'vbs-table': s['vbs-table'],
  'vbs-fallback': s['vbs-fallback'],
  'tail-min': s['tail-min'],
  'group-size': s['group-size'],
  // ---- real engine
  model: { type: 'string', describe: 'HF LLaMA folder (tfjs engine)' },
  lora: { type: 'string', describe: 'PEFT adapter of the seqsch length predictor' },
  probe: {
    type: 'string',
    describe:
      "srpt on the tfjs engine: a length probe folder (seqsch probe) whose remaining head re-estimates each running request's remaining length from the engine's own hidden states during decoding",
  },
  'probe-every': {
    type: 'number',
    int: true,
    min: 1,
    default: 1,
    describe:
      'with --probe: refine a request once every this many generated tokens (its estimate is the mean over refinements)',
  },
  temperature: { type: 'number', min: 0, default: 0, describe: 'sampling temperature (0: greedy)' },
  backend: {
    ...BACKEND_OPTION,
    default: 'wasm',
    describe: 'tfjs backend (the slot KV cache of the tfjs engine needs wasm)',
  },
  // ---- simulator
  'cost-model': { type: 'string', describe: 'simulator: cost model JSON (default: the analytic A100-like model)' },
  'real-lengths': { type: 'string', default: 'L_t0.0', describe: 'simulator: recorded length that plays the response' },
  'recorded-max-length': {
    type: 'number',
    int: true,
    min: 1,
    default: 512,
    describe: 'simulator: max_length of the recording',
  },
  'default-prompt-tokens': {
    type: 'number',
    int: true,
    min: 1,
    default: 64,
    describe: 'simulator: prompt tokens of a request without text',
  },
  // ---- the GPU simulator (a cost model of kind "iteration": data/costmodels/<gpu>-<model>.json)
  batching: {
    type: 'choice',
    choices: BATCHINGS,
    describe:
      'how iterations form: split (a prefill forward, then a decode step), prefill-first (vLLM V0), chunked (vLLM V1 / Sarathi: decodes + prefill chunks in one forward); default chunked with a GPU cost model, else split',
  },
  'max-num-batched-tokens': {
    type: 'number',
    int: true,
    min: 1,
    describe:
      "GPU simulator: tokens one iteration computes at most (vLLM's max_num_batched_tokens; default 2048 chunked, 4096 prefill-first)",
  },
  'prefill-budget': {
    type: 'choice',
    choices: ['sum', 'padded'] as const,
    default: 'sum',
    describe:
      "prefill-first: the token budget bounds the admitted prompts' sum (vLLM) or rows × the longest (padded: Vidur's vLLM scheduler)",
  },
  'gpu-memory-utilization': {
    type: 'number',
    gt: 0,
    max: 1,
    default: 0.9,
    describe: "GPU simulator: share of the cost model's GPU memory for weights, activations and KV (vLLM's)",
  },
  'block-size': { type: 'number', int: true, min: 1, default: 16, describe: 'GPU simulator: tokens per KV block' },
  'num-gpu-blocks': {
    type: 'number',
    int: true,
    min: 1,
    describe: 'GPU simulator: KV blocks (default: from GPU memory × utilization − weights − activations)',
  },
  'kv-watermark': {
    type: 'number',
    min: 0,
    max: 0.5,
    default: 0.01,
    describe: "GPU simulator: share of KV blocks admission leaves free for running requests to grow (vLLM's watermark)",
  },
  'predict-batch': {
    type: 'number',
    int: true,
    min: 1,
    default: 128,
    describe: "perception cost: queries per length-prediction call (upstream's 128)",
  },
  'predict-tokens': {
    type: 'number',
    int: true,
    min: 1,
    default: 8,
    describe: "perception cost: new tokens per length prediction (upstream's 8)",
  },
});

/**
 * What is wrong across the keys of a serving configuration, or undefined; `k` names a key as the surface spells it
 * (`--max-batch`, `max_batch`, `` `max_batch` ``).
 */
export function serveConfigProblem(
  c: StageConfigOf<typeof serveOptions>,
  k: (key: string) => string,
): string | undefined {
  const bad = (m: string) => `serve: ${m}`;
  if (c.trace_requests ? !c.trace : !c.data)
    return bad(
      c.trace_requests
        ? `${k('trace_requests')} needs ${k('trace')}`
        : `${k('data')} (a conversations file) is required`,
    );
  if (c.max_total_tokens !== undefined && !c.trace_requests)
    return bad(`${k('max_total_tokens')} filters a trace's own requests: set ${k('trace_requests')}`);
  if (c.trace_requests && c.engine !== 'sim')
    return bad(`${k('trace_requests')} (requests without text) needs ${k('engine')} sim`);
  if (c.arrival === 'trace' && !c.trace) return bad(`${k('arrival')} trace needs ${k('trace')} (a CSV file)`);
  if (c.arrival === 'poisson' && c.rate === undefined && c.load === undefined)
    return bad(`${k('arrival')} poisson needs ${k('rate')} (requests/s) or ${k('load')} (fraction of capacity)`);
  if (c.rate !== undefined && c.load !== undefined) return bad(`give ${k('rate')} or ${k('load')}, not both`);
  if (c.arrival === 'offline' && (c.rate !== undefined || c.load !== undefined))
    return bad(`${k('arrival')} offline takes no ${k('rate')} or ${k('load')}`);
  if (c.engine === 'tfjs' && !c.model) return bad(`${k('engine')} tfjs needs ${k('model')} (an HF checkpoint folder)`);
  if (c.engine === 'sim' && !c.trace_requests && !c.lengths)
    return bad(`${k('engine')} sim needs ${k('lengths')} (the recorded response lengths it replays)`);
  if (c.policy !== 'static' && policyReadsPrediction(c.policy) && c.predictor === 'none')
    return bad(
      `${k('policy')} ${c.policy} orders by predicted length: set ${k('predictor')} (${PREDICTOR_NAMES.filter((p) => p !== 'none').join(', ')})`,
    );
  if (c.policy === 'static' && c.predictor === 'none')
    return bad(`${k('policy')} static needs ${k('predictor')} (vanilla for the paper's vanilla row)`);
  if (c.predictor === 'constant' && c.constant === undefined)
    return bad(`${k('predictor')} constant needs ${k('constant')} (its length)`);
  if (
    (c.predictor === 'proxy' || (c.engine === 'sim' && (c.predictor === 'seqsch' || c.predictor === 'po'))) &&
    !c.predictions
  )
    return bad(`${k('predictor')} ${c.predictor} needs ${k('predictions')} (a predictions file) here`);
  if ((c.predictor === 'oracle' || c.predictor === 'gt') && !c.lengths && !c.trace_requests)
    return bad(`${k('predictor')} ${c.predictor} reads the recorded lengths: set ${k('lengths')}`);
  if (c.oracle_tau !== undefined && c.predictor !== 'oracle')
    return bad(`${k('oracle_tau')} degrades the oracle: set ${k('predictor')} oracle (got ${c.predictor})`);
  if (c.probe !== undefined && c.engine !== 'tfjs')
    return bad(`${k('probe')} reads the serving model's hidden states: ${k('engine')} tfjs only`);
  if (c.probe !== undefined && c.policy !== 'srpt')
    return bad(`${k('probe')} refines remaining lengths, which only ${k('policy')} srpt orders by (got ${c.policy})`);
  if (c.batching !== undefined && c.batching !== 'split' && c.engine !== 'sim')
    return bad(
      `${k('batching')} ${c.batching} is the GPU simulator's: ${k('engine')} sim with a GPU ${k('cost_model')}`,
    );
  if (c.batching === 'split' || (c.engine === 'sim' && !c.cost_model)) {
    for (const key of ['max_num_batched_tokens', 'num_gpu_blocks'] as const)
      if (c[key] !== undefined)
        return bad(`${k(key)} sets the GPU simulator's paged memory and iterations: not with ${k('batching')} split`);
  }
  if (c.prefill_budget === 'padded' && c.batching !== 'prefill-first')
    return bad(`${k('prefill_budget')} padded bounds prefill-first iterations: set ${k('batching')} prefill-first`);
  if (c.kv_budget !== undefined && c.num_gpu_blocks !== undefined)
    return bad(`give ${k('kv_budget')} (reserved tokens) or ${k('num_gpu_blocks')} (paged blocks), not both`);
  const policyProblem = policyConfigProblem(c, k);
  if (policyProblem) return policyProblem;
  if (c.predictor_cost === 'perception' && c.engine !== 'sim')
    return bad(`${k('predictor_cost')} perception charges a cost model: ${k('engine')} sim only`);
  return undefined;
}
