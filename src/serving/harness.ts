/**
 * The continuous-batching serving loop, one copy for both step engines. Each iteration: take the requests that
 * have arrived (predicted on arrival, intake.ts), ask the policy for an order and let plan.ts turn it into
 * admissions, preemptions and resumptions within the engine's slots and KV budget; prefill the admitted in a
 * forward of their own; run one decode step for every running row; evict what finished. When nothing can run
 * the clock jumps to the next arrival. It records every request's timeline (metrics.ts) and every engine call
 * (for calibration). It knows neither how tokens are generated nor how time is measured.
 */
import type { Clock } from './clock.js';
import type { EngineCall, PredictorCall } from '../cost/calls.js';
import type { CallOutcome, StepEngine, StepRequest } from '../engines/step.js';
import { Intake } from './intake.js';
import { arrivedRecord, type KvUse, type RequestRecord, type SchedulerTime } from './metrics.js';
import { plan, type EngineLimits, type Plan } from './policies/plan.js';
import type { Policy, QueueEntry } from './policies/policy.js';
import type { LengthPredictor } from '../core/predictor.js';
import type { ServeRequest } from '../workload/arrivals.js';

/** A batch of the static pipeline: rows, padded prompt width, decode steps (the prefill included). */
export interface BatchCall {
  kind: 'batch';
  rows: number;
  context: number;
  steps: number;
  seconds: number;
}

/** An engine call with the clock time it started. */
export type TimedCall = (EngineCall | BatchCall) & { at: number };

export interface ServeResult {
  records: RequestRecord[];
  calls: TimedCall[];
  predictorCalls: PredictorCall[];
  predictorSeconds: number;
  /** paged-memory engines: the most KV in use and the pool's size */
  kv?: KvUse;
  /**
   * the scheduler's own time: wall seconds of the loop outside engine and predictor calls (policy, plan,
   * bookkeeping) and the iterations it ran. Server time on the real engine; on the simulator real CPU time that
   * the simulated clock does not charge.
   */
  scheduler?: SchedulerTime;
}

export interface ContinuousOptions<R extends StepRequest> {
  policy: Policy;
  /** null: no prediction (the policy reads none) */
  predictor: LengthPredictor | null;
  /** predict every request on arrival, or only once requests compete for slots (default) */
  predictOn?: 'arrival' | 'contention';
  clock: Clock;
  /** the engine's request for a workload request (prompt ids, capped new tokens, recorded length) */
  toEngine(r: ServeRequest): R;
  /** called once per finished request */
  onFinish?(r: RequestRecord): void;
}

const NO_PLAN: Plan = { admit: [], preempt: [], resume: [] };

/** The engine's limits as plan.ts reads them. */
function limits<R extends StepRequest>(engine: StepEngine<R>, byId: Map<string, R>): EngineLimits {
  return {
    maxBatch: engine.maxBatch,
    cacheRows: engine.maxBatch + engine.pausedRows,
    kvBudget: engine.kvBudget,
    kvReserved: engine.kvReserved(),
    reservation: (id) => engine.reservation(byId.get(id)!),
    tokenBudget: engine.admissionBudget?.(),
    tokenCost: engine.admissionCost ? (id) => engine.admissionCost!(byId.get(id)!) : undefined,
    partialPrefill: engine.partialPrefill,
    paddedPrefill: engine.paddedPrefill,
  };
}

