/**
 * benchmark as a job: the paper's benchmark on a real model — sample the queries as upstream does, predict lengths
 * (vanilla | gt | po | seqsch | probe), schedule (optionally VBS), generate every batch with the tfjs LLaMA
 * (optionally FCR), time it by wall clock; the record is upstream's metrics and where the time went. Every
 * scheduling knob of `simulate` is a key, plus the model, adapter, probe, temperature and backend.
 * Each run's per-batch trace and per-query results (the trace file, one layout) go to `--trace FILE` on the CLI
 * and to `<run>/benchmark/<label>[_<swept key>_<value>…].json` in an experiment; `seqsch calibrate` fits the
 * simulator's cost model on them, and the `calibrate` stage of the same run reads the finished points in memory
 * (benchRuns). Model and queries are loaded once per experiment run. Heavy modules load when the job runs.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { JobContext } from '../core/job.js';
import { defineJob } from '../core/job.js';
import { BACKEND_OPTION } from '../core/options/common.js';
import { defineOptions, type StageConfigOf } from '../core/options/spec.js';
import type { BenchItem } from '../core/query.js';
import { scheduleOf, scheduleOptions } from '../scheduling/options.js';
import type { BenchmarkResult } from '../benchmark/driver.js';
import type { LoadedModel } from '../engines/load.js';
import { markdownTable, paperRecord } from '../benchmark/report.js';
import { cliOutput } from '../util/job-paths.js';
import { sideFileBase } from '../util/side-files.js';

export const benchmarkOptions = defineOptions({
  data: { type: 'string', required: true, describe: 'conversations JSON (FastChat format)' },
  lengths: { type: 'string', describe: 'recorded lengths JSON ({id, L_gt, L_t0.0, …}); needed by gt' },
  ...scheduleOptions,
  model: { type: 'string', required: true, describe: 'HF LLaMA folder (config.json, safetensors, tokenizer)' },
  lora: { type: 'string', describe: 'PEFT adapter folder of the seqsch length predictor' },
  probe: { type: 'string', describe: 'hidden-state length probe folder (strategy probe; ckpts/tiny-v3-probe)' },
  temperature: { type: 'number', min: 0, default: 0 },
  backend: BACKEND_OPTION,
  trace: { type: 'string', yaml: false, describe: 'write the per-batch trace and per-query results to this JSON file' },
});

export type BenchmarkConfig = StageConfigOf<typeof benchmarkOptions>;

/** A finished benchmark point, kept for the calibrate stage. */
export interface BenchRun {
  label: string;
  config: BenchmarkConfig;
  items: BenchItem[];
  result: BenchmarkResult & { backend: string };
}

/** The benchmark points of this experiment run so far, in order (one process: the calibrate stage is wholeRun). */
export const benchRuns = (ctx: Pick<JobContext, 'cache'>) => ctx.cache('benchmark:runs', () => [] as BenchRun[]);

/**
 * Where the point's trace file goes: `--trace` on the CLI (nowhere without it); in an experiment
 * `<run>/benchmark/<label>[_<key>_<value>…][-<k>].json`, the point's side-file name (src/util/side-files.ts:
 * unique among the experiment's points), so no point's per-query results overwrite another's.
 */
function traceFile(ctx: JobContext, label: string): string | undefined {
  if (!ctx.outDir) return typeof ctx.cli.trace === 'string' ? ctx.cli.trace : undefined;
  return join(ctx.outDir, 'benchmark', `${ctx.point?.sideName ?? sideFileBase(label, {})}.json`);
}

