/**
 * The embedded default's synthetic instruction corpus: seeded FastChat conversations drawn from the task
 * families in synthetic/families.ts, in three splits (train, val, pretrain) where no val instruction appears
 * in train or pretrain. Lengths are shaped like Vicuna-7B's on Alpaca, scaled to `maxLength`. It does not
 * count tokens or write files (see src/jobs/make-data.ts).
 */
import { Rand } from './synthetic/random.js';
import { FAMILIES, type Family, type Task, type CorpusVersion } from './synthetic/families.js';
import type { Conversation } from './conversation.js';

export { FAMILIES, type Family, type Task, type LengthControl, type CorpusVersion } from './synthetic/families.js';
export { Rand } from './synthetic/random.js';
export type { Conversation } from './conversation.js';

export interface SyntheticOptions {
  /** Number of conversations. */
  n: number;
  seed: string | number;
  /** The embedded default's max new tokens; long families scale their counts by maxLength / 256. */
  maxLength?: number;
  /** Id of the first conversation (ids are consecutive strings). */
  startId?: number;
  /** Split name: each split draws from its own random stream, so changing one split's size leaves the others. */
  stream?: string;
  /** Instructions that must not be drawn (e.g. the val instructions when drawing train). */
  exclude?: ReadonlySet<string>;
  /** Every instruction at most once within this call. */
  unique?: boolean;
  /** Corpus version (see CorpusVersion in synthetic/families.ts); default 1, the original corpus. */
  version?: CorpusVersion;
  /** Multipliers of family weights by family name (e.g. { count: 4 }); default none (the corpus mixture). */
  weights?: Readonly<Record<string, number>>;
}

export const DEFAULT_MAX_LENGTH = 256;
export const DEFAULT_SIZES = { train: 4000, val: 1000, pretrain: 24000 } as const;

/** Draw one task: a family by weight (times its multiplier in `weights`, if any), then an instruction from it. */
export function drawTask(
  r: Rand,
  scale: number,
  version: CorpusVersion = 1,
  weights?: Readonly<Record<string, number>>,
): { family: Family; task: Task } {
  const family = FAMILIES[r.weighted(FAMILIES.map((f) => f.weight * (weights?.[f.name] ?? 1)))];
  return { family, task: version === 1 ? family.make(r, scale) : family.make(r, scale, version) };
}

/** How many redraws a colliding instruction gets before we conclude the instruction space is exhausted. */
const MAX_REDRAWS = 200;

export function makeSynthetic(opts: SyntheticOptions): Conversation[] {
  const {
    n,
    seed,
    maxLength = DEFAULT_MAX_LENGTH,
    startId = 1,
    stream = 'train',
    exclude,
    unique = false,
    version = 1,
    weights,
  } = opts;
  checkWeights(weights);
  if (version !== 1 && version !== 2 && version !== 3)
    throw new Error(`makeSynthetic: version must be 1, 2 or 3, got ${String(version)}`);
  if (!Number.isInteger(n) || n < 0) throw new Error(`makeSynthetic: n must be a non-negative integer, got ${n}`);
  if (!(maxLength >= 16)) throw new Error(`makeSynthetic: maxLength must be ≥ 16, got ${maxLength}`);
  const scale = maxLength / DEFAULT_MAX_LENGTH;
  // Version 2 draws from its own stream, so it is not a re-formatting of version 1's draws; version 3 shares
  // version 2's stream (it re-formats the count family; redraws of colliding instructions then diverge).
  const r = new Rand(version === 1 ? `seqsch-synthetic/${seed}/${stream}` : `seqsch-synthetic-v2/${seed}/${stream}`);
  const seen = new Set<string>();
  const out: Conversation[] = [];
  for (let i = 0; i < n; i++) {
    let drawn = drawTask(r, scale, version, weights);
    for (let tries = 0; exclude?.has(drawn.task.instruction) || (unique && seen.has(drawn.task.instruction)); tries++) {
      if (tries >= MAX_REDRAWS)
        throw new Error(`makeSynthetic(${stream}): instruction space exhausted after ${i} conversations`);
      drawn = drawTask(r, scale, version, weights);
    }
    const { instruction } = drawn.task;
    seen.add(instruction);
    out.push({
      id: String(startId + i),
      conversations: [
        { from: 'human', value: instruction },
        { from: 'gpt', value: drawn.task.respond(r) },
      ],
    });
  }
  return out;
}

/** Family-weight multipliers must name known families and be finite and ≥ 0. */
function checkWeights(weights: Readonly<Record<string, number>> | undefined): void {
  for (const [name, w] of Object.entries(weights ?? {})) {
    if (!FAMILIES.some((f) => f.name === name))
      throw new Error(`family weight for unknown family "${name}" (known: ${FAMILIES.map((f) => f.name).join(', ')})`);
    if (!Number.isFinite(w) || w < 0)
      throw new Error(`family weight of "${name}" must be a finite number ≥ 0, got ${w}`);
  }
}

export interface SyntheticSplits {
  train: Conversation[];
  val: Conversation[];
  pretrain: Conversation[];
}

/**
 * The three splits: val first (unique instructions), then train and pretrain drawn with every val instruction
 * excluded. Ids run on across splits (train 1.., val after train, pretrain after val) so an id names one query.
 */
export function makeSyntheticSplits(opts: {
  seed: string | number;
  maxLength?: number;
  train?: number;
  val?: number;
  pretrain?: number;
  version?: CorpusVersion;
  /** Family-weight multipliers for the pretrain split only (val and train stay the corpus mixture). */
  pretrainWeights?: Readonly<Record<string, number>>;
}): SyntheticSplits {
  const { seed, maxLength = DEFAULT_MAX_LENGTH, version = 1, pretrainWeights } = opts;
  const nTrain = opts.train ?? DEFAULT_SIZES.train;
  const nVal = opts.val ?? DEFAULT_SIZES.val;
  const nPre = opts.pretrain ?? DEFAULT_SIZES.pretrain;
  const val = makeSynthetic({ n: nVal, seed, maxLength, stream: 'val', unique: true, startId: nTrain + 1, version });
  const exclude = new Set(val.map(instructionOf));
  const train = makeSynthetic({ n: nTrain, seed, maxLength, stream: 'train', exclude, startId: 1, version });
  const pretrain = makeSynthetic({
    n: nPre,
    seed,
    maxLength,
    stream: 'pretrain',
    exclude,
    startId: nTrain + nVal + 1,
    version,
    weights: pretrainWeights,
  });
  return { train, val, pretrain };
}

export function instructionOf(c: Conversation): string {
  return c.conversations[0].value;
}

export function answerOf(c: Conversation): string {
  return c.conversations[1].value;
}

/** Quantiles by linear interpolation between order statistics (numpy's default), q in [0, 1]. */
export function quantiles(values: readonly number[], qs: readonly number[]): number[] {
  if (values.length === 0) throw new Error('quantiles: no values');
  const s = values.slice().sort((a, b) => a - b);
  return qs.map((q) => {
    const pos = q * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, s.length - 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  });
}
