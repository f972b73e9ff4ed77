/**
 * One real-engine benchmark run from plain parameters: the strategy's predictor beside the loaded model (or the
 * probe on a prompt store the engine shares), the shared driver with the tfjs engine. Used by the benchmark job and
 * the experiment runner's `benchmark` stage; the counterpart of simulate.ts. The model comes in loaded
 * (engines/load.ts) and the queries already sampled (workload/items.ts).
 */
import { runBenchmark, type BatchTrace, type BenchmarkResult } from './driver.js';
import type { BenchItem } from '../core/query.js';
import type { LengthPredictor } from '../core/predictor.js';
import { TfjsEngine } from '../engines/batch-tfjs.js';
import type { StrategyName } from '../core/names.js';
import type { ScheduleConfig } from '../scheduling/schedule.js';
import { realPredictor } from '../perception/model-predictors.js';
import { PromptStore, probePredictor } from '../engines/prompt-store.js';
import { warmUp, type LoadedModel } from '../engines/load.js';

export interface RealBenchmarkParams {
  strategy: StrategyName;
  /** po/seqsch predictions file ([{ id, predicted }]); without it they need a model-backed predictor */
  predictions?: string;
  schedule: ScheduleConfig;
  maxLength: number;
  groupSize: number;
  temperature?: number;
  seed?: number;
  onBatch?: (t: BatchTrace) => void;
}

/** The largest batch a schedule can form over `n` queries. */
function largestBatch(s: ScheduleConfig, n: number, groupSize: number): number {
  const cap = s.vbs ? Math.max(s.batchSize, s.vbsFallback, ...Object.values(s.vbsTable)) : s.batchSize;
  return Math.max(1, Math.min(cap, n, groupSize));
}

/**
 * One real-engine run. Strategy probe (without a predictions file) prefills each group's prompts once in a
 * PromptStore shared by the predictor (which reads the probe there) and the engine (whose batches start from it).
 */
export async function benchmarkReal(
  items: BenchItem[],
  loaded: LoadedModel,
  p: RealBenchmarkParams,
  predictor?: LengthPredictor,
): Promise<BenchmarkResult & { backend: string }> {
  let store: PromptStore | undefined;
  if (!predictor && p.strategy === 'probe' && !p.predictions) {
    if (!loaded.probe)
      throw new Error('strategy probe needs the length probe (probe: / --probe DIR) or a predictions file');
    store = new PromptStore(loaded.model, loaded.tokenizer);
  }
  const engine = new TfjsEngine(loaded.model, loaded.tokenizer, {
    temperature: p.temperature ?? 0,
    seed: p.seed ?? 0,
    prompts: store,
  });
  await warmUp(loaded, items, largestBatch(p.schedule, items.length, p.groupSize), p.groupSize);
  try {
    const r = await runBenchmark(
      items,
      engine,
      predictor ?? (store ? probePredictor(store, loaded.probe!) : realPredictor(p.strategy, loaded, p)),
      {
        schedule: p.schedule,
        maxLength: p.maxLength,
        groupSize: p.groupSize,
        onBatch: p.onBatch,
      },
    );
    return { ...r, backend: engine.backend };
  } finally {
    store?.dispose();
  }
}
