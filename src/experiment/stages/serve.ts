/**
 * The `serve` experiment stage: one point = one serving run (src/serving/run.ts) — an engine (real tfjs or
 * simulated), a workload (offline, Poisson at a rate or a load of the measured capacity, or a trace), a policy
 * (fcfs | sjf | srpt | ltr | static) with its predictor. Each run's per-request timeline, engine calls and
 * predictor calls go to `<run>/serve/<point>.json` and are kept for the `serve-calibrate` stage of the same
 * experiment; the record is the run's serving metrics. Models, queries and capacities are loaded or measured
 * once per experiment run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { registerStage, type Scalar, type StageContext } from '../registry.js';
import { serveSchema, type ServeConfig } from '../../serving/config.js';
import type { ServeRun } from '../../serving/run.js';
import { servingTable } from '../../serving/report.js';
import type { ServingMetrics } from '../../serving/metrics.js';
import { progress } from '../../util/progress.js';
import { foreignCpuMeter } from '../../util/cpu-share.js';
import { writeJson } from '../../util/fs.js';

/** A finished serve point, kept for serve-calibrate and the report. */
export interface ServePoint {
  label: string;
  swept: Record<string, Scalar>;
  config: ServeConfig;
  run: ServeRun;
}

/** The serve points of this experiment run so far, in order. */
export const serveRuns = (ctx: StageContext) => ctx.cache('serve:runs', () => [] as ServePoint[]);

/** A point's name: its label and sweep values. */
export const servePointName = (label: string, swept: Record<string, Scalar>) =>
  [label, ...Object.entries(swept).map(([k, v]) => `${k}=${v}`)].join(' ');

const slug = (s: string) => s.replace(/[^A-Za-z0-9_.=-]+/g, '_').replace(/^_+|_+$/g, '') || 'row';

registerStage('serve', {
  schema: serveSchema,
  files: (c) => (['data', 'lengths', 'trace', 'predictions', 'model', 'lora', 'probe', 'cost_model'] as const)
    .filter((k) => c[k] !== undefined)
    .map((k) => ({ key: k, path: c[k] as string })),
  run: async (c, ctx) => {
    const { runServe } = await import('../../serving/run.js');
    const label = ctx.point?.label ?? c.policy;
    const swept = ctx.point?.swept ?? {};
    const name = servePointName(label, swept);
    const bar = progress(`serve ${name}`.slice(0, 24), c.num_data ?? 0);
    const meter = foreignCpuMeter();
    const run = await runServe(c, { cache: ctx.cache, onFinish: () => bar.tick() }).finally(() => bar.stop());
    const foreign = c.engine === 'tfjs' ? meter.stop() : null; // wall-clock timing is only valid on an otherwise idle machine
    serveRuns(ctx).push({ label, swept, config: c, run });
    const m = run.metrics;
    mkdirSync(join(ctx.outDir, 'serve'), { recursive: true });
    writeJson(join(ctx.outDir, 'serve', `${slug(name)}.json`), {
      label, swept, config: c, engine: run.engine, backend: run.backend, rate: run.rate, capacity: run.capacity, foreign_cpu: foreign, metrics: m,
      records: run.result.records, calls: run.result.calls, predictor_calls: run.result.predictorCalls,
    });
    if (!process.stderr.isTTY) {
      console.error(`serve ${name}: ${m.num_requests} requests, ${m.throughput.toFixed(2)} req/s, latency mean ${m.latency_mean.toFixed(3)} s / p99 ${m.latency_p99.toFixed(3)} s`);
    }
    if (foreign !== null && foreign > 0.05) console.error(`serve ${name}: warning: other processes used ${(foreign * 100).toFixed(0)} % of the CPUs during this point; its timings are disturbed`);
    const record: Record<string, Scalar> = {
      engine: run.engine, policy: c.policy, predictor: c.predictor, max_batch: c.max_batch, arrival: c.arrival,
      load: c.load ?? null, rate: run.rate, capacity: run.capacity, backend: run.backend, foreign_cpu: foreign, ...m,
    };
    return { record, detail: { latencies: run.result.records.map((r) => r.finish - r.arrival) } };
  },
  table: (rows) => {
    const swept = [...new Set(rows.flatMap((r) => Object.keys(r.swept)))];
    return servingTable(['Row', ...swept, 'Engine', 'Max batch', 'Arrival', 'Rate (req/s)'], rows.map(({ label, swept: sw, record: rec }) => ({
      lead: [label, ...swept.map((k) => String(sw[k])), String(rec.engine), String(rec.max_batch), String(rec.arrival),
        typeof rec.rate === 'number' ? rec.rate.toFixed(1) : '—'],
      metrics: rec as unknown as ServingMetrics,
    })));
  },
});
