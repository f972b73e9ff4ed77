/**
 * One serving configuration — engine, workload, policy, predictor, limits — as the `serve` experiment stage
 * and `seqsch serve-bench` take it (zod; unknown keys are errors, each key's rule is stated once here). The
 * static pipeline's knobs are the benchmark's (schedule-fields.ts); its batch size is `max_batch`.
 */
import { z } from 'zod';
import { scheduleFields } from '../experiment/stages/schedule-fields.js';
import { BACKEND_CHOICES } from '../backend.js';
import { ARRIVALS, POLICY_NAMES, PREDICTOR_COSTS, PREDICTOR_NAMES } from './names.js';

const posInt = z.number().int().positive();
const { vbs, fcr, fcr_limit, fcr_recompute, cell, vbs_table, vbs_fallback, tail_min, group_size, num_data, seed, max_length } = scheduleFields;

export const serveSchema = z.strictObject({
  engine: z.enum(['tfjs', 'sim']).default('tfjs'),
  // ---- workload: queries (sampled as the benchmark samples them) and arrivals
  data: z.string().optional(),
  lengths: z.string().optional(),
  num_data,
  seed,
  arrival: z.enum(ARRIVALS).default('offline'),
  /** requests per second (poisson; trace: rescale to this mean rate) */
  rate: z.number().positive('the arrival rate must be > 0 requests/s').optional(),
  /** the rate as a fraction of the engine's capacity (its offline FCFS throughput at this max_batch) */
  load: z.number().positive('the load must be a fraction > 0 of the capacity').optional(),
  /** requests per second the load refers to; measured (an offline FCFS run of the same engine and queries) when absent */
  capacity: z.number().positive().optional(),
  trace: z.string().optional(),
  /** simulator: the requests are the trace's own token counts (no text); otherwise only its times are used */
  trace_requests: z.boolean().default(false),
  arrival_seed: z.number().int().min(0).default(0),
  // ---- policy and predictor
  policy: z.enum(POLICY_NAMES).default('fcfs'),
  predictor: z.enum(PREDICTOR_NAMES).default('none'),
  /** the constant predictor's length */
  constant: z.number().min(0).optional(),
  /** predictions file ([{ id, predicted }] or { seconds, predictions }) for seqsch / po / proxy */
  predictions: z.string().optional(),
  /** the oracle's recorded length */
  gt_key: z.string().default('L_t0.0'),
  /**
   * how the predictor's time is charged: measured (a model run here: wall time; a file: its seconds), perception
   * (the serving model answering the length prompt, under the cost model: the LLM's own prediction), free, linear
   * (predictor_call_s + predictor_item_s · requests per call, e.g. fitted on a real run's calls)
   */
  predictor_cost: z.enum(PREDICTOR_COSTS).default('measured'),
  predictor_call_s: z.number().min(0).default(0),
  predictor_item_s: z.number().min(0).default(0),
  /** predict each request on arrival, or only once requests compete for slots (a request admitted at once needs no order) */
  predict_on: z.enum(['arrival', 'contention']).default('contention'),
  /** srpt / ltr: a running request may be preempted while it has generated fewer tokens than this */
  preempt_k: z.number().int().min(0).default(32),
  /** decode steps a request may wait before it goes first (default: max_length) */
  starvation_steps: posInt.optional(),
  // ---- engine limits
  max_batch: posInt.default(16),
  kv_budget: posInt.optional(),
  /** cache rows kept for preempted requests (default: max_batch for srpt/ltr, else 0) */
  paused_rows: z.number().int().min(0).optional(),
  max_length,
  /** compute the prompt prefix every request shares (the system prompt) once and copy it into new rows */
  prefix_cache: z.boolean().default(true),
  // ---- the static pipeline (policy static)
  vbs, fcr, fcr_limit, fcr_recompute, cell, vbs_table, vbs_fallback, tail_min, group_size,
  // ---- real engine
  model: z.string().optional(),
  lora: z.string().optional(),
  temperature: z.number().min(0).default(0),
  backend: z.enum(BACKEND_CHOICES as [string, ...string[]]).default('wasm'),
  // ---- simulator
  cost_model: z.string().optional(),
  real_lengths: z.string().default('L_t0.0'),
  recorded_max_length: posInt.default(512),
  default_prompt_tokens: posInt.default(64),
  /** the LLM's own length prediction under the cost model: queries per call and new tokens (upstream: 128, 8) */
  predict_batch: posInt.default(128),
  predict_tokens: posInt.default(8),
});
export type ServeConfig = z.infer<typeof serveSchema>;

/** Checks across keys, with messages naming them; returns the config unchanged. */
export function checkServeConfig(c: ServeConfig): ServeConfig {
  const bad = (m: string) => {
    throw new Error(`serve: ${m}`);
  };
  if (c.trace_requests ? !c.trace : !c.data) bad(c.trace_requests ? 'trace_requests needs `trace`' : '`data` (a conversations file) is required');
  if (c.trace_requests && c.engine !== 'sim') bad('trace_requests (requests without text) needs engine sim');
  if (c.arrival === 'trace' && !c.trace) bad('arrival trace needs `trace` (a CSV file)');
  if (c.arrival === 'poisson' && c.rate === undefined && c.load === undefined) bad('arrival poisson needs `rate` (requests/s) or `load` (fraction of capacity)');
  if (c.rate !== undefined && c.load !== undefined) bad('give `rate` or `load`, not both');
  if (c.arrival === 'offline' && (c.rate !== undefined || c.load !== undefined)) bad('arrival offline takes no `rate` or `load`');
  if (c.engine === 'tfjs' && !c.model) bad('engine tfjs needs `model` (an HF checkpoint folder)');
  if (c.engine === 'sim' && !c.trace_requests && !c.lengths) bad('engine sim needs `lengths` (the recorded response lengths it replays)');
  if (c.policy !== 'fcfs' && c.policy !== 'static' && c.predictor === 'none') bad(`policy ${c.policy} orders by predicted length: set a predictor (${PREDICTOR_NAMES.filter((p) => p !== 'none').join(', ')})`);
  if (c.policy === 'static' && c.predictor === 'none') bad('policy static needs a predictor (vanilla for the paper\'s vanilla row)');
  if (c.predictor === 'constant' && c.constant === undefined) bad('predictor constant needs `constant` (its length)');
  if ((c.predictor === 'proxy' || (c.engine === 'sim' && (c.predictor === 'seqsch' || c.predictor === 'po'))) && !c.predictions) bad(`predictor ${c.predictor} needs \`predictions\` (a predictions file) here`);
  if ((c.predictor === 'gt' || c.predictor === 'lmax') && !c.lengths && !c.trace_requests) bad(`predictor ${c.predictor} reads the recorded lengths: set \`lengths\``);
  if (c.predictor_cost === 'perception' && c.engine !== 'sim') bad('predictor_cost perception charges a cost model: engine sim only');
  return c;
}
