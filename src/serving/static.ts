/**
 * The paper's static pipeline as rows of the serving harness: batch-level generation, where a batch runs until
 * its last row ends. Whenever the engine is free, the requests queued then (arrival order, at most a group)
 * form a group that the benchmark driver (src/benchmark/driver.ts) runs as it always does — schedule by
 * predicted length (vanilla: fixed batches; seqsch + VBS + FCR: buckets, variable batch sizes, failures
 * recomputed) with the same batch engines (real tfjs or simulated) — and new arrivals wait for the group to
 * finish. Offline (every request at t = 0) that is exactly the main job's benchmark. A group is predicted when it
 * forms (one predictor call) and the predictions are replayed to the driver. This file only adds the timeline.
 */
import { runBenchmark, type BenchmarkResult } from '../benchmark/driver.js';
import type { BatchOutcome, Engine } from '../engines/batch.js';
import type { BenchItem } from '../core/query.js';
import type { LengthPredictor } from '../core/predictor.js';
import type { ScheduleConfig } from '../scheduling/schedule.js';
import type { Clock } from './clock.js';
import { Intake } from './intake.js';
import { arrivedRecord, type RequestRecord } from './metrics.js';
import type { ServeResult, TimedCall } from './harness.js';
import type { ServeRequest } from '../workload/arrivals.js';

export interface StaticOptions {
  predictor: LengthPredictor;
  clock: Clock;
  schedule: ScheduleConfig;
  maxLength: number;
  /** most requests one group takes (paper: 256) */
  groupSize: number;
  onFinish?(r: RequestRecord): void;
}

export async function serveStatic(
  requests: ServeRequest[],
  engine: Engine,
  o: StaticOptions,
): Promise<ServeResult & { groups: BenchmarkResult[] }> {
  const { clock } = o;
  const intake = new Intake(requests, o.predictor, clock);
  const records = new Map<string, RequestRecord>();
  const queue: ServeRequest[] = [];
  const calls: TimedCall[] = [];
  const groups: BenchmarkResult[] = [];
  let done = 0;

  // the batch engine with a timeline: every batch's start, first tokens and end on the run's clock
  const timed: Engine = {
    name: engine.name,
    backend: engine.backend,
    generateBatch: async (items: BenchItem[], limit: number): Promise<BatchOutcome> => {
      const at = clock.now();
      const out = await engine.generateBatch(items, limit);
      clock.elapsed(out.seconds);
      const end = clock.now();
      const first = Math.min(end, at + (out.firstTokenSeconds ?? out.seconds / Math.max(1, out.decodeSteps)));
      calls.push({
        kind: 'batch',
        rows: items.length,
        context: Math.max(0, ...items.map((it) => it.promptTokens ?? 0)),
        steps: out.decodeSteps,
        seconds: out.seconds,
        at,
      });
      for (const it of items) {
        const rec = records.get(it.id)!;
        if (Number.isNaN(rec.admitted)) Object.assign(rec, { admitted: at, firstToken: first });
        rec.finish = end; // the last batch that holds a request (FCR's recomputation) gives its answer
      }
      return out;
    },
  };

  while (done < requests.length) {
    for (const r of intake.poll()) {
      queue.push(r);
      records.set(r.id, arrivedRecord(r));
    }
    if (queue.length === 0) {
      const next = intake.nextArrival();
      if (next === undefined)
        throw new Error(`static serving: ${requests.length - done} requests neither arrived nor finished`);
      clock.idleUntil(next);
      continue;
    }
    const group = queue.splice(0, o.groupSize);
    await intake.predict(group); // the group's schedule needs every prediction
    for (const g of group) records.get(g.id)!.predicted = intake.predicted.get(g.id)!;
    const replay: LengthPredictor = {
      name: 'seqsch',
      predict: async (items) => ({
        lengths: items.map((it) => intake.predicted.get(it.id)!),
        seconds: 0,
        charged: true,
      }),
    };
    const r = await runBenchmark(
      group.map((g) => g.item),
      timed,
      replay,
      { schedule: o.schedule, maxLength: o.maxLength, groupSize: group.length },
    );
    groups.push(r);
    r.items.forEach((it, k) => {
      const rec = records.get(group[k].id)!;
      Object.assign(rec, { numOutputTokens: it.numOutputTokens, length: it.length, finished: it.isFinished });
      done++;
      o.onFinish?.(rec);
    });
  }
  return {
    records: requests.map((r) => records.get(r.id)!),
    calls,
    predictorCalls: intake.calls,
    predictorSeconds: intake.predictorSeconds,
    groups,
  };
}
