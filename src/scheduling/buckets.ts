/**
 * Length buckets and the VBS table (paper §4, upstream `buckit` and `len_bs_dict`): a predicted length is
 * rounded up to a multiple of the bucket cell, and each bucket gets a batch size — short answers in big
 * batches, long answers in small ones. Scheduling itself (sorting, cutting, merging tails) is in schedule.ts.
 */

/** Round a length up to the next multiple of `cell`; exact multiples stay (buckit(50) = 50, buckit(51) = 100, buckit(0) = 0). */
export function buckit(x: number, cell = 50): number {
  if (!(cell > 0) || !Number.isInteger(cell)) throw new Error(`bucket cell must be a positive integer, got ${cell}`);
  const v = Math.trunc(x); // upstream applies int(): a fractional PiA mean such as 12.5 becomes 12
  return v % cell === 0 ? v : (Math.floor(v / cell) + 1) * cell;
}

/**
 * Variable batch size table: bucket upper bound (tokens) → batch size. A bucket uses the entry of the
 * smallest key ≥ the bucket, and `fallback` above every key. With cell 50 and the paper's table this is
 * exactly upstream's lookup (buckets 50…300 are keys, every larger bucket gets 16; bucket 0, from a
 * prediction of 0, is no key and gets 16 too); with other cells the table reads as thresholds.
 */
export type VbsTable = Record<number, number>;

/** The paper's table (upstream `len_bs_dict`): batch size for buckets of 50 … 300 tokens, 16 beyond. */
export const PAPER_VBS_TABLE: VbsTable = { 50: 256, 100: 128, 150: 64, 200: 32, 250: 16, 300: 16 };
export const PAPER_VBS_FALLBACK = 16;

export function vbsBatchSize(bucket: number, table: VbsTable, fallback: number): number {
  if (bucket <= 0) return fallback;
  let best: number | undefined;
  for (const k of Object.keys(table)) {
    const key = Number(k);
    if (key >= bucket && (best === undefined || key < best)) best = key;
  }
  return best === undefined ? fallback : table[best];
}
