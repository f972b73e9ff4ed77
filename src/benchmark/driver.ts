/**
 * The benchmark loop (upstream `benchmark` + `generate_group`), written once for every engine: cut the
 * queries into groups, predict lengths, schedule, generate each batch, collect and recompute failures (FCR),
 * and compute the paper's metrics. It records a per-batch trace so real runs can calibrate the cost model.
 * It does not know how a batch is generated or timed — that is the Engine's job.
 */
import type { Engine } from '../engines/batch.js';
import type { BenchItem } from '../core/query.js';
import { computeMetrics, type ItemResult, type Metrics } from './metrics.js';
import type { LengthPredictor } from '../core/predictor.js';
import { generationLimit, schedule, type ScheduleConfig } from '../scheduling/schedule.js';

export interface BenchmarkOptions {
  schedule: ScheduleConfig;
  /** max new tokens (paper: 512) */
  maxLength: number;
  /** queries per scheduling group (paper: 256) */
  groupSize: number;
  /** called after every generated batch */
  onBatch?: (t: BatchTrace) => void;
}

/** One generated batch, as the cost model calibration reads it. */
export interface BatchTrace {
  group: number;
  batch: number;
  phase: 'schedule' | 'fcr';
  size: number;
  /** new-token limit the batch ran with */
  limit: number;
  /** padded prompt width (max prompt tokens in the batch; absent when items carry no counts) */
  promptTokens?: number;
  decodeSteps: number;
  seconds: number;
  /** the batch started from prompt keys/values prefilled with the prediction (its seconds hold no prefill) */
  prefilled?: boolean;
}

export interface BenchmarkResult extends Metrics {
  strategy: string;
  engine: string;
  vbs: boolean;
  fcr: boolean;
  num_batches: number;
  decode_steps: number;
  /** queries FCR collected */
  failed: number;
  /** seconds spent predicting lengths (included in `seconds`), less any prompt prefill that generation reused */
  predict_seconds: number;
  /** seconds of prompt prefills run with the prediction and reused by generation (included in `seconds`; 0 for most predictors) */
  prefill_seconds: number;
  /** seconds of FCR's recomputation batches (included in `seconds`; the scheduled batches took the rest) */
  fcr_seconds: number;
  /** per query, in input order */
  items: ItemResult[];
  trace: BatchTrace[];
}

export async function runBenchmark(
  items: BenchItem[],
  engine: Engine,
  predictor: LengthPredictor,
  opts: BenchmarkOptions,
): Promise<BenchmarkResult> {
  const cfg = opts.schedule;
  if (!(opts.groupSize > 0) || !(cfg.batchSize > 0) || !(opts.maxLength > 0)) {
    throw new Error(
      `group size, batch size and max length must be positive (got ${opts.groupSize}, ${cfg.batchSize}, ${opts.maxLength})`,
    );
  }
  const results: ItemResult[] = new Array(items.length);
  const trace: BatchTrace[] = [];
  let failedTotal = 0;
  let seconds = 0;
  let predictSeconds = 0;
  let prefillSeconds = 0;

  for (let g0 = 0, group = 0; g0 < items.length; g0 += opts.groupSize, group++) {
    const groupItems = items.slice(g0, g0 + opts.groupSize);
    const predicted = await predictor.predict(groupItems);
    if (predicted.lengths.length !== groupItems.length) {
      throw new Error(
        `predictor ${predictor.name} returned ${predicted.lengths.length} lengths for ${groupItems.length} queries`,
      );
    }
    predictSeconds += predicted.seconds - (predicted.prefillSeconds ?? 0);
    prefillSeconds += predicted.prefillSeconds ?? 0;
    seconds += predicted.seconds;

    // Generate one batch of group positions; returns one result per position.
    let batchNo = 0;
    const generate = async (positions: number[], limit: number, phase: BatchTrace['phase']) => {
      const batchItems = positions.map((p) => groupItems[p]);
      const out = await engine.generateBatch(batchItems, limit);
      if (out.rows.length !== positions.length) {
        throw new Error(`engine ${engine.name} returned ${out.rows.length} rows for a batch of ${positions.length}`);
      }
      seconds += out.seconds;
      const counts = batchItems.map((it) => it.promptTokens);
      const t: BatchTrace = {
        group,
        batch: batchNo++,
        phase,
        size: positions.length,
        limit,
        promptTokens: counts.every((c) => c !== undefined) ? Math.max(...(counts as number[])) : undefined,
        decodeSteps: out.decodeSteps,
        seconds: out.seconds,
        ...(out.prefilled ? { prefilled: true } : {}),
      };
      trace.push(t);
      opts.onBatch?.(t);
      return positions.map((p, r): ItemResult => ({
        id: groupItems[p].id,
        index: groupItems[p].index,
        predicted: predicted.lengths[p],
        length: out.decodeSteps + 1,
        numOutputTokens: out.rows[r].numOutputTokens,
        isFinished: out.rows[r].isFinished,
        recomputed: phase === 'fcr',
      }));
    };

    // Scheduled pass: `outs` in batch order, `order[k]` the group position of outs[k].
    const order: number[] = [];
    const outs: ItemResult[] = [];
    for (const b of schedule(predicted.lengths, cfg)) {
      outs.push(...(await generate(b.ids, generationLimit(b, cfg, opts.maxLength), 'schedule')));
      order.push(...b.ids);
    }

    // FCR: collect unfinished rows, regenerate at maxLength in batches of batchSize, replace their results.
    if (cfg.fcr) {
      const failed = outs.flatMap((o, k) => (o.isFinished ? [] : [k]));
      failedTotal += failed.length;
      // 'upstream' regenerates group position k (the failed row's index in batch order), as the released code does
      const targets = failed.map((k) => (cfg.fcrRecompute === 'upstream' ? k : order[k]));
      for (let i = 0; i < targets.length; i += cfg.batchSize) {
        const redo = await generate(targets.slice(i, i + cfg.batchSize), opts.maxLength, 'fcr');
        redo.forEach((r, j) => (outs[failed[i + j]] = r));
      }
    }

    // Back to input order: the result in slot k belongs to the query scheduled at order[k] (for 'upstream'
    // recomputation it is another query's answer, counted in that slot as upstream counts it).
    outs.forEach((o, k) => (results[g0 + order[k]] = o));
  }

  const m = computeMetrics(results, failedTotal, seconds);
  return {
    strategy: predictor.name,
    engine: engine.name,
    vbs: cfg.vbs,
    fcr: cfg.fcr,
    ...m,
    num_batches: trace.length,
    decode_steps: trace.reduce((s, t) => s + t.decodeSteps, 0),
    failed: failedTotal,
    predict_seconds: predictSeconds,
    prefill_seconds: prefillSeconds,
    fcr_seconds: trace.reduce((s, t) => s + (t.phase === 'fcr' ? t.seconds : 0), 0),
    items: results,
    trace,
  };
}
