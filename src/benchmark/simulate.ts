/**
 * One simulated benchmark run from plain parameters: the simulated engine on recorded lengths, the strategy's
 * predictor, the shared driver. Used by the simulate job (src/jobs/simulate.ts) and the static rows of calibrate; it
 * loads nothing but the predictions and cost-model files (queries come in already sampled).
 */
import { runBenchmark, type BenchmarkResult } from './driver.js';
import type { BenchItem } from '../core/query.js';
import { SimulatedEngine } from '../engines/batch-sim.js';
import { defaultCostModel, loadCostModel } from '../cost/costmodel.js';
import { simulationPredictor } from '../perception/predictor.js';
import type { StrategyName } from '../core/names.js';
import type { ScheduleConfig } from '../scheduling/schedule.js';

export interface SimulationParams {
  strategy: StrategyName;
  predictions?: string;
  schedule: ScheduleConfig;
  maxLength: number;
  groupSize: number;
  realLengths: string;
  recordedMaxLength: number;
  /** measured cost-model JSON; the analytic default when absent */
  costModel?: string;
  /** prefill width for queries without a prompt token count */
  defaultPromptTokens?: number;
}

export async function simulate(items: BenchItem[], p: SimulationParams): Promise<BenchmarkResult> {
  const engine = new SimulatedEngine({
    realLengths: p.realLengths,
    recordedMaxLength: p.recordedMaxLength,
    costModel: p.costModel ? loadCostModel(p.costModel) : defaultCostModel(),
    defaultPromptTokens: p.defaultPromptTokens ?? 64,
  });
  return runBenchmark(items, engine, simulationPredictor(p.strategy, p.maxLength, p.predictions), {
    schedule: p.schedule,
    maxLength: p.maxLength,
    groupSize: p.groupSize,
  });
}
