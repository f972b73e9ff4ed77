/**
 * The `benchmark` experiment stage: one point = one real-engine benchmark run (seqsch benchmark) with every
 * scheduling knob of the `simulate` stage plus the model, adapter, temperature and backend. Each run's
 * per-batch trace and per-query results are written to `<run>/benchmark/<label>[_<swept key>_<value>…].json`
 * (sideFile) and kept for the `calibrate` stage of the same experiment. Model and queries are loaded once per
 * experiment run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { registerStage, type StageContext } from '../registry.js';
import { scheduleOf } from '../../scheduling/options.js';
import { stageFields } from '../../core/options/zod.js';
import { benchmarkOptions } from '../../commands/benchmark.js';
import { loadBenchItems } from '../../workload/items.js';
import { benchmarkReal, loadBenchModel, recordedLMax, type LoadedModel } from '../../benchmark/real.js';
import { markdownTable } from '../../benchmark/report.js';
import type { BenchmarkResult } from '../../benchmark/driver.js';
import type { BenchItem } from '../../core/query.js';
import { initBackend } from '../../core/backend.js';
import { progress } from '../../util/progress.js';
import { writeJson } from '../../util/fs.js';

export const benchmarkSchema = z.strictObject(stageFields(benchmarkOptions));
export type BenchmarkConfig = z.infer<typeof benchmarkSchema>;

/** A finished benchmark point, kept for the calibrate stage and the report. */
export interface BenchRun {
  label: string;
  config: BenchmarkConfig;
  items: BenchItem[];
  result: BenchmarkResult & { backend: string };
}

/** The benchmark runs of this experiment run so far, in order. */
export const benchRuns = (ctx: StageContext) => ctx.cache('benchmark:runs', () => [] as BenchRun[]);

// the calibrate stage replays a run's schedule through this
export { scheduleOf };

const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'row';

/**
 * `<run>/benchmark/<label>[_<key>_<value>…].json` for the point being run: the sweep's values join the label, as a
 * sweep runs every row once per value, and a name this run already wrote gains -2, -3, … (two rows of one label),
 * so no point's per-query results overwrite another's.
 */
function sideFile(ctx: StageContext, label: string): string {
  const written = ctx.cache('benchmark:side-files', () => new Set<string>());
  const base = slug([label, ...Object.entries(ctx.point?.swept ?? {}).map(([k, v]) => `${k} ${String(v)}`)].join(' '));
  let name = base;
  for (let k = 2; written.has(name); k++) name = `${base}-${k}`;
  written.add(name);
  return join(ctx.outDir, 'benchmark', `${name}.json`);
}

registerStage('benchmark', {
  schema: benchmarkSchema,
  files: (c) => [
    { key: 'model', path: c.model },
    { key: 'data', path: c.data },
    ...(c.lora ? [{ key: 'lora', path: c.lora }] : []),
    ...(c.probe ? [{ key: 'probe', path: c.probe }] : []),
    ...(c.lengths ? [{ key: 'lengths', path: c.lengths }] : []),
    ...(c.predictions ? [{ key: 'predictions', path: c.predictions }] : []),
  ],
  run: async (c, ctx) => {
    if (c.strategy === 'gt' && !c.lengths) throw new Error('benchmark stage: strategy gt needs `lengths` (the recorded lengths it predicts)');
    await initBackend(c.backend);
    const loaded = await ctx.cache<Promise<LoadedModel>>(`model:${c.model}|${c.lora ?? ''}|${c.probe ?? ''}`, () => loadBenchModel(c.model, c.lora, c.probe));
    const items = ctx.cache(`items:${c.data}|${c.lengths}|${c.num_data}|${c.seed}`, () =>
      loadBenchItems({ data: c.data, lengths: c.lengths, numData: c.num_data, seed: c.seed }));
    const label = ctx.point?.label ?? c.strategy;
    const bar = progress(`bench ${label}`.slice(0, 24), items.length, { s: '0.0' });
    let seconds = 0;
    const r = await benchmarkReal(items, loaded, {
      strategy: c.strategy,
      predictions: c.predictions,
      schedule: scheduleOf(c),
      maxLength: c.max_length,
      groupSize: c.group_size,
      temperature: c.temperature,
      seed: c.seed,
      onBatch: (t) => {
        seconds += t.seconds;
        bar.tick(t.phase === 'schedule' ? t.size : 0, { s: seconds.toFixed(1) });
      },
    }).finally(() => bar.stop());
    benchRuns(ctx).push({ label, config: c, items, result: r });

    // per query: what was predicted, what the recorded lengths say (L_max), what the engine produced
    const perQuery = r.items.map((it) => ({ ...it, real: recordedLMax(items[it.index]) ?? null }));
    mkdirSync(join(ctx.outDir, 'benchmark'), { recursive: true });
    writeJson(sideFile(ctx, label), {
      label, config: c, backend: r.backend, seconds: r.seconds, predict_seconds: r.predict_seconds, prefill_seconds: r.prefill_seconds, fcr_seconds: r.fcr_seconds,
      trace: r.trace, items: perQuery,
    });
    return {
      record: {
        strategy: r.strategy, vbs: r.vbs, fcr: r.fcr, fcr_limit: r.fcr ? c.fcr_limit : 'off', num_samples: r.num_samples,
        average_length: r.average_length, effective_token_ratio: r.effective_token_ratio, failure_ratio: r.failure_ratio,
        num_batches: r.num_batches, decode_steps: r.decode_steps, seconds: r.seconds, predict_seconds: r.predict_seconds,
        ...(r.prefill_seconds > 0 ? { prefill_seconds: r.prefill_seconds } : {}), fcr_seconds: r.fcr_seconds, throughput: r.throughput, backend: r.backend,
      },
      detail: { items: perQuery, trace: r.trace },
    };
  },
  table: (rows) => {
    const swept = [...new Set(rows.flatMap((r) => Object.keys(r.swept)))];
    // where a row's time went: length prediction, the scheduled batches, FCR's recomputation; with a predictor that
    // prefills the prompts for generation (probe), that prefill is batch work: in Batches, and shown on its own
    const secs = (v: unknown) => Number(v ?? 0);
    const prefill = rows.some((r) => secs(r.record.prefill_seconds) > 0);
    const table = markdownTable(['Strategy', ...swept, 'Time (s)', 'Predict (s)', 'Batches (s)', ...(prefill ? ['of which shared prefill (s)'] : []), 'FCR (s)'], rows.map(({ label, swept: sw, record: rec }) => ({
      lead: [label, ...swept.map((k) => String(sw[k])), secs(rec.seconds).toFixed(1), secs(rec.predict_seconds).toFixed(2),
        (secs(rec.seconds) - secs(rec.predict_seconds) - secs(rec.fcr_seconds)).toFixed(2), ...(prefill ? [secs(rec.prefill_seconds).toFixed(2)] : []), secs(rec.fcr_seconds).toFixed(2)],
      result: rec as unknown as BenchmarkResult,
    })));
    return table + (prefill ? '\nShared prefill: the generation prompts of each group prefilled once with the prediction (the probe reads it there); the batches start from it instead of a prefill of their own.\n' : '');
  },
});
