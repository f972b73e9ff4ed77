/**
 * Length predictors as the serving harness uses them. One interface takes both kinds of estimate the
 * scheduling literature uses: a predicted total length per request when it arrives (`predict`; this paper's
 * LoRA self-perception, a proxy model's predictions file, the oracle, a constant), and optionally a
 * per-step estimate of a running request's remaining length (`remaining`; a probe on the serving model's
 * hidden states, as TRAIL) — without it, remaining = predicted − generated. Every call reports its seconds;
 * `charged` says they did not pass in this process (a file's or a cost model's figure), so the harness adds
 * them to its clock. The policies (policies/) read only the numbers.
 */
import type { BenchItem } from '../core/query.js';
import type { CostModel } from '../cost/costmodel.js';
import { filePredictor, gtPredictor, type LengthPredictor } from '../perception/predictor.js';
import { perceptionSeconds } from '../cost/perception-cost.js';

export interface Prediction {
  /** predicted response length per item (tokens: the answer + EOS, as the recorded lengths count) */
  lengths: number[];
  seconds: number;
  /** the seconds did not elapse here (read from a file or charged by a cost model): the clock adds them */
  charged: boolean;
}

/** A running request, as a per-step remaining-length estimator sees it. */
export interface RunningQuery {
  id: string;
  item: BenchItem;
  /** tokens generated so far (EOS included once emitted) */
  generated: number;
  /** the predicted total made at arrival */
  predicted: number;
}

export interface ServingPredictor {
  readonly name: string;
  predict(items: BenchItem[]): Promise<Prediction>;
  /** optional: tokens each running request still needs, re-estimated after a decode step */
  remaining?(rows: RunningQuery[]): Promise<{ remaining: number[]; seconds: number; charged: boolean }>;
}

/** No prediction (FCFS needs none): zeros, no time. */
export const noPredictor: ServingPredictor = {
  name: 'none',
  predict: async (items) => ({ lengths: items.map(() => 0), seconds: 0, charged: true }),
};

/** The same length for every request (vanilla: the max length). */
export function constantPredictor(length: number, name = 'constant'): ServingPredictor {
  if (!(length >= 0)) throw new Error(`a constant predictor needs a length ≥ 0, got ${length}`);
  return { name, predict: async (items) => ({ lengths: items.map(() => length), seconds: 0, charged: true }) };
}

/** The oracle: each request's recorded length under `key` (L_t0.0: what greedy decoding produces). */
export function oraclePredictor(key = 'L_t0.0'): ServingPredictor {
  return {
    name: 'gt',
    predict: async (items) => ({
      lengths: items.map((it) => {
        const l = it.realLengths?.[key];
        if (typeof l !== 'number') throw new Error(`gt predictor: query ${it.id} has no recorded length "${key}"`);
        return l;
      }),
      seconds: 0,
      charged: true,
    }),
  };
}

/**
 * A batch-benchmark predictor (src/perception/predictor.ts) for serving: `elapsed` when it runs a model in this
 * process (its seconds are wall time that already passed), else its seconds are charged.
 */
export function fromLengthPredictor(p: LengthPredictor, maxLength: number, elapsed: boolean, name: string = p.name): ServingPredictor {
  return {
    name,
    predict: async (items) => {
      const r = await p.predict(items, maxLength);
      return { lengths: r.lengths, seconds: r.seconds, charged: !elapsed };
    },
  };
}

/** L_max (max over the four temperatures' recorded lengths): the paper's `gt`. */
export const lmaxPredictor = (maxLength: number) => fromLengthPredictor(gtPredictor, maxLength, false, 'lmax');

/** Predictions read from a file ([{ id, predicted }] or { seconds, predictions }), charged the file's seconds. */
export function predictionsFile(name: string, path: string, maxLength: number): ServingPredictor {
  return fromLengthPredictor(filePredictor('seqsch', path), maxLength, false, name);
}

/**
 * The same predictions, charged by a model of what they cost instead: `cost(items)` seconds per call (e.g. the
 * LLM's own length prediction under a GPU cost model, perceptionCost).
 */
export function withCost(p: ServingPredictor, cost: (items: BenchItem[]) => number, name = p.name): ServingPredictor {
  return {
    name,
    predict: async (items) => ({ lengths: (await p.predict(items)).lengths, seconds: cost(items), charged: true }),
    remaining: p.remaining,
  };
}

/** Seconds of the serving LLM answering the length prompt for these items under a cost model (self-perception). */
export function perceptionCost(cm: CostModel, o: { strategy: 'seqsch' | 'po'; batch: number; steps: number; defaultPromptTokens: number }) {
  return (items: BenchItem[]) => perceptionSeconds(cm, items.map((it) => it.promptTokens ?? o.defaultPromptTokens), o);
}

/** Seconds = base + perItem·n per call (a fit of measured prediction calls). */
export function linearCost(base: number, perItem: number) {
  return (items: BenchItem[]) => (items.length ? base + perItem * items.length : 0);
}

/** What the per-step remaining-length estimate needs of a length probe (src/perception/probe.ts's LengthProbe). */
export interface RemainingHead {
  /** predicted decode steps left (EOS included) from each row's state at the position fed last: (n · d) floats */
  remainingTokens(hidden: Float32Array): number[];
}

/**
 * `base`'s arrival predictions, refined during decoding by a probe on the serving model's hidden states (TRAIL):
 * `states(ids)` hands the state each request's row kept from the engine's last forward (TfjsStepEngine.hiddenStates).
 * The probe's remaining head was trained on the state at the position fed last, t tokens into the answer, with the
 * target "tokens still to emit from there" — the token that forward emitted included — so after the call the
 * request has (estimate − 1) left, i.e. it ends at generated + estimate − 1. A request's estimate is the mean of
 * these predicted end positions over its refinements so far (a single noisy estimate per step would reorder similar
 * requests back and forth; the 1–20 preemptions per request first seen here were the starvation guard's, fixed in
 * policies/aging.ts, not the estimates'), refined once every
 * `every` generated tokens (the head's cost per call is not small beside a decode step of a tiny model). Its seconds
 * are the head's wall time (elapsed here).
 */
export function withProbeRemaining(base: ServingPredictor, probe: RemainingHead, states: (ids: string[]) => Float32Array, o: { every?: number; name?: string } = {}): ServingPredictor {
  const every = o.every ?? 1;
  if (!(Number.isInteger(every) && every >= 1)) throw new Error(`probe refinement interval must be an integer ≥ 1 (decode steps), got ${every}`);
  /** per request: Σ predicted end positions, their count, and the generated count at the last refinement */
  const ends = new Map<string, { sum: number; n: number; at: number }>();
  return {
    name: o.name ?? `${base.name}+probe`,
    predict: (items) => base.predict(items),
    remaining: async (rows) => {
      const t0 = performance.now();
      // a paused row's state has not moved since its last refinement: only rows with new tokens are asked
      const due = rows.filter((r) => {
        const e = ends.get(r.id);
        return !e || r.generated - e.at >= every;
      });
      if (due.length) {
        const est = probe.remainingTokens(states(due.map((r) => r.id)));
        due.forEach((r, i) => {
          const e = ends.get(r.id) ?? { sum: 0, n: 0, at: 0 };
          ends.set(r.id, { sum: e.sum + r.generated + est[i] - 1, n: e.n + 1, at: r.generated });
        });
      }
      const remaining = rows.map((r) => {
        const e = ends.get(r.id)!;
        return Math.max(0, e.sum / e.n - r.generated);
      });
      return { remaining, seconds: (performance.now() - t0) / 1000, charged: false };
    },
  };
}
