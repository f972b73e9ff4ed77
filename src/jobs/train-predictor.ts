/**
 * train-predictor as a job: train the small proxy length predictor (src/proxy) on Alpaca TRAIN queries and their
 * recorded Vicuna lengths (target L_max), holding out part of TRAIN for model selection and excluding every query
 * of the `exclude` files (the validation split). Writes the predictor folder `out`; rerunning a finished folder
 * resumes at its last checkpoint, so it only re-evaluates. The record holds the held-out figures (paper's and
 * ranking); the detail, the loss curve.
 */
import { join } from 'node:path';
import type { BackendChoice } from '../core/backend.js';
import { defineJob } from '../core/job.js';
import { BACKEND_OPTION } from '../core/options/common.js';
import { defineOptions } from '../core/options/spec.js';
import { CONFIG_FILE } from '../proxy/folder.js';
import { markedBy } from '../util/job-paths.js';
import type { RankLoss } from '../scoring/heads.js';
import { DECODE_RULES, ENCODER_KINDS, HEAD_KINDS, RANK_LOSSES, type RankLossKind } from '../scoring/kinds.js';
import { predictorRecord, predictorTable, scoreFromRecord } from '../scoring/ranking.js';
import { fitOptions } from '../training/fit-options.js';

/** The ranking term's weight and pairwise gap (tokens) when a rank loss is named without them. */
export const RANK_WEIGHT = 1;
export const RANK_GAP = 16;

/** The defaults are the configuration chosen by measurement (the header of experiments/proxy-predictor.yaml). */
export const trainPredictorOptions = defineOptions({
  data: { type: 'string', required: true, describe: 'training conversations (alpaca-train-10k.json)' },
  lengths: { type: 'string', required: true, describe: 'their recorded lengths (alpaca-train-10k-length.json)' },
  exclude: {
    type: 'list',
    of: 'string',
    default: [],
    describe: 'conversations never to train on (by id and instruction), e.g. the val file',
  },
  out: { type: 'string', required: true, describe: 'predictor folder to write' },
  encoder: { type: 'choice', choices: ENCODER_KINDS, default: 'llama' },
  'hidden-size': { type: 'number', int: true, min: 1, default: 128 },
  layers: { type: 'number', int: true, min: 1, default: 2, describe: 'llama encoder: decoder layers' },
  heads: { type: 'number', int: true, min: 1, default: 4, describe: 'llama encoder: attention heads' },
  'intermediate-size': {
    type: 'number',
    int: true,
    min: 1,
    default: 256,
    describe: 'llama: SwiGLU width; bow: hidden ReLU layer',
  },
  'max-tokens': {
    type: 'number',
    int: true,
    min: 1,
    default: 128,
    describe: 'tokens read per query (BOS + query + EOS)',
  },
  head: { type: 'choice', choices: HEAD_KINDS, default: 'buckets' },
  cell: { type: 'number', int: true, min: 1, default: 16, describe: 'buckets head: bin width (tokens)' },
  sigma: { type: 'number', min: 0, default: 16, describe: 'buckets head: soft-label width (tokens), 0 = one-hot' },
  decode: {
    type: 'choice',
    choices: DECODE_RULES,
    default: 'window50',
    describe: 'buckets head: decode rule (replaced by the held-out best)',
  },
  'max-length': {
    type: 'number',
    int: true,
    min: 1,
    default: 512,
    describe: 'largest response length (the recording limit)',
  },
  ...fitOptions({ epochs: 2, batchSize: 32, lr: 1e-3, weightDecay: 0.01, warmupRatio: 0.05 }),
  holdout: {
    type: 'number',
    min: 0,
    max: 0.9,
    default: 0.15,
    describe: 'fraction of TRAIN held out for model selection',
  },
  seed: { type: 'number', int: true, min: 0, default: 0 },
  'select-by': {
    type: 'choice',
    choices: ['error', 'acc50', 'acc100', 'tau'] as const,
    default: 'acc50',
    describe: 'held-out metric that picks the decode rule (tau: Kendall τ-b vs L_t0.0)',
  },
  // no defaults written into the config: a stage without a ranking term keeps the key (and the stamp) it had before
  'rank-loss': {
    type: 'choice',
    choices: RANK_LOSSES,
    describe: 'buckets head: add a ranking loss on the expected log-length (ListMLE or pairwise)',
  },
  'rank-weight': {
    type: 'number',
    min: 0,
    describe: `with --rank-loss: its weight beside the cross-entropy (default ${RANK_WEIGHT})`,
  },
  'rank-gap': {
    type: 'number',
    min: 0,
    describe: `with --rank-loss pairwise: only pairs whose lengths differ by at least this many tokens (default ${RANK_GAP})`,
  },
  'num-data': { type: 'number', int: true, min: 1, describe: 'use only the first N training queries' },
  members: { type: 'number', int: true, min: 1, default: 3, describe: 'ensemble size (bucket distributions averaged)' },
  backend: { ...BACKEND_OPTION, yaml: false },
});

/** What is wrong with the ranking term's keys (a weight or gap without a loss, a gap without pairwise), by `flag`. */
export function rankTermProblem(
  kind: RankLossKind | undefined,
  weight: number | undefined,
  gap: number | undefined,
  flag = (k: string) => `--${k}`,
): string | undefined {
  if (!kind) {
    if (weight !== undefined) return `${flag('rank-weight')} needs ${flag('rank-loss')} (listmle or pairwise)`;
    if (gap !== undefined) return `${flag('rank-gap')} needs ${flag('rank-loss')} pairwise`;
    return undefined;
  }
  if (gap !== undefined && kind !== 'pairwise')
    return `${flag('rank-gap')} applies to ${flag('rank-loss')} pairwise only, got ${kind}`;
  return undefined;
}

