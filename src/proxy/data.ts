/**
 * The proxy predictor's data: Alpaca queries with their target L_max (max over the four recorded temperatures),
 * the seeded split of TRAIN into a fitting part and a held-out part for model selection, and the leakage guard
 * that drops from training every query whose id or instruction text is in an excluded set (the validation
 * split). Validation data is only ever read here to be excluded; evaluation reads it in ./evaluate.ts.
 */
import seedrandom from 'seedrandom';
import { firstTurn, lMax, loadConversations, loadLengths } from '../data/conversation.js';
import { sampleIndices } from '../workload/sample.js';
import { queryParts } from './query.js';

export interface LabeledQuery {
  id: string;
  /** the first human turn, template included */
  text: string;
  /** L_max; undefined when no lengths file was given */
  target?: number;
  /** L_t0.0 (one greedy sample: what the ranking metrics read); undefined without a lengths file */
  lT0?: number;
}

export interface LoadQueriesOptions {
  /** recorded lengths: attach L_max (every query must have one) */
  lengths?: string;
  /** only this many queries: the first N in file order, or the simulator's sample when sampleSeed is given */
  numData?: number;
  /** sample numData queries with numpy's permutation, as `seqsch simulate --num-data N --seed S` does */
  sampleSeed?: number;
}

/** Queries of a conversations file, optionally with L_max and a subset (first N or the simulator's sample). */
export function loadQueries(dataPath: string, o: LoadQueriesOptions = {}): LabeledQuery[] {
  const convs = loadConversations(dataPath);
  const lengths = o.lengths ? new Map(loadLengths(o.lengths).map((r) => [r.id, r])) : undefined;
  const n = o.numData ?? convs.length;
  if (!(Number.isInteger(n) && n >= 1 && n <= convs.length))
    throw new Error(`--num-data ${o.numData}: ${dataPath} has ${convs.length} queries`);
  const picked =
    o.sampleSeed === undefined ? convs.slice(0, n) : sampleIndices(convs.length, n, o.sampleSeed).map((k) => convs[k]);
  return picked.map((c) => {
    const rec = lengths?.get(c.id);
    if (lengths && rec === undefined)
      throw new Error(`${o.lengths}: no recorded lengths for query id ${c.id} (of ${dataPath})`);
    return { id: c.id, text: firstTurn(c, 'human'), ...(rec ? { target: lMax(rec), lT0: rec['L_t0.0'] } : {}) };
  });
}

/** The instruction text compared for leakage: case and whitespace folded. */
export function instructionKey(text: string): string {
  return queryParts(text).instruction.toLowerCase().replace(/\s+/g, ' ').trim();
}

/** The leakage rule every trainer applies: whether a query shares an id or an instruction text with `excluded`. */
export function leaksInto(excluded: { id: string; text: string }[]): (q: { id: string; text: string }) => boolean {
  const ids = new Set(excluded.map((q) => q.id));
  const texts = new Set(excluded.map((q) => instructionKey(q.text)));
  return (q) => ids.has(q.id) || texts.has(instructionKey(q.text));
}

/** Drop queries that share an id or an instruction text with `excluded`; returns the kept ones and the count dropped. */
export function excludeLeaks(
  queries: LabeledQuery[],
  excluded: { id: string; text: string }[],
): { kept: LabeledQuery[]; dropped: number } {
  const leaks = leaksInto(excluded);
  const kept = queries.filter((q) => !leaks(q));
  return { kept, dropped: queries.length - kept.length };
}

/** Seeded split of the training queries: `holdout` fraction held out for model selection. */
export function splitHoldout<T>(items: T[], holdout: number, seed: number): { fit: T[]; held: T[] } {
  if (!(holdout >= 0 && holdout < 1)) throw new Error(`holdout must be in [0, 1), got ${holdout}`);
  const rng = seedrandom(`seqsch-proxy-split/${seed}`);
  const order = items.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nHeld = Math.round(items.length * holdout);
  return { held: order.slice(0, nHeld).map((i) => items[i]), fit: order.slice(nHeld).map((i) => items[i]) };
}
