/**
 * The `simulate` experiment stage: one point = one trace-driven benchmark run (seqsch simulate) with every
 * scheduling knob as a config key, so sweeps can vary the bucket cell, the VBS table, the FCR limit policy,
 * batch/group size, max length and the seed. Its keys are `seqsch simulate`'s option table; defaults are the paper's.
 */
import { z } from 'zod';
import { registerStage } from '../registry.js';
import { loadBenchItems } from '../../workload/items.js';
import { simulate, simulationParams, type SimulateConfig } from '../../benchmark/simulate.js';
import { markdownTable } from '../../benchmark/report.js';
import type { BenchmarkResult } from '../../benchmark/driver.js';
import { simulateOptions } from '../../commands/simulate.js';
import { stageFields } from '../../core/options/zod.js';

export const simulateSchema = z.strictObject(stageFields(simulateOptions));

export async function runSimulatePoint(c: SimulateConfig, items: Parameters<typeof simulate>[0]): Promise<BenchmarkResult> {
  return simulate(items, simulationParams(c));
}

registerStage('simulate', {
  schema: simulateSchema,
  files: (c) => [
    { key: 'data', path: c.data },
    { key: 'lengths', path: c.lengths },
    ...(c.predictions ? [{ key: 'predictions', path: c.predictions }] : []),
    ...(c.cost_model ? [{ key: 'cost_model', path: c.cost_model }] : []),
  ],
  run: async (c, ctx) => {
    const items = ctx.cache(`items:${c.data}|${c.lengths}|${c.num_data}|${c.seed}`, () =>
      loadBenchItems({ data: c.data, lengths: c.lengths, numData: c.num_data, seed: c.seed }));
    const r = await runSimulatePoint(c, items);
    return {
      record: {
        strategy: r.strategy, vbs: r.vbs, fcr: r.fcr, fcr_limit: c.fcr ? c.fcr_limit : 'off', num_samples: r.num_samples,
        average_length: r.average_length, effective_token_ratio: r.effective_token_ratio, failure_ratio: r.failure_ratio,
        num_batches: r.num_batches, decode_steps: r.decode_steps, simulated_seconds: r.seconds, throughput: r.throughput,
      },
      detail: { items: r.items, trace: r.trace },
    };
  },
  table: (rows) => {
    const swept = [...new Set(rows.flatMap((r) => Object.keys(r.swept)))];
    return markdownTable(['Strategy', ...swept], rows.map((r) => ({
      lead: [r.label, ...swept.map((k) => String(r.swept[k]))],
      result: r.record as unknown as BenchmarkResult,
    })));
  },
});
