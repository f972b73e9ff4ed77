/**
 * Reading a predictions file: `[{ id, predicted, … }]`, or `{ seconds, predictions: [...] }` when the predictor
 * recorded what it cost. Every entry needs an id (string or number, read as a string) and a finite predicted
 * length ≥ 0 (fractional allowed: a PiA mean of two numbers); ids are unique; `seconds`, when present, is a
 * finite number ≥ 0. Each refusal names the file and the entry's index and id. Using the predictions (a
 * scheduler's predictor, a score) is predictor.ts's and pipeline.ts's job.
 */
import { readJson } from '../util/fs.js';

export interface PredictionsFile {
  /** the entries in file order, ids as strings */
  entries: { id: string; predicted: number }[];
  /** the predictor's recorded cost (s), 0 when the file records none */
  seconds: number;
}

export function readPredictions(path: string): PredictionsFile {
  const raw = readJson<unknown>(path);
  const wrapped = !Array.isArray(raw) && raw !== null && typeof raw === 'object';
  const list = Array.isArray(raw) ? raw : wrapped ? (raw as { predictions?: unknown }).predictions : undefined;
  if (!Array.isArray(list))
    throw new Error(`${path}: expected [{ id, predicted }, …] or { seconds, predictions: [...] }`);
  let seconds = 0;
  if (wrapped && (raw as { seconds?: unknown }).seconds !== undefined) {
    const s = (raw as { seconds?: unknown }).seconds;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0)
      throw new Error(
        `${path}: "seconds" must be a finite number ≥ 0 (the predictor's cost), got ${JSON.stringify(s)}`,
      );
    seconds = s;
  }
  const first = new Map<string, number>();
  const entries = list.map((e: unknown, i) => {
    const rec = (e ?? {}) as { id?: unknown; predicted?: unknown };
    if (typeof rec.id !== 'string' && typeof rec.id !== 'number')
      throw new Error(`${path}: entry ${i} has no id (got ${JSON.stringify(rec.id)})`);
    const id = String(rec.id);
    const p = rec.predicted;
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0)
      throw new Error(
        `${path}: entry ${i} (id ${id}): "predicted" must be a finite length ≥ 0, got ${JSON.stringify(p) ?? String(p)}`,
      );
    const j = first.get(id);
    if (j !== undefined) throw new Error(`${path}: id ${JSON.stringify(id)} appears twice (entries ${j} and ${i})`);
    first.set(id, i);
    return { id, predicted: p };
  });
  return { entries, seconds };
}