/** The head's ranking term from the flags / stage keys; a weight or gap without a loss is refused, naming the flag. */
export function rankTerm(
  kind: RankLossKind | undefined,
  weight: number | undefined,
  gap: number | undefined,
  flag = (k: string) => `--${k}`,
): { rank?: RankLoss } {
  const problem = rankTermProblem(kind, weight, gap, flag);
  if (problem) throw new Error(problem);
  return kind ? { rank: { kind, weight: weight ?? RANK_WEIGHT, gap: gap ?? RANK_GAP } } : {};
}

const rankLabel = (kind: string | undefined, weight: number | undefined) =>
  kind ? `${kind} ×${weight ?? RANK_WEIGHT}` : 'none';
const num = (x: unknown, d = 1) => (typeof x === 'number' ? x.toFixed(d) : '');
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export const trainPredictorJob = defineJob({
  name: 'train-predictor',
  describe: 'train the small proxy response-length predictor (L_max from the query text)',
  options: trainPredictorOptions,
  // refused before any work (on the CLI and when an experiment file loads)
  check: (c, key) => rankTermProblem(c.rank_loss, c.rank_weight, c.rank_gap, (k) => key(k.replace(/-/g, '_'))),
  files: (c) => [
    { key: 'data', path: c.data },
    { key: 'lengths', path: c.lengths },
    ...c.exclude.map((p) => ({ key: 'exclude', path: p })),
  ],
  outputs: (c) => [c.out, join(c.out, CONFIG_FILE)],
  writes: (c) => [{ key: 'out', path: c.out, folder: markedBy(CONFIG_FILE, 'a length-predictor folder') }],
  run: async (c, ctx) => {
    const [{ activeBackend, initBackend }, { trainPredictor }] = await Promise.all([
      import('../core/backend.js'),
      import('../proxy/train.js'),
    ]);
    // the CLI's --backend; an experiment runs on the backend already started, else wasm
    const backend = ctx.cli.backend as BackendChoice | undefined;
    if (backend !== undefined) await initBackend(backend);
    else if (!activeBackend()) await initBackend('wasm');
    const s = await trainPredictor({
      data: c.data,
      lengths: c.lengths,
      exclude: c.exclude,
      outDir: c.out,
      encoder: c.encoder,
      hiddenSize: c.hidden_size,
      numLayers: c.layers,
      numHeads: c.heads,
      intermediateSize: c.intermediate_size,
      maxTokens: c.max_tokens,
      head: {
        kind: c.head,
        maxLength: c.max_length,
        cell: c.cell,
        sigma: c.sigma,
        decode: c.decode,
        ...rankTerm(c.rank_loss, c.rank_weight, c.rank_gap),
      },
      epochs: c.epochs,
      batchSize: c.batch_size,
      lr: c.lr,
      weightDecay: c.weight_decay,
      warmupRatio: c.warmup_ratio,
      holdout: c.holdout,
      seed: c.seed,
      selectBy: c.select_by,
      numData: c.num_data,
      members: c.members,
    });
    return {
      record: {
        out: c.out,
        encoder: c.encoder,
        head: c.head,
        rank_loss: rankLabel(c.rank_loss, c.rank_weight),
        members: c.members,
        decode: s.decode,
        parameters: s.parameters,
        vocabulary: s.keptVocab,
        train_queries: s.trainQueries,
        held_out_queries: s.heldOutQueries,
        dropped_as_leaks: s.droppedAsLeaks,
        train_seconds: s.trainSeconds,
        ...predictorRecord(s.heldOut, 'held_out_'),
      },
      detail: s.curve,
      text: [
        `predictor: ${c.out} (${c.encoder}, ${s.parameters} parameters, vocabulary ${s.keptVocab})`,
        `trained on ${s.trainQueries} queries (${s.droppedAsLeaks} dropped as leaks), ${s.heldOutQueries} held out; ${s.trainSeconds.toFixed(1)} s`,
        ...s.curve.map((e) => `member ${e.member} epoch ${e.epoch}: loss ${e.loss.toFixed(4)}`),
        `held out (decode ${s.decode}): Error ${s.heldOut.error.toFixed(1)}, Acc-50 ${pct(s.heldOut.acc50)}, Acc-100 ${pct(s.heldOut.acc100)}, Kendall τ-b ${s.heldOut.tauT0.toFixed(3)} (L_t0.0)`,
      ].join('\n'),
    };
  },
  table: (rows) =>
    predictorTable(
      ['Predictor (held-out part of TRAIN)', 'Parameters', 'Train queries (held out)', 'Train s', 'Decode'],
      rows.map(({ label, record: r }) => ({
        lead: [
          `${label} (${r.encoder}${r.members !== 1 ? ` ×${r.members}` : ''}, ${r.head}${r.rank_loss && r.rank_loss !== 'none' ? ` + ${r.rank_loss}` : ''})`,
          String(r.parameters),
          `${r.train_queries} (${r.held_out_queries})`,
          num(r.train_seconds, 0),
          String(r.decode),
        ],
        score: scoreFromRecord(r, 'held_out_'),
      })),
    ),
});