export async function serveContinuous<R extends StepRequest>(
  requests: ServeRequest[],
  engine: StepEngine<R>,
  o: ContinuousOptions<R>,
): Promise<ServeResult> {
  const { clock } = o;
  // every request's engine form up front, so a request that can never fit is refused before anything runs
  const engineReq = new Map(requests.map((r) => [r.id, o.toEngine(r)]));
  if (engine.kvBudget !== null) {
    for (const r of requests) {
      const need = engine.reservation(engineReq.get(r.id)!);
      if (need > engine.kvBudget) {
        throw new Error(
          `request ${r.id} needs ${need} KV tokens (prompt ${engineReq.get(r.id)!.promptTokens} + up to ${engineReq.get(r.id)!.maxNewTokens} new), more than the KV budget of ${engine.kvBudget}`,
        );
      }
    }
  }
  const byId = new Map(requests.map((r) => [r.id, r]));
  const intake = new Intake(requests, o.predictor, clock);
  const entries = new Map<string, QueueEntry>(); // arrived and not finished
  const records = new Map<string, RequestRecord>();
  const calls: TimedCall[] = [];
  let steps = 0; // decode steps so far
  let done = 0;

  let outsideLoop = 0; // wall seconds of engine and predictor calls (not the scheduler's)
  const timed = async <T>(f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      outsideLoop += (performance.now() - t0) / 1000;
    }
  };
  const call = async (f: () => Promise<CallOutcome>) => {
    const at = clock.now();
    const out = await timed(f);
    if (out.call) {
      clock.elapsed(out.call.seconds);
      calls.push(Object.assign(out.call, { at })); // the engine's fresh object, stamped (no copy per iteration)
    }
    return { out, at, end: clock.now() };
  };
  const settle = (out: CallOutcome, end: number) => {
    for (const u of out.updates) {
      const e = entries.get(u.id)!;
      const rec = records.get(u.id)!;
      e.generated = u.generated;
      e.remaining = Math.max(0, e.predicted - u.generated); // NaN while not predicted
      if (u.generated >= 1 && Number.isNaN(rec.firstToken)) rec.firstToken = end;
      if (u.recomputed) {
        // the engine ran out of KV blocks and took it out: it waits again, its tokens kept
        setState(e, 'waiting');
        rec.preemptions++;
        rec.recomputes++;
        continue;
      }
      if (!u.finished) continue;
      rec.finish = end;
      rec.finished = u.eos;
      rec.length = u.generated + 1;
      // the recorded-length convention (the answer + EOS; a cut row: its tokens + BOS); the real engine replaces it
      // with upstream's re-tokenized count after the run (run.ts), outside the timed loop
      rec.numOutputTokens = u.eos ? u.generated : u.generated + 1;
      engine.evict(u.id);
      setState(e, 'running'); // (it was; keeps the count right if an engine finishes a paused row)
      entries.delete(u.id);
      done++;
      o.onFinish?.(rec);
    }
  };

  /** Predict these entries (one call) and set their predicted and remaining lengths. */
  const predict = async (es: QueueEntry[]) => {
    await timed(() => intake.predict(es.map((e) => byId.get(e.id)!)));
    for (const e of es) {
      e.predicted = intake.predicted.get(e.id) ?? 0;
      e.remaining = Math.max(0, e.predicted - e.generated);
      records.get(e.id)!.predicted = e.predicted;
    }
  };

  /** Whether the waiting ones of `es` fit the KV budget beside what is reserved. */
  const kvFits = (es: QueueEntry[]) => {
    if (engine.kvBudget === null) return true;
    let kv = engine.kvReserved();
    for (const e of es) if (e.state === 'waiting') kv += engine.reservation(engineReq.get(e.id)!);
    return kv <= engine.kvBudget;
  };

  /** entries not running (waiting or paused): while there are none, no decision can change anything */
  let outside = 0;
  const setState = (e: QueueEntry, s: QueueEntry['state']) => {
    outside += (s !== 'running' ? 1 : 0) - (e.state !== 'running' ? 1 : 0);
    e.state = s;
  };

  const loopStart = performance.now();
  let iterations = 0;
  while (done < requests.length) {
    iterations++;
    const arrived = intake.poll();
    for (const r of arrived) {
      // not predicted yet: NaN until the predictor is asked
      entries.set(r.id, {
        id: r.id,
        index: r.index,
        arrival: r.arrival,
        waited: 0,
        state: 'waiting',
        predicted: NaN,
        generated: 0,
        remaining: NaN,
        promptTokens: engineReq.get(r.id)!.promptTokens,
      });
      records.set(r.id, arrivedRecord(r));
      outside++;
    }
    if (o.predictor && o.policy.readsPrediction && (o.predictOn ?? 'contention') === 'arrival')
      await predict(arrived.map((r) => entries.get(r.id)!));
    if (entries.size === 0) {
      const next = intake.nextArrival();
      if (next === undefined)
        throw new Error(`serving loop: ${requests.length - done} requests neither arrived nor finished`);
      clock.idleUntil(next);
      continue;
    }

    // with every request running there is nothing to order, admit, pause or resume (the common case of a loaded
    // server between two arrivals): skip the policy
    const p = outside === 0 ? NO_PLAN : await decide();
    for (const id of p.preempt) {
      engine.preempt(id);
      setState(entries.get(id)!, 'paused');
      records.get(id)!.preemptions++;
    }
    for (const id of p.resume) {
      engine.resume(id);
      setState(entries.get(id)!, 'running');
    }
    if (p.admit.length) {
      const { out, at, end } = await call(() => engine.admit(p.admit.map((id) => engineReq.get(id)!)));
      for (const id of p.admit) {
        setState(entries.get(id)!, 'running');
        const rec = records.get(id)!;
        if (Number.isNaN(rec.admitted)) rec.admitted = at; // the first admission (a recomputed request comes back)
      }
      settle(out, end);
      // vLLM V0: an iteration is either a prefill or a decode step, prefills first
      if (engine.batching === 'prefill-first') continue;
    }
    if (engine.freeSlots() < engine.maxBatch) {
      const { out, end } = await call(() => engine.step());
      steps++;
      for (const e of entries.values()) e.waited++; // decode steps since arrival: the step guard's clock
      settle(out, end);
      if (o.predictor?.remaining) {
        const rows = [...entries.values()].filter((e) => e.state !== 'waiting');
        const est = await timed(() =>
          o.predictor!.remaining!(
            rows.map((e) => ({ id: e.id, item: byId.get(e.id)!.item, generated: e.generated, predicted: e.predicted })),
          ),
        );
        if (est.charged) clock.charge(est.seconds);
        intake.predictorSeconds += est.seconds;
        rows.forEach((e, i) => (e.remaining = est.remaining[i]));
      }
    } else if (!p.admit.length) {
      // nothing runs and nothing could be admitted: only a later arrival changes that
      const next = intake.nextArrival();
      if (next === undefined)
        throw new Error(
          `serving loop: ${entries.size} requests wait but none can be admitted (free slots ${engine.freeSlots()}, KV budget ${engine.kvBudget ?? '∞'})`,
        );
      clock.idleUntil(next);
    }
  }
  return {
    records: requests.map((r) => records.get(r.id)!),
    calls,
    predictorCalls: intake.calls,
    predictorSeconds: intake.predictorSeconds,
    scheduler: { seconds: (performance.now() - loopStart) / 1000 - outsideLoop, iterations },
    kv: engine.kvPeak
      ? {
          peakTokens: engine.kvPeak(),
          capacityTokens: engine.kvCapacity ?? NaN,
          reusedTokens: engine.reusedTokens?.() ?? 0,
        }
      : undefined,
  };

  /** Predict where the order matters, then the policy's plan for this iteration. */
  async function decide(): Promise<Plan> {
    // what a prefix cache holds changes as requests finish: refresh the waiting requests' cached prompt tokens
    if (engine.cachedTokens)
      for (const e of entries.values())
        if (e.state === 'waiting') e.cachedTokens = engine.cachedTokens(engineReq.get(e.id)!);
    if (o.predictor && o.policy.readsPrediction) {
      // the order matters only when the waiting requests do not all fit: more compete than there are slots for
      // them, or their KV reservations exceed what is free
      const competing = [...entries.values()].filter((e) => e.state !== 'running' || o.policy.preemptible(e));
      const slots = engine.maxBatch - (entries.size - competing.length); // less the running rows that keep theirs
      if (competing.length > slots || !kvFits(competing))
        await predict(competing.filter((e) => Number.isNaN(e.predicted)));
    }
    return plan(o.policy, [...entries.values()], clock.now(), limits(engine, engineReq));
  }
}
