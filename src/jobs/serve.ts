/**
 * serve as a job (`seqsch serve-bench` on the CLI, the `serve` stage in an experiment): one serving run
 * (src/serving/run.ts) — an engine (real tfjs or simulated), a workload (offline, Poisson at a rate or a load of the
 * measured capacity, or a trace), a policy (fcfs | sjf | srpt | ltr | static) with its predictor. The record is the
 * run's serving metrics. Its option table and checks across keys are src/serving/options.ts's (the run's layer
 * reads the same config). Each run's per-request timeline, engine calls and predictor calls go to `--out FILE` on
 * the CLI and to `<run>/serve/<point>.json` in an experiment (one layout; the point's name unique among the
 * experiment's points, src/util/side-files.ts), and are kept for the `serve-calibrate` stage of the same run.
 * Models, queries and capacities are loaded or measured once per experiment run.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { JobContext, Scalar } from '../core/job.js';
import { defineJob } from '../core/job.js';
import { defineOptions, type StageConfigOf } from '../core/options/spec.js';
import { serveConfigProblem, serveOptions } from '../serving/options.js';
import type { ServeRun } from '../serving/run.js';
import type { ServingMetrics } from '../serving/metrics.js';
import { servingTable } from '../serving/report.js';
import { cliOutput } from '../util/job-paths.js';
import { sideFileBase } from '../util/side-files.js';

export const serveJobOptions = defineOptions({
  ...serveOptions,
  out: { type: 'string', yaml: false, describe: 'write the per-request timeline and engine calls to this JSON file' },
});

export type ServeJobConfig = StageConfigOf<typeof serveJobOptions>;

/** A finished serve point, kept for serve-calibrate. */
export interface ServePoint {
  label: string;
  swept: Record<string, Scalar>;
  config: ServeJobConfig;
  run: ServeRun;
}

/** The serve points of this experiment run so far, in order. */
export const serveRuns = (ctx: Pick<JobContext, 'cache'>) => ctx.cache('serve:runs', () => [] as ServePoint[]);

/** A point's name: its label and sweep values. */
export const servePointName = (label: string, swept: Record<string, Scalar>) =>
  [label, ...Object.entries(swept).map(([k, v]) => `${k}=${v}`)].join(' ');

export const serveJob = defineJob({
  name: 'serve',
  command: 'serve-bench',
  describe: 'serve one workload with continuous batching (or the static pipeline): latency, TTFT, throughput',
  options: serveJobOptions,
  check: serveConfigProblem,
  writes: (_c, cli) => cliOutput(cli, 'out'),
  files: (c) =>
    (['data', 'lengths', 'trace', 'predictions', 'model', 'lora', 'probe', 'cost_model'] as const)
      .filter((k) => c[k] !== undefined)
      .map((k) => ({ key: k, path: c[k] as string })),
  run: async (c, ctx) => {
    const [{ runServe }, { progress }, { foreignCpuMeter }, { writeJson }] = await Promise.all([
      import('../serving/run.js'),
      import('../util/progress.js'),
      import('../util/cpu-share.js'),
      import('../util/fs.js'),
    ]);
    const label = ctx.point?.label ?? c.policy;
    const swept = ctx.point?.swept ?? {};
    const name = servePointName(label, swept);
    const bar = progress(`serve ${name}`.slice(0, 24), c.num_data ?? 0);
    const meter = foreignCpuMeter();
    const run = await runServe(c, { cache: ctx.cache, onFinish: () => bar.tick() }).finally(() => bar.stop());
    // wall-clock timing is only valid on an otherwise idle machine
    const foreign = c.engine === 'tfjs' ? meter.stop() : null;
    serveRuns(ctx).push({ label, swept, config: c, run });
    const m = run.metrics;
    // in an experiment the point's side-file name, unique among its points (a label repeated across stages numbered)
    const file = ctx.outDir
      ? join(ctx.outDir, 'serve', `${ctx.point?.sideName ?? sideFileBase(label, swept)}.json`)
      : (ctx.cli.out as string | undefined);
    if (file) {
      if (ctx.outDir) mkdirSync(dirname(file), { recursive: true });
      writeJson(
        file,
        {
          label,
          swept,
          config: c,
          engine: run.engine,
          backend: run.backend,
          rate: run.rate,
          capacity: run.capacity,
          foreign_cpu: foreign,
          metrics: m,
          records: run.result.records,
          calls: run.result.calls,
          predictor_calls: run.result.predictorCalls,
        },
        'the serve timeline',
      );
    }
    if (ctx.outDir && !process.stderr.isTTY) {
      console.error(
        `serve ${name}: ${m.num_requests} requests, ${m.throughput.toFixed(2)} req/s, ` +
          `latency mean ${m.latency_mean.toFixed(3)} s / p99 ${m.latency_p99.toFixed(3)} s`,
      );
    }
    if (foreign !== null && foreign > 0.05) {
      console.error(
        `serve ${name}: warning: other processes used ${(foreign * 100).toFixed(0)} % of the CPUs during this point; its timings are disturbed`,
      );
    }
    const record: Record<string, Scalar> = {
      engine: run.engine,
      policy: c.policy,
      predictor: c.predictor,
      max_batch: c.max_batch,
      arrival: c.arrival,
      load: c.load ?? null,
      rate: run.rate,
      capacity: run.capacity,
      backend: run.backend,
      cost_model: run.costModel,
      foreign_cpu: foreign,
      ...m,
    };
    const text = [
      `${c.engine} engine (${run.backend}), policy ${c.policy}, predictor ${c.predictor}, max batch ${c.max_batch}, ` +
        `${m.num_requests} requests, arrival ${c.arrival}` +
        (run.rate !== null ? ` at ${run.rate.toFixed(2)} req/s` : '') +
        (run.capacity !== null ? ` (${c.load} × capacity ${run.capacity.toFixed(2)} req/s)` : '') +
        (run.costModel ? `, cost model ${run.costModel}` : ''),
      servingTable(['Policy', 'Predictor'], [{ lead: [c.policy, c.predictor], metrics: m }]),
    ].join('\n');
    return { record, detail: { latencies: run.result.records.map((r) => r.finish - r.arrival) }, text };
  },
  table: (rows) => {
    const swept = [...new Set(rows.flatMap((r) => Object.keys(r.swept)))];
    return servingTable(
      ['Row', ...swept, 'Engine', 'Max batch', 'Arrival', 'Rate (req/s)'],
      rows.map(({ label, swept: sw, record: rec }) => ({
        lead: [
          label,
          ...swept.map((k) => String(sw[k])),
          rec.cost_model ? `${rec.engine}: ${rec.cost_model}` : String(rec.engine),
          String(rec.max_batch),
          String(rec.arrival),
          typeof rec.rate === 'number' ? rec.rate.toFixed(1) : '—',
        ],
        metrics: rec as unknown as ServingMetrics,
      })),
    );
  },
});
