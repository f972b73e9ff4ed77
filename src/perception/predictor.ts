/**
 * Length predictors, the four strategies of the benchmark (upstream `Predictor`): `vanilla` predicts
 * max_length for every query, `gt` the max over temperatures 0.0/0.3/0.5/0.7 of the recorded lengths, and
 * `po` / `seqsch` come from a model. Here po/seqsch read predictions from a file (`[{ id, predicted }]`);
 * model-backed predictors implement the same interface elsewhere (model-predictors.ts; the probe: prompt-store.ts). Prediction time counts in the benchmark's
 * measured time, as upstream.
 */
import type { BenchItem } from '../core/query.js';
import { readJson } from '../util/fs.js';
import type { StrategyName } from '../core/names.js';
import { LENGTH_KEYS } from '../data/conversation.js';

/** The paper's four, and `probe`: the hidden-state length probe read from the generation prefill (prompt-store.ts). */

export interface LengthPredictor {
  name: StrategyName;
  /**
   * One predicted response length (tokens) per item, and the seconds the prediction took; `prefillSeconds` is the
   * part of them spent on a prompt prefill that generation then reuses instead of running its own (the probe's).
   */
  predict(items: BenchItem[], maxLength: number): Promise<{ lengths: number[]; seconds: number; prefillSeconds?: number }>;
}

export const vanillaPredictor: LengthPredictor = {
  name: 'vanilla',
  predict: async (items, maxLength) => ({ lengths: items.map(() => maxLength), seconds: 0 }),
};

export const gtPredictor: LengthPredictor = {
  name: 'gt',
  predict: async (items) => ({
    lengths: items.map((it) => {
      // upstream gt_dict: max over the recorded lengths at temperatures 0.0, 0.3, 0.5, 0.7 (L_max)
      const ls = LENGTH_KEYS.map((k) => it.realLengths?.[k]);
      if (ls.some((l) => l === undefined)) throw new Error(`gt predictor: query ${it.id} lacks one of ${LENGTH_KEYS.join(', ')}`);
      return Math.max(...(ls as number[]));
    }),
    seconds: 0,
  }),
};

/**
 * po/seqsch from a predictions file: a JSON array of `{ id, predicted }` (predicted may be fractional, as a
 * PiA mean of two numbers; the scheduler's buckit truncates like upstream's int()). Prediction seconds are 0
 * unless the file records a total as `{ seconds, predictions: [...] }`, spread over queries by count.
 */
export function filePredictor(name: 'po' | 'seqsch' | 'probe', path: string): LengthPredictor {
  const raw = readJson<unknown>(path);
  const list = Array.isArray(raw) ? raw : (raw as { predictions?: unknown }).predictions;
  const total = Array.isArray(raw) ? 0 : Number((raw as { seconds?: number }).seconds ?? 0);
  if (!Array.isArray(list)) throw new Error(`${path}: expected [{ id, predicted }, …] or { seconds, predictions: [...] }`);
  const byId = new Map<string, number>();
  for (const [i, e] of list.entries()) {
    const rec = e as { id?: unknown; predicted?: unknown };
    if (rec.id === undefined || typeof rec.predicted !== 'number' || !Number.isFinite(rec.predicted)) {
      throw new Error(`${path}: entry ${i} needs id and a numeric predicted`);
    }
    byId.set(String(rec.id), rec.predicted);
  }
  return {
    name,
    predict: async (items) => ({
      lengths: items.map((it) => {
        const p = byId.get(it.id);
        if (p === undefined) throw new Error(`${path}: no prediction for query id ${it.id}`);
        return p;
      }),
      seconds: list.length ? (total * items.length) / list.length : 0,
    }),
  };
}

/** The predictor a simulation needs for a strategy; po/seqsch require a predictions file. */
export function simulationPredictor(strategy: StrategyName, predictionsPath?: string): LengthPredictor {
  if (strategy === 'vanilla') return vanillaPredictor;
  if (strategy === 'gt') return gtPredictor;
  if (!predictionsPath) throw new Error(`strategy ${strategy} needs a predictions file ([{ id, predicted }]) in simulation`);
  return filePredictor(strategy, predictionsPath);
}
