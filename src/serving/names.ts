/** The names a serving configuration chooses from (kept free of imports so the CLI can list them cheaply). */

/** step-level policies (policies/), and `static`: the paper's batch pipeline (static.ts) */
export const POLICY_NAMES = ['fcfs', 'sjf', 'srpt', 'ltr', 'static'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** length predictors (predictors.ts) */
export const PREDICTOR_NAMES = ['none', 'vanilla', 'constant', 'gt', 'lmax', 'seqsch', 'po', 'proxy'] as const;
export type PredictorName = (typeof PREDICTOR_NAMES)[number];

/** how a predictor's time is charged (config.ts) */
export const PREDICTOR_COSTS = ['measured', 'perception', 'free', 'linear'] as const;

export const ARRIVALS = ['offline', 'poisson', 'trace'] as const;
