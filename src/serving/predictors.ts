/**
 * The length predictors of the serving harness: the one a configuration names (`servingPredictor`), how its time
 * is charged (measured, a cost model's perception, free, a linear fit), and the per-step refinement by a probe on
 * the serving model's hidden states (`withProbeRemaining`, as TRAIL). The contract is both loops' (src/core/
 * predictor.ts): a predicted total length per request when it arrives, and optionally a per-step remaining
 * estimate — without it, remaining = predicted − generated. The policies (policies/) read only the numbers.
 * `noisyOraclePredictor` degrades the oracle to a target Kendall τ for traces that carry token counts but no text.
 */
import seedrandom from 'seedrandom';
import type { BenchItem } from '../core/query.js';
import type { LengthPredictor } from '../core/predictor.js';
import type { CostModel } from '../cost/costmodel.js';
import { perceptionSeconds } from '../cost/perception-cost.js';
import {
  constantPredictor,
  filePredictor,
  gtPredictor,
  oraclePredictor,
  vanillaPredictor,
} from '../perception/predictor.js';
import { realPredictor } from '../perception/model-predictors.js';
import type { Llama } from '../model/llama.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { ServeConfig } from './config.js';
import { kendallTau } from './metrics.js';

/**
 * The configuration's predictor (null: none, FCFS reads no prediction), charged as `predictor_cost` says. seqsch and
 * po come from a predictions file, or (real engine) from the engine's loaded model: seqsch = its LoRA adapter, po = the
 * base model. The perception charge reads the simulator's cost model. With `oracle_tau` the oracle is degraded to
 * that Kendall τ on `workload` (the run's requests, which calibrate its noise: noisyOraclePredictor).
 */
export function servingPredictor(
  c: ServeConfig,
  engine: { loaded?: { model: Llama; tokenizer: Tokenizer }; costModel?: CostModel },
  workload?: BenchItem[],
): LengthPredictor | null {
  const named = (): LengthPredictor | null => {
    switch (c.predictor) {
      case 'none':
        return null;
      case 'vanilla':
        return vanillaPredictor(c.max_length);
      case 'constant':
        return constantPredictor(c.constant!);
      case 'oracle':
        if (c.oracle_tau === undefined) return oraclePredictor(c.oracle_key);
        if (!workload) throw new Error('serve: oracle_tau calibrates its noise on the workload: pass its requests');
        return noisyOraclePredictor(workload, { tau: c.oracle_tau, seed: c.seed, key: c.oracle_key });
      case 'gt':
        return gtPredictor;
      case 'proxy':
        return filePredictor('proxy', c.predictions!);
      case 'seqsch':
      case 'po':
        if (c.predictions) return filePredictor(c.predictor, c.predictions);
        return realPredictor(c.predictor, engine.loaded!, { maxLength: c.max_length });
    }
  };
  const p = named();
  if (!p) return null;
  if (c.predictor_cost === 'free') return withCost(p, () => 0);
  if (c.predictor_cost === 'linear') return withCost(p, linearCost(c.predictor_call_s, c.predictor_item_s));
  if (c.predictor_cost === 'perception') {
    const strategy = c.predictor === 'po' ? 'po' : 'seqsch';
    const asked = {
      strategy,
      batch: c.predict_batch,
      steps: c.predict_tokens,
      defaultPromptTokens: c.default_prompt_tokens,
    } as const;
    return withCost(p, perceptionCost(engine.costModel!, asked));
  }
  return p;
}

/**
 * The same predictions, charged by a model of what they cost instead: `cost(items)` seconds per call (e.g. the
 * LLM's own length prediction under a GPU cost model, perceptionCost).
 */
export function withCost(p: LengthPredictor, cost: (items: BenchItem[]) => number, name = p.name): LengthPredictor {
  return {
    name,
    predict: async (items) => ({ lengths: (await p.predict(items)).lengths, seconds: cost(items), charged: true }),
    remaining: p.remaining,
  };
}

