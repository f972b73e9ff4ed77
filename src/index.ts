/**
 * The public library API of seqsch: what notebooks, scripts and other programs import, in pipeline order —
 * backend → model → tokenizer → data → generation → perception (length prediction) → scheduling (VBS/FCR) →
 * benchmark (real engine and simulator) → experiment (runner, plots). It only re-exports; the CLI
 * (src/cli.ts, which has a top-level await) and the training internals are not part of it.
 */

// ─── backend: call initBackend() before any tensor work ─────────────────────────────────────────────
export { initBackend, activeBackend, onBackendReady, BACKEND_CHOICES, type BackendName, type BackendChoice, type BackendInfo } from './backend.js';

// ─── model: the tfjs LLaMA, its HF checkpoints and LoRA adapters ───────────────────────────────────
export { Llama, type ForwardOptions, type WeightReader } from './model/llama.js';
export { configFromHF, configToHF, countParameters, type LlamaConfig } from './model/config.js';
export { loadLlama, saveLlama, type SaveOptions } from './model/checkpoint.js';
export { LoraAdapter, DEFAULT_LORA, LORA_TARGETS, type LoraConfig, type LoraTarget } from './model/lora.js';
export { KVCache } from './model/kvcache.js';
export { readSafetensors, writeSafetensors } from './model/safetensors.js';

// ─── tokenizer: LLaMA-1 (the paper's token counts), HF tokenizer.json, id-mapped vocabularies ──────
export { loadTokenizer, type Tokenizer, type EncodeOptions } from './tokenizer/tokenizer.js';
export { llamaTokenizer, countTokens, LLAMA_BOS_ID, LLAMA_EOS_ID, LLAMA_VOCAB_SIZE } from './tokenizer/llama.js';
export { remapTokenizer, buildIdMap, loadIdMap, saveIdMap, type RemappedTokenizer } from './tokenizer/idmap.js';

// ─── data: conversations, recorded lengths, the vicuna prompt, numpy-exact sampling, synthetic corpus
export {
  loadConversations, saveConversations, firstTurn, loadLengths, saveLengths, lMax, vicunaPrompt, vicunaTrainingText,
  LENGTH_KEYS, LENGTH_TEMPERATURES, type Conversation, type Turn, type LengthRecord, type LengthKey,
} from './data/conversation.js';
export { QUERY_PROMPT, PIA_PROMPT, insertLengthPrompt, parseQueryLength, parsePoLength } from './data/prompts.js';
export { sampleIndices, numpyPermutation } from './data/sample.js';
export { makeSynthetic, makeSyntheticSplits, instructionOf, answerOf, quantiles, type SyntheticOptions } from './data/synthetic.js';

// ─── generation: padded batch generation with a KV cache ───────────────────────────────────────────
export { generate, type GenerateOptions, type GenerateResult, type GeneratedItem } from './generation/generate.js';
export { Sampler } from './generation/sampler.js';

// ─── perception: predicting each query's response length ───────────────────────────────────────────
export {
  STRATEGIES, vanillaPredictor, gtPredictor, filePredictor, simulationPredictor, type StrategyName, type LengthPredictor,
} from './perception/predictor.js';
export { seqschPredictor, poPredictor, askLengths, parseLengthAnswer } from './perception/model-predictors.js';
export { collectLengths, answerTokenCount, type LenpredOptions } from './perception/lenpred.js';
export { constructInstructData } from './perception/construct.js';
export { scorePredictions, constantBaselines, pearson, type PerceptionScore } from './perception/evaluate.js';
export { loadModelAndTokenizer, runLenpred, runConstruct, runEval, PAPER_PERCEPTION } from './perception/pipeline.js';

// ─── scheduling: bucketing by predicted length, variable batch size (VBS), failure collection (FCR) ─
export { buckit, vbsBatchSize, PAPER_VBS_TABLE, PAPER_VBS_FALLBACK, type VbsTable } from './scheduling/buckets.js';
export {
  schedule, generationLimit, parseFcrLimit, formatFcrLimit, DEFAULT_SCHEDULE, type ScheduleConfig, type PlannedBatch, type FcrLimitPolicy,
} from './scheduling/schedule.js';

// ─── benchmark: the shared driver, the real (tfjs) and simulated engines, metrics, cost models ─────
export { runBenchmark, type BenchmarkOptions, type BenchmarkResult, type BatchTrace } from './benchmark/driver.js';
export type { BenchItem, BatchRow, BatchOutcome, Engine } from './benchmark/engine.js';
export { loadBenchItems, type LoadItemsOptions } from './benchmark/items.js';
export { TfjsEngine, type TfjsEngineOptions } from './benchmark/engine-tfjs.js';
export { SimulatedEngine, type SimEngineOptions } from './benchmark/engine-sim.js';
export { loadBenchModel, realPredictor, benchmarkReal, recordedLMax, type LoadedModel, type RealBenchmarkParams } from './benchmark/real.js';
export { simulate, type SimulationParams } from './benchmark/simulate.js';
export { computeMetrics, type Metrics, type ItemResult } from './benchmark/metrics.js';
export { batchSeconds, defaultCostModel, loadCostModel, costModelFromPoints, type CostModel, type CostModelFile } from './benchmark/costmodel.js';
export { fitCostModel, fittedCostModel, replaySeconds, costModelFile, type Calibration, type CostFit } from './benchmark/calibrate.js';
export { upstreamBlock, markdownTable, metricCells } from './benchmark/report.js';

// ─── experiment: YAML experiments, the results folder, the report's plots ──────────────────────────
export { loadExperiment, ConfigError, type Experiment, type ConfigPoint } from './experiment/config.js';
export { runExperiment, tableMarkdown, resultsCsv, type PointResult, type RunOptions } from './experiment/runner.js';
export {
  renderSvg, metricsSpec, lengthScatterSpec, timelineSpec, errorHistogramSpec, type MetricRow, type LengthPoint, type TimelineBatch,
} from './experiment/plots.js';
export { PAPER_BENCHMARK, reportHtml, speedupRows } from './experiment/report-html.js';
