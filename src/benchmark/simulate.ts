/**
 * One simulated benchmark run from plain parameters: the simulated engine on recorded lengths, the strategy's
 * predictor, the shared driver. Used by `seqsch simulate` and the experiment runner's `simulate` stage; it
 * loads nothing but the predictions and cost-model files (queries come in already sampled).
 */
import { runBenchmark, type BenchmarkResult } from './driver.js';
import type { BenchItem } from '../core/query.js';
import { SimulatedEngine } from '../engines/batch-sim.js';
import { defaultCostModel, loadCostModel } from '../cost/costmodel.js';
import { simulationPredictor } from '../perception/predictor.js';
import type { StrategyName } from '../core/names.js';
import type { ScheduleConfig } from '../scheduling/schedule.js';
import { scheduleOf } from '../scheduling/options.js';
import type { StageConfigOf } from '../core/options/spec.js';
import type { simulateOptions } from '../commands/simulate.js';

/** A `simulate` config: the stage's keys, or the command's flags through stageConfigOf. */
export type SimulateConfig = StageConfigOf<typeof simulateOptions>;

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

/** The run parameters of a `simulate` config. */
export function simulationParams(c: SimulateConfig): SimulationParams {
  return {
    strategy: c.strategy, predictions: c.predictions, schedule: scheduleOf(c), maxLength: c.max_length, groupSize: c.group_size,
    realLengths: c.real_lengths, recordedMaxLength: c.recorded_max_length, costModel: c.cost_model,
  };
}

export async function simulate(items: BenchItem[], p: SimulationParams): Promise<BenchmarkResult> {
  const engine = new SimulatedEngine({
    realLengths: p.realLengths,
    recordedMaxLength: p.recordedMaxLength,
    costModel: p.costModel ? loadCostModel(p.costModel) : defaultCostModel(),
    defaultPromptTokens: p.defaultPromptTokens ?? 64,
  });
  return runBenchmark(items, engine, simulationPredictor(p.strategy, p.predictions), {
    schedule: p.schedule, maxLength: p.maxLength, groupSize: p.groupSize,
  });
}