/** Seconds of the serving LLM answering the length prompt for these items under a cost model (self-perception). */
export function perceptionCost(
  cm: CostModel,
  o: { strategy: 'seqsch' | 'po'; batch: number; steps: number; defaultPromptTokens: number },
) {
  return (items: BenchItem[]) =>
    perceptionSeconds(
      cm,
      items.map((it) => it.promptTokens ?? o.defaultPromptTokens),
      o,
    );
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
export function withProbeRemaining(
  base: LengthPredictor,
  probe: RemainingHead,
  states: (ids: string[]) => Float32Array,
  o: { every?: number; name?: string } = {},
): LengthPredictor {
  const every = o.every ?? 1;
  if (!(Number.isInteger(every) && every >= 1))
    throw new Error(`probe refinement interval must be an integer ≥ 1 (decode steps), got ${every}`);
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

/** A standard normal draw fixed by (seed, request id): the same request gets the same noise in every run and batch. */
function requestNormal(seed: number, id: string): number {
  const rng = seedrandom(`noisy-oracle:${seed}:${id}`);
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** What the noisy oracle settled on: its noise scale and the τ it reaches on the workload. */
export interface NoisyOracleFit {
  sigma: number;
  tau: number;
}

/**
 * The oracle degraded to a target Kendall τ, for traces with token counts but no text (nothing to run a real
 * predictor on). Noise model: multiplicative log-normal, predicted_i = true_i · exp(σ · z_i), z_i ~ N(0, 1) drawn
 * from a generator seeded by (seed, request id) — so a request's noise does not depend on the order or batches it is
 * predicted in. σ is found by bisection on the whole workload (true = the recorded length under `key`) so that τ_b
 * between predicted and true lengths is the target within ±0.01; the fit (σ, achieved τ) is on `fit`. Log-normal
 * noise keeps predictions positive and makes the error a ratio, as length predictors' errors are (a 2× miss on a
 * 1,000-token answer matters as a 2× miss on a 10-token one). τ over the whole workload is not τ over the subset a
 * run predicts under contention: serve records carry the latter (metrics.ts, prediction_kendall_tau).
 */
export function noisyOraclePredictor(
  workload: BenchItem[],
  o: { tau: number; seed: number; key?: string },
): LengthPredictor & { fit: NoisyOracleFit } {
  const key = o.key ?? 'L_t0.0';
  if (!(o.tau > 0 && o.tau < 1)) throw new Error(`oracle_tau: expected a Kendall τ in (0, 1), got ${o.tau}`);
  const truth = (it: BenchItem) => {
    const l = it.realLengths?.[key];
    if (typeof l !== 'number') throw new Error(`noisy oracle: query ${it.id} has no recorded length "${key}"`);
    return l;
  };
  const trueLengths = workload.map(truth);
  const z = workload.map((it) => requestNormal(o.seed, it.id));
  const tauAt = (sigma: number) =>
    kendallTau(
      trueLengths,
      trueLengths.map((l, i) => l * Math.exp(sigma * z[i])),
    );
  if (!(tauAt(0) > o.tau))
    throw new Error(`oracle_tau ${o.tau}: the workload's true lengths reach no τ above it (τ at σ = 0: ${tauAt(0)})`);
  // τ falls as σ grows (the noise swamps the ranks); bracket the target, then bisect
  let [lo, hi] = [0, 1];
  while (tauAt(hi) > o.tau) {
    lo = hi;
    hi *= 2;
    if (hi > 1e6) throw new Error(`oracle_tau ${o.tau}: no noise scale brings τ down to it on this workload`);
  }
  // stop once within 0.001 of the target (10× inside the tolerance) or the bracket stops shrinking
  for (let it = 0; it < 60 && hi - lo > 1e-9 * hi; it++) {
    const mid = (lo + hi) / 2;
    const t = tauAt(mid);
    if (Math.abs(t - o.tau) < 0.001) [lo, hi] = [mid, mid];
    else if (t > o.tau) lo = mid;
    else hi = mid;
  }
  const sigma = Math.abs(tauAt(lo) - o.tau) <= Math.abs(tauAt(hi) - o.tau) ? lo : hi;
  const fit = { sigma, tau: tauAt(sigma) };
  if (!(Math.abs(fit.tau - o.tau) <= 0.01))
    throw new Error(
      `oracle_tau ${o.tau}: the closest τ reached on ${workload.length} requests is ${fit.tau.toFixed(4)} (σ ${sigma}); too few distinct lengths`,
    );
  const noise = new Map(workload.map((it, i) => [it.id, Math.exp(sigma * z[i])]));
  return {
    name: `oracle~tau${o.tau}`,
    fit,
    predict: async (items) => ({
      lengths: items.map((it) => {
        const f = noise.get(it.id) ?? Math.exp(sigma * requestNormal(o.seed, it.id));
        return truth(it) * f;
      }),
      seconds: 0,
      charged: true,
    }),
  };
}
