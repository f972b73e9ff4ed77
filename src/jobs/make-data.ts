/**
 * make-data as a job (a CLI tool, no stage): write the embedded default's synthetic instruction corpus (train,
 * val, pretrain as FastChat JSON, plus manifest.json with the parameters and answer-length quantiles in LLaMA-1
 * tokens). The corpus itself is drawn in src/data/synthetic.ts; this job only parses options and reports. Its
 * record is {out, ...the manifest} (nested: printed by --json, never a results row).
 */
import { defineJob, type Scalar } from '../core/job.js';
import { defineOptions } from '../core/options/spec.js';
import { markedBy } from '../util/job-paths.js';
import { DEFAULT_MAX_LENGTH, DEFAULT_SIZES } from '../data/synthetic.js';

export const makeDataOptions = defineOptions({
  out: { type: 'string', default: 'data/synthetic', describe: 'output folder' },
  train: {
    type: 'number',
    int: true,
    min: 0,
    default: DEFAULT_SIZES.train,
    describe: 'train conversations (lenpred/construct/LoRA)',
  },
  val: {
    type: 'number',
    int: true,
    min: 0,
    default: DEFAULT_SIZES.val,
    describe: 'validation conversations (eval; instructions unique, never in train/pretrain)',
  },
  pretrain: {
    type: 'number',
    int: true,
    min: 0,
    default: DEFAULT_SIZES.pretrain,
    describe: 'conversations for training the tiny base model',
  },
  seed: { type: 'string', default: '0', describe: 'random seed (same seed and sizes → byte-identical files)' },
  'max-length': {
    type: 'number',
    int: true,
    min: 1,
    default: DEFAULT_MAX_LENGTH,
    describe: 'max new tokens of the embedded default; answer lengths scale with it',
  },
  'corpus-version': {
    type: 'number',
    int: true,
    min: 1,
    max: 3,
    default: 1,
    describe:
      'corpus version: 1 original, 2 countdown markers in the counting families, 3 = 2 with "a of b" counting (data/synthetic-v3)',
  },
  'pretrain-weight': {
    type: 'list',
    of: 'string',
    default: [],
    describe:
      "FAMILY=X: multiply that family's weight in the pretrain split only (e.g. count=4); val and train keep the mixture",
  },
});

export const makeDataJob = defineJob({
  name: 'make-data',
  describe:
    'write the synthetic instruction corpus (train/val/pretrain FastChat JSON + manifest) of the embedded default',
  options: makeDataOptions,
  yaml: false,
  writes: (c) => [{ key: 'out', path: c.out, folder: markedBy('manifest.json', 'a synthetic corpus') }],
  run: async (c) => {
    const version = c.corpus_version as 1 | 2 | 3;
    const pretrainWeights = parseWeights(c.pretrain_weight);
    const { writeSyntheticData, SPLITS, REPORT_QUANTILES } = await import('../data/synthetic/files.js');
    const m = writeSyntheticData(c.out, {
      seed: c.seed,
      maxLength: c.max_length,
      train: c.train,
      val: c.val,
      pretrain: c.pretrain,
      ...(version !== 1 ? { version } : {}),
      ...(pretrainWeights ? { pretrainWeights } : {}),
    });
    const head = `answer length (LLaMA-1 tokens, BOS incl.) at q = ${REPORT_QUANTILES.join(' ')}`;
    const rows = SPLITS.map((s) => {
      const st = m.splits[s];
      return (
        `  ${s.padEnd(9)} n=${String(st.n).padEnd(6)} ${st.quantiles.map((q) => String(Math.round(q)).padStart(4)).join('')}` +
        `   mean ${st.mean}, > ${m.params.maxLength}: ${(st.overMaxLength * 100).toFixed(2)}%`
      );
    });
    return {
      record: { out: c.out, ...m } as unknown as Record<string, Scalar>,
      text: [
        `wrote ${SPLITS.map((s) => `${s}.json`).join(', ')} and manifest.json to ${c.out}`,
        head,
        ...rows,
        `distinct LLaMA-1 token ids: ${m.distinctTokenIds}`,
      ].join('\n'),
    };
  },
});

/** ["count=4", "story=0.5"] → { count: 4, story: 0.5 } (undefined when none); family names are checked by the generator. */
function parseWeights(items: string[]): Record<string, number> | undefined {
  if (items.length === 0) return undefined;
  const out: Record<string, number> = {};
  for (const it of items) {
    const m = /^([\w-]+)=([0-9.eE+-]+)$/.exec(it);
    if (!m || !Number.isFinite(Number(m[2])))
      throw new Error(`--pretrain-weight must look like FAMILY=NUMBER (e.g. count=4), got ${JSON.stringify(it)}`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}
