/**
 * The length predictors that need no model, for both loops (the contract: src/core/predictor.ts). One name per
 * recorded length: `gt` is L_max, the max over the recorded lengths at temperatures 0.0/0.3/0.5/0.7 (the paper's
 * and upstream's gt); `oracle` is one recorded length, by default L_t0.0 — what greedy decoding produces, so a
 * serving oracle knows each answer exactly. `vanilla` predicts max_length for every query, `constant` one given
 * length; po/seqsch/proxy (and probe) can come from a predictions file (`[{ id, predicted }]`). The model-backed
 * predictors live in model-predictors.ts and, for the probe, engines/prompt-store.ts.
 */
import type { BenchItem } from '../core/query.js';
import type { LengthPredictor } from '../core/predictor.js';
import { readPredictions } from './predictions-file.js';
import type { StrategyName } from '../core/names.js';
import { LENGTH_KEYS } from '../data/conversation.js';

/** The same length for every query, at no cost. */
const fixed = (name: string, length: number): LengthPredictor => ({
  name,
  predict: async (items) => ({ lengths: items.map(() => length), seconds: 0, charged: true }),
});

/** vanilla: max_length for every query (the paper's baseline). */
export const vanillaPredictor = (maxLength: number): LengthPredictor => fixed('vanilla', maxLength);

/** One given length for every query. */
export function constantPredictor(length: number, name = 'constant'): LengthPredictor {
  if (!(length >= 0)) throw new Error(`a constant predictor needs a length ≥ 0, got ${length}`);
  return fixed(name, length);
}

/** gt: each query's L_max (upstream gt_dict: max over the recorded lengths at temperatures 0.0, 0.3, 0.5, 0.7). */
export const gtPredictor: LengthPredictor = {
  name: 'gt',
  predict: async (items) => ({
    lengths: items.map((it) => {
      const ls = LENGTH_KEYS.map((k) => it.realLengths?.[k]);
      if (ls.some((l) => l === undefined))
        throw new Error(`gt predictor: query ${it.id} lacks one of ${LENGTH_KEYS.join(', ')}`);
      return Math.max(...(ls as number[]));
    }),
    seconds: 0,
    charged: true,
  }),
};

/** L_max of a query, when its four recorded lengths are known (what gt predicts). */
export function recordedLMax(it: BenchItem): number | undefined {
  const ls = LENGTH_KEYS.map((k) => it.realLengths?.[k]);
  return ls.every((l) => typeof l === 'number') ? Math.max(...(ls as number[])) : undefined;
}

/** oracle: each query's recorded length under `key` (L_t0.0: the answer greedy decoding gives). */
export function oraclePredictor(key = 'L_t0.0'): LengthPredictor {
  return {
    name: 'oracle',
    predict: async (items) => ({
      lengths: items.map((it) => {
        const l = it.realLengths?.[key];
        if (typeof l !== 'number') throw new Error(`oracle predictor: query ${it.id} has no recorded length "${key}"`);
        return l;
      }),
      seconds: 0,
      charged: true,
    }),
  };
}

/**
 * Predictions from a file: a JSON array of `{ id, predicted }` (predicted may be fractional, as a PiA mean of two
 * numbers; the scheduler's buckit truncates like upstream's int()). Prediction seconds are 0 unless the file
 * records a total as `{ seconds, predictions: [...] }`, spread over queries by count; they are charged, not elapsed.
 */
export function filePredictor(name: string, path: string): LengthPredictor {
  const { entries, seconds: total } = readPredictions(path); // ids unique, lengths and seconds finite and ≥ 0
  const list = entries;
  const byId = new Map(entries.map((e) => [e.id, e.predicted]));
  return {
    name,
    predict: async (items) => ({
      lengths: items.map((it) => {
        const p = byId.get(it.id);
        if (p === undefined) throw new Error(`${path}: no prediction for query id ${it.id}`);
        return p;
      }),
      seconds: list.length ? (total * items.length) / list.length : 0,
      charged: true,
    }),
  };
}

/** The predictor a simulation needs for a strategy; po/seqsch/probe require a predictions file. */
export function simulationPredictor(
  strategy: StrategyName,
  maxLength: number,
  predictionsPath?: string,
): LengthPredictor {
  if (strategy === 'vanilla') return vanillaPredictor(maxLength);
  if (strategy === 'gt') return gtPredictor;
  if (!predictionsPath)
    throw new Error(`strategy ${strategy} needs a predictions file ([{ id, predicted }]) in simulation`);
  return filePredictor(strategy, predictionsPath);
}