export const benchmarkJob = defineJob({
  name: 'benchmark',
  describe: 'run the benchmark on a real model (tfjs LLaMA): predict, schedule, generate, FCR, metrics',
  options: benchmarkOptions,
  check: (c, key) =>
    c.strategy === 'gt' && !c.lengths
      ? `${key('strategy')} gt needs ${key('lengths')} (the recorded lengths it predicts)`
      : undefined,
  writes: (_c, cli) => cliOutput(cli, 'trace'),
  files: (c) => [
    { key: 'model', path: c.model },
    { key: 'data', path: c.data },
    ...(c.lora ? [{ key: 'lora', path: c.lora }] : []),
    ...(c.probe ? [{ key: 'probe', path: c.probe }] : []),
    ...(c.lengths ? [{ key: 'lengths', path: c.lengths }] : []),
    ...(c.predictions ? [{ key: 'predictions', path: c.predictions }] : []),
  ],
  run: async (c, ctx) => {
    // one at a time: jest's ESM loader fails when two dynamic imports link tfjs at once
    const { initBackend } = await import('../core/backend.js');
    const { loadModel } = await import('../engines/load.js');
    const { benchmarkReal } = await import('../benchmark/real.js');
    const { recordedLMax } = await import('../perception/predictor.js');
    const [{ loadBenchItems }, { upstreamBlock }, { progress }, { writeJson }] = await Promise.all([
      import('../workload/items.js'),
      import('../benchmark/report.js'),
      import('../util/progress.js'),
      import('../util/fs.js'),
    ]);
    await initBackend(c.backend);
    const loaded = await ctx.cache<Promise<LoadedModel>>(`model:${c.model}|${c.lora ?? ''}|${c.probe ?? ''}`, () =>
      loadModel(c.model, c.lora, c.probe),
    );
    const items = ctx.cache(`items:${c.data}|${c.lengths}|${c.num_data}|${c.seed}`, () =>
      loadBenchItems({ data: c.data, lengths: c.lengths, numData: c.num_data, seed: c.seed }),
    );
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
        // FCR batches redo queries already counted; the bar counts scheduled queries
        bar.tick(t.phase === 'schedule' ? t.size : 0, { s: seconds.toFixed(1) });
      },
    }).finally(() => bar.stop());
    benchRuns(ctx).push({ label, config: c, items, result: r });

    // per query: what was predicted, what the recorded lengths say (L_max), what the engine produced
    const perQuery = r.items.map((it) => ({ ...it, real: recordedLMax(items[it.index]) ?? null }));
    const file = traceFile(ctx, label);
    if (file) {
      if (ctx.outDir) mkdirSync(dirname(file), { recursive: true });
      writeJson(
        file,
        {
          label,
          config: c,
          backend: r.backend,
          seconds: r.seconds,
          predict_seconds: r.predict_seconds,
          prefill_seconds: r.prefill_seconds,
          fcr_seconds: r.fcr_seconds,
          trace: r.trace,
          items: perQuery,
        },
        'the benchmark trace',
      );
    }
    return {
      record: {
        ...paperRecord(r, c.fcr_limit),
        seconds: r.seconds,
        predict_seconds: r.predict_seconds,
        ...(r.prefill_seconds > 0 ? { prefill_seconds: r.prefill_seconds } : {}),
        fcr_seconds: r.fcr_seconds,
        throughput: r.throughput,
        backend: r.backend,
      },
      detail: { items: perQuery, trace: r.trace },
      text: upstreamBlock(r, c.group_size, c.batch_size),
    };
  },
  table: (rows) => {
    const swept = [...new Set(rows.flatMap((r) => Object.keys(r.swept)))];
    // where a row's time went: length prediction, the scheduled batches, FCR's recomputation; with a predictor that
    // prefills the prompts for generation (probe), that prefill is batch work: in Batches, and shown on its own
    const secs = (v: unknown) => Number(v ?? 0);
    const prefill = rows.some((r) => secs(r.record.prefill_seconds) > 0);
    const head = [
      'Strategy',
      ...swept,
      'Time (s)',
      'Predict (s)',
      'Batches (s)',
      ...(prefill ? ['of which shared prefill (s)'] : []),
      'FCR (s)',
    ];
    const table = markdownTable(
      head,
      rows.map(({ label, swept: sw, record: rec }) => ({
        lead: [
          label,
          ...swept.map((k) => String(sw[k])),
          secs(rec.seconds).toFixed(1),
          secs(rec.predict_seconds).toFixed(2),
          (secs(rec.seconds) - secs(rec.predict_seconds) - secs(rec.fcr_seconds)).toFixed(2),
          ...(prefill ? [secs(rec.prefill_seconds).toFixed(2)] : []),
          secs(rec.fcr_seconds).toFixed(2),
        ],
        result: rec as unknown as BenchmarkResult,
      })),
    );
    return (
      table +
      (prefill
        ? '\nShared prefill: the generation prompts of each group prefilled once with the prediction (the probe reads it there); the batches start from it instead of a prefill of their own.\n'
        : '')
    );
  },
});
