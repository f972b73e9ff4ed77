/**
 * The length predictors of the serving harness: the one a configuration names (`servingPredictor`), how its time
 * is charged (measured, a cost model's perception, free, a linear fit), and the per-step refinement by a probe on
 * the serving model's hidden states (`withProbeRemaining`, as TRAIL). The contract is both loops' (src/core/
 * predictor.ts): a predicted total length per request when it arrives, and optionally a per-step remaining
 * estimate — without it, remaining = predicted − generated. The policies (policies/) read only the numbers.
 */
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

/**
 * The configuration's predictor (null: none, FCFS reads no prediction), charged as `predictor_cost` says. seqsch and
 * po come from a predictions file, or (real engine) from the engine's loaded model: seqsch = its LoRA adapter, po = the
 * base model. The perception charge reads the simulator's cost model.
 */
export function servingPredictor(
  c: ServeConfig,
  engine: { loaded?: { model: Llama; tokenizer: Tokenizer }; costModel?: CostModel },
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
        return oraclePredictor(c.oracle_key);
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
