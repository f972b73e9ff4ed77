/**
 * The names a configuration chooses from — the benchmark's strategies, the serving policies, predictors and
 * arrival processes — kept free of imports so the CLI can list them cheaply and every layer can use them.
 */

/** the paper's length-prediction strategies for the static benchmark (perception/predictor.ts) */
export type StrategyName = 'vanilla' | 'gt' | 'po' | 'seqsch' | 'probe';
export const STRATEGIES: StrategyName[] = ['vanilla', 'gt', 'po', 'seqsch', 'probe'];

/**
 * step-level policies (serving/policies/): on predicted output length (sjf, srpt, ltr, work: + prompt), on prompt
 * length as engines ship them (hrrn, spf: SGLang; suf: TensorRT-LLM), by user priority (priority: vLLM), fcfs; and
 * `static`: the paper's batch pipeline (serving/static.ts)
 */
export const POLICY_NAMES = ['fcfs', 'sjf', 'srpt', 'ltr', 'hrrn', 'spf', 'suf', 'priority', 'work', 'static'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/**
 * serving length predictors (serving/predictors.ts). One name per recorded length, as in the benchmark: `gt` is
 * L_max (max over T = 0.0/0.3/0.5/0.7), `oracle` one recorded length (`oracle-key`, default L_t0.0: greedy's).
 */
export const PREDICTOR_NAMES = ['none', 'vanilla', 'constant', 'oracle', 'gt', 'seqsch', 'po', 'proxy'] as const;
export type PredictorName = (typeof PREDICTOR_NAMES)[number];

/** how a predictor's time is charged (serving/config.ts) */
export const PREDICTOR_COSTS = ['measured', 'perception', 'free', 'linear'] as const;

export const ARRIVALS = ['offline', 'poisson', 'trace'] as const;

/** How a serving engine forms its iterations (src/engines/step.ts `batching`; the GPU simulator's vLLM modes). */
export const BATCHINGS = ['split', 'prefill-first', 'chunked'] as const;
export type BatchingName = (typeof BATCHINGS)[number];
