/**
 * What a cost model charges and what calibration fits on: the measured (or simulated) calls of the engines and
 * predictors. Kept here, below the engines and loops that produce them, so the fitting code needs nothing above it.
 */

/** One forward of a step engine (continuous batching). */
export interface EngineCall {
  /** mixed: decode rows and prefill chunks in one forward (chunked prefill) */
  kind: 'prefill' | 'decode' | 'mixed';
  /** rows in the forward */
  rows: number;
  /** prefill: padded prompt width; decode, mixed: mean attended positions per decode row (prompt + generated) */
  context: number;
  seconds: number;
}

/** One call of a serving length predictor over the requests that arrived. */
export interface PredictorCall {
  /** clock time the call started */
  at: number;
  requests: number;
  seconds: number;
}

/** One batch of the static pipeline as the batch calibration reads it (a benchmark trace row). */
export interface TraceBatch {
  size: number;
  decodeSteps: number;
  seconds: number;
  /** padded prompt width, when the items carry token counts */
  promptTokens?: number;
}
