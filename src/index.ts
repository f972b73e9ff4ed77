/**
 * The public library API of seqsch: what notebooks, scripts and other programs import, in pipeline order —
 * backend → model → tokenizer → data → generation → perception (length prediction) → scheduling (VBS/FCR) →
 * benchmark (real engine and simulator) → experiment (runner, plots). It only re-exports; the CLI
 * (src/cli.ts, which has a top-level await) and the training internals are not part of it.
 */

// ─── backend: call initBackend() before any tensor work ─────────────────────────────────────────────
export {
  initBackend,
  activeBackend,
  onBackendReady,
  BACKEND_CHOICES,
  type BackendName,
  type BackendChoice,
  type BackendInfo,
} from './core/backend.js';

// ─── model: the tfjs LLaMA, its HF checkpoints and LoRA adapters ───────────────────────────────────
export { Llama } from './model/llama.js';
export type { ForwardOptions } from './model/forward-options.js';
export type { WeightReader } from './model/hf-weights.js';
export { configFromHF, configToHF, countParameters, type LlamaConfig } from './model/config.js';
export { loadLlama, saveLlama, type SaveOptions } from './model/checkpoint.js';
export { LoraAdapter, DEFAULT_LORA, LORA_TARGETS, type LoraConfig, type LoraTarget } from './model/lora.js';
export { KVCache } from './model/kvcache.js';
export { readSafetensors, writeSafetensors } from './model/safetensors.js';

// ─── tokenizer: LLaMA-1 (the paper's token counts), HF tokenizer.json, id-mapped vocabularies ──────
export { loadTokenizer } from './tokenizer/tokenizer.js';
export type { Tokenizer, EncodeOptions } from './tokenizer/types.js';
export { llamaTokenizer, countTokens, LLAMA_BOS_ID, LLAMA_EOS_ID, LLAMA_VOCAB_SIZE } from './tokenizer/llama.js';
export { remapTokenizer, buildIdMap, loadIdMap, saveIdMap, type RemappedTokenizer } from './tokenizer/idmap.js';

// ─── data: conversations, recorded lengths, the vicuna prompt, numpy-exact sampling, synthetic corpus
export {
  loadConversations,
  saveConversations,
  firstTurn,
  loadLengths,
  saveLengths,
  lMax,
  vicunaPrompt,
  vicunaTrainingText,
  LENGTH_KEYS,
  LENGTH_TEMPERATURES,
  type Conversation,
  type Turn,
  type LengthRecord,
  type LengthKey,
} from './data/conversation.js';
export { QUERY_PROMPT, PIA_PROMPT, insertLengthPrompt, parseQueryLength, parsePoLength } from './data/prompts.js';
export { sampleIndices, numpyPermutation } from './workload/sample.js';
export {
  makeSynthetic,
  makeSyntheticSplits,
  instructionOf,
  answerOf,
  quantiles,
  type SyntheticOptions,
} from './data/synthetic.js';

// ─── generation: padded batch generation with a KV cache ───────────────────────────────────────────
export { generate, type GenerateOptions, type GenerateResult, type GeneratedItem } from './generation/generate.js';
export { Sampler } from './generation/sampler.js';

// ─── perception: predicting each query's response length ───────────────────────────────────────────
export { STRATEGIES, type StrategyName } from './core/names.js';
export type { LengthPredictor, Prediction, RunningQuery, RemainingEstimate } from './core/predictor.js';
export {
  vanillaPredictor,
  constantPredictor,
  gtPredictor,
  oraclePredictor,
  recordedLMax,
  filePredictor,
  simulationPredictor,
} from './perception/predictor.js';
export {
  seqschPredictor,
  poPredictor,
  realPredictor,
  askLengths,
  parseLengthAnswer,
} from './perception/model-predictors.js';
export { collectLengths, answerTokenCount, type LenpredOptions } from './perception/lenpred.js';
export { constructInstructData } from './perception/construct.js';
export { scorePredictions, constantBaselines, pearson, type PerceptionScore } from './scoring/evaluate.js';
export { loadModelAndTokenizer, runLenpred, runConstruct, runEval, PAPER_PERCEPTION } from './perception/pipeline.js';

