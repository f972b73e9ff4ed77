/**
 * Sequence scheduling (paper §4, upstream `schedule`): order a group's queries by predicted length and cut
 * them into batches, each with the generation limit FCR uses. Fixed batches without VBS; variable batch
 * sizes per length bucket with VBS, small tail chunks merged into the next bucket. It only plans batches —
 * generation, failure collection and metrics are the benchmark driver's job.
 */
import { PAPER_VBS_FALLBACK, PAPER_VBS_TABLE, buckit, vbsBatchSize, type VbsTable } from './buckets.js';

/** How FCR bounds a batch: its scheduled limit as is (upstream), times a factor (rounded up), or plus slack tokens. */
export type FcrLimitPolicy = { kind: 'bucket' } | { kind: 'factor'; factor: number } | { kind: 'slack'; slack: number };

/** Everything that shapes the schedule; defaults are the paper's (`DEFAULT_SCHEDULE`). */
export interface ScheduleConfig {
  /** batch size without VBS, and of FCR recomputation batches (paper: 16) */
  batchSize: number;
  /** variable batch size per length bucket */
  vbs: boolean;
  /** bucket width in tokens for VBS (paper: 50); the tail merge also walks up in steps of `cell` */
  cell: number;
  /** bucket → batch size (see vbsBatchSize) and the size of buckets above every key */
  vbsTable: VbsTable;
  vbsFallback: number;
  /** a VBS chunk smaller than max(bs / 2, tailMin) below the largest prediction moves to the next bucket (paper: 16) */
  tailMin: number;
  /** failure collection and recomputation: batches stop at their limit, unfinished rows are regenerated */
  fcr: boolean;
  fcrLimit: FcrLimitPolicy;
  /**
   * Which queries FCR regenerates. 'failed' (default) regenerates the unfinished queries, as the paper
   * describes. 'upstream' reproduces the released code, which indexes the group's prompts by the failed
   * rows' positions in batch order (`prompt[i] for i in failed`), so other queries are regenerated in their place.
   */
  fcrRecompute: 'failed' | 'upstream';
}

export const DEFAULT_SCHEDULE: ScheduleConfig = {
  batchSize: 16,
  vbs: false,
  cell: 50,
  vbsTable: PAPER_VBS_TABLE,
  vbsFallback: PAPER_VBS_FALLBACK,
  tailMin: 16,
  fcr: false,
  fcrLimit: { kind: 'bucket' },
  fcrRecompute: 'failed',
};

/** One planned batch: positions of its queries within the group, and its limit (max prediction, or the VBS bucket). */
export interface PlannedBatch {
  ids: number[];
  limit: number;
}

/** Stable ascending order of positions by predicted length (upstream sorts (id, length) pairs with Python's stable sort). */
function sortedByLength(lengths: number[]): number[] {
  return lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
}

/** Plan a group's batches from its predicted lengths (one per query, in group order). */
export function schedule(lengths: number[], cfg: ScheduleConfig): PlannedBatch[] {
  if (lengths.length === 0) return [];
  for (const [i, l] of lengths.entries()) {
    if (!Number.isFinite(l)) throw new Error(`predicted length of query ${i} is not a number: ${l}`);
  }
  const order = sortedByLength(lengths);
  if (!cfg.vbs) {
    const batches: PlannedBatch[] = [];
    for (let i = 0; i < order.length; i += cfg.batchSize) {
      const ids = order.slice(i, i + cfg.batchSize);
      batches.push({ ids, limit: Math.max(...ids.map((j) => lengths[j])) });
    }
    return batches;
  }
  return scheduleVbs(lengths, order, cfg);
}

/**
 * VBS: bucket every prediction, walk the buckets in ascending order (the order of first appearance in the
 * sorted list) and cut each into chunks of its batch size. A chunk smaller than max(bs / 2, tailMin) in a
 * bucket below the largest prediction is appended to the next existing bucket (+cell until one exists)
 * and the walk leaves that bucket. Upstream moves only that chunk and skips the rest of the bucket, which
 * loses queries when a table gives a batch size below tailMin; moving the rest of the bucket along is the
 * same for the paper's table (the small chunk is always the last) and loses nothing for any other table.
 */
function scheduleVbs(lengths: number[], order: number[], cfg: ScheduleConfig): PlannedBatch[] {
  const buckets = new Map<number, number[]>(); // insertion order = ascending bucket
  for (const i of order) {
    const b = buckit(lengths[i], cfg.cell);
    let ids = buckets.get(b);
    if (!ids) buckets.set(b, (ids = []));
    ids.push(i);
  }
  // the largest bucket (upstream compares with the largest prediction: the same for integer predictions; for a
  // fractional one such as 250.4, whose bucket is buckit(250) = 250, only the bucket keeps the walk below finite)
  const maxBucket = buckit(Math.max(...lengths), cfg.cell);
  const batches: PlannedBatch[] = [];
  for (const [bucket, ids] of buckets) {
    const bs = vbsBatchSize(bucket, cfg.vbsTable, cfg.vbsFallback);
    const minChunk = Math.max(Math.floor(bs / 2), cfg.tailMin);
    for (let i = 0; i < ids.length; i += bs) {
      const chunk = ids.slice(i, i + bs);
      if (bucket < maxBucket && chunk.length < minChunk) {
        let next = bucket + cfg.cell;
        while (!buckets.has(next)) next += cfg.cell; // ends: the largest bucket exists and is above this one
        buckets.get(next)!.push(...ids.slice(i));
        break;
      }
      batches.push({ ids: chunk, limit: bucket });
    }
  }
  return batches;
}

/** The generation limit of a planned batch: with FCR its limit under the policy, without FCR always maxLength. */
export function generationLimit(batch: PlannedBatch, cfg: ScheduleConfig, maxLength: number): number {
  if (!cfg.fcr) return maxLength;
  const p = cfg.fcrLimit;
  switch (p.kind) {
    case 'bucket':
      return batch.limit; // upstream: may exceed maxLength (bucket 550 for a prediction of 513)
    case 'factor':
      return Math.ceil(batch.limit * p.factor);
    case 'slack':
      return batch.limit + p.slack;
  }
}

/**
 * Parse the policy as written in YAML / CLI: "bucket", "x1.2" (factor), "+32" (slack); "off" means no FCR
 * and is handled by the caller (returns null).
 */
export function parseFcrLimit(text: string): FcrLimitPolicy | null {
  const s = text.trim();
  if (s === 'off') return null;
  if (s === 'bucket') return { kind: 'bucket' };
  const f = /^[x×*]\s*(\d+(?:\.\d+)?)$/.exec(s);
  if (f && Number(f[1]) > 0) return { kind: 'factor', factor: Number(f[1]) };
  const a = /^\+\s*(\d+)$/.exec(s);
  if (a) return { kind: 'slack', slack: Number(a[1]) };
  throw new Error(`FCR limit policy "${text}" is not one of: bucket, off, x<factor> (e.g. x1.2), +<tokens> (e.g. +32)`);
}

export function formatFcrLimit(cfg: Pick<ScheduleConfig, 'fcr' | 'fcrLimit'>): string {
  if (!cfg.fcr) return 'off';
  const p = cfg.fcrLimit;
  return p.kind === 'bucket' ? 'bucket' : p.kind === 'factor' ? `x${p.factor}` : `+${p.slack}`;
}