// ─── scheduling: bucketing by predicted length, variable batch size (VBS), failure collection (FCR) ─
export { buckit, vbsBatchSize, PAPER_VBS_TABLE, PAPER_VBS_FALLBACK, type VbsTable } from './scheduling/buckets.js';
export {
  schedule,
  generationLimit,
  parseFcrLimit,
  formatFcrLimit,
  DEFAULT_SCHEDULE,
  type ScheduleConfig,
  type PlannedBatch,
  type FcrLimitPolicy,
} from './scheduling/schedule.js';

// ─── benchmark: the shared driver, the real (tfjs) and simulated engines, metrics, cost models ─────
export { runBenchmark, type BenchmarkOptions, type BenchmarkResult, type BatchTrace } from './benchmark/driver.js';
export type { BenchItem } from './core/query.js';
export type { BatchRow, BatchOutcome, Engine } from './engines/batch.js';
export { loadBenchItems, type LoadItemsOptions } from './workload/items.js';
export { TfjsEngine, type TfjsEngineOptions } from './engines/batch-tfjs.js';
export { SimulatedEngine, type SimEngineOptions } from './engines/batch-sim.js';
export { loadModel, warmUp, type LoadedModel } from './engines/load.js';
export { benchmarkReal, type RealBenchmarkParams } from './benchmark/real.js';
export { simulate, type SimulationParams } from './benchmark/simulate.js';
export { computeMetrics, type Metrics, type ItemResult } from './benchmark/metrics.js';
export {
  batchSeconds,
  defaultCostModel,
  loadCostModel,
  costModelFromPoints,
  type CostModel,
  type CostModelFile,
} from './cost/costmodel.js';
export {
  fitCostModel,
  fittedCostModel,
  replaySeconds,
  costModelFile,
  type Calibration,
  type CostFit,
} from './cost/calibrate-batches.js';
export { upstreamBlock, markdownTable, metricCells } from './benchmark/report.js';

// ─── serving: continuous batching beside the static pipeline — step engines, policies, workloads, metrics ─
export type { StepEngine, StepRequest, RowUpdate } from './engines/step.js';
export type { EngineCall } from './cost/calls.js';
export { TfjsStepEngine, type TfjsStepRequest, type TfjsStepEngineOptions } from './engines/step-tfjs.js';
export { SimStepEngine, type SimStepRequest } from './engines/step-sim.js';
export { SlotKVCache } from './engines/slot-cache.js';
export { serveContinuous, type ServeResult, type ContinuousOptions } from './serving/harness.js';
export { serveStatic } from './serving/static.js';
export { makePolicy, type Policy, type QueueEntry } from './serving/policies/index.js';
export { plan } from './serving/policies/plan.js';
export { servingPredictor, withCost, withProbeRemaining } from './serving/predictors.js';
export { arrivalTimes, makeRequests, traceItems, type ServeRequest, type ArrivalSpec } from './workload/arrivals.js';
export { loadTrace, type TraceRow } from './workload/trace.js';
export { servingMetrics, quantile, type ServingMetrics, type RequestRecord } from './serving/metrics.js';
export { fitStepCosts, stepCostModel, stepCostModelFile } from './cost/calibrate-steps.js';
export { runServe, measureCapacity, type ServeRun } from './serving/run.js';
export { serveSchema, type ServeConfig } from './serving/config.js';
export { WallClock, SimClock } from './serving/clock.js';

// ─── experiment: YAML experiments, the results folder, the report's plots ──────────────────────────
export { loadExperiment, ConfigError, type Experiment, type ConfigPoint } from './experiment/config.js';
export { runExperiment, tableMarkdown, resultsCsv, type RunOptions } from './experiment/runner.js';
export type { PointResult } from './experiment/registry.js';
export {
  renderSvg,
  metricsSpec,
  lengthScatterSpec,
  timelineSpec,
  errorHistogramSpec,
  latencyLoadSpec,
  latencyCdfSpec,
  type MetricRow,
  type LengthPoint,
  type TimelineBatch,
  type LoadPoint,
  type LatencySample,
} from './experiment/plots.js';
export { PAPER_BENCHMARK, reportHtml, speedupRows } from './experiment/report-html.js';
