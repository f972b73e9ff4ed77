/**
 * `seqsch train-predictor`: train the small proxy length predictor (src/proxy) on Alpaca TRAIN queries and
 * their recorded Vicuna lengths (target L_max), holding out part of TRAIN for model selection and excluding
 * every query of `--exclude` files (the validation split). Writes the predictor folder `--out`.
 */
import { BACKEND_OPTION, JSON_OPTION, report } from '../core/options/common.js';
import { initBackend } from '../core/backend.js';
import { command, defineOptions } from '../core/options/spec.js';
import { fitOptions } from '../training/fit-options.js';
import type { TrainPredictorOptions } from '../proxy/train.js';
import type { RankLoss } from '../scoring/heads.js';
import type { RankLossKind } from '../scoring/kinds.js';
import { DECODE_RULES, ENCODER_KINDS, HEAD_KINDS, RANK_LOSSES } from '../scoring/kinds.js';

/**
 * Also the `train-predictor` experiment stage's keys. The defaults are the configuration chosen by measurement
 * (the header of experiments/proxy-predictor.yaml).
 */
export const RANK_WEIGHT = 1;
export const RANK_GAP = 16;

export const trainPredictorOptions = defineOptions({
  data: { type: 'string', required: true, describe: 'training conversations (alpaca-train-10k.json)' },
  lengths: { type: 'string', required: true, describe: 'their recorded lengths (alpaca-train-10k-length.json)' },
  exclude: { type: 'list', of: 'string', default: [], describe: 'conversations never to train on (by id and instruction), e.g. the val file' },
  out: { type: 'string', required: true, describe: 'predictor folder to write' },
  encoder: { type: 'choice', choices: ENCODER_KINDS, default: 'llama' },
  'hidden-size': { type: 'number', int: true, min: 1, default: 128 },
  layers: { type: 'number', int: true, min: 1, default: 2, describe: 'llama encoder: decoder layers' },
  heads: { type: 'number', int: true, min: 1, default: 4, describe: 'llama encoder: attention heads' },
  'intermediate-size': { type: 'number', int: true, min: 1, default: 256, describe: 'llama: SwiGLU width; bow: hidden ReLU layer' },
  'max-tokens': { type: 'number', int: true, min: 1, default: 128, describe: 'tokens read per query (BOS + query + EOS)' },
  head: { type: 'choice', choices: HEAD_KINDS, default: 'buckets' },
  cell: { type: 'number', int: true, min: 1, default: 16, describe: 'buckets head: bin width (tokens)' },
  sigma: { type: 'number', min: 0, default: 16, describe: 'buckets head: soft-label width (tokens), 0 = one-hot' },
  decode: { type: 'choice', choices: DECODE_RULES, default: 'window50', describe: 'buckets head: decode rule (replaced by the held-out best)' },
  'max-length': { type: 'number', int: true, min: 1, default: 512, describe: 'largest response length (the recording limit)' },
  ...fitOptions({ epochs: 2, batchSize: 32, lr: 1e-3, weightDecay: 0.01, warmupRatio: 0.05 }),
  holdout: { type: 'number', min: 0, max: 0.9, default: 0.15, describe: 'fraction of TRAIN held out for model selection' },
  seed: { type: 'number', int: true, min: 0, default: 0 },
  'select-by': { type: 'choice', choices: ['error', 'acc50', 'acc100', 'tau'] as const, default: 'acc50', describe: 'held-out metric that picks the decode rule (tau: Kendall τ-b vs L_t0.0)' },
  // no defaults written into the config: a stage without a ranking term keeps the key (and the stamp) it had before
  'rank-loss': { type: 'choice', choices: RANK_LOSSES, describe: 'buckets head: add a ranking loss on the expected log-length (ListMLE or pairwise)' },
  'rank-weight': { type: 'number', min: 0, describe: `with --rank-loss: its weight beside the cross-entropy (default ${RANK_WEIGHT})` },
  'rank-gap': { type: 'number', min: 0, describe: `with --rank-loss pairwise: only pairs whose lengths differ by at least this many tokens (default ${RANK_GAP})` },
  'num-data': { type: 'number', int: true, min: 1, describe: 'use only the first N training queries' },
  members: { type: 'number', int: true, min: 1, default: 3, describe: 'ensemble size (bucket distributions averaged)' },
  backend: { ...BACKEND_OPTION, yaml: false },
  json: JSON_OPTION,
});

export const trainPredictorCommand = command({
  command: 'train-predictor',
  describe: 'train the small proxy response-length predictor (L_max from the query text)',
  options: trainPredictorOptions,
  handler: async (argv) => {
    const rank = rankTerm(argv['rank-loss'], argv['rank-weight'], argv['rank-gap']); // refused before any work
    await initBackend(argv.backend);
    const o: TrainPredictorOptions = {
      data: argv.data, lengths: argv.lengths, exclude: argv.exclude, outDir: argv.out,
      encoder: argv.encoder, hiddenSize: argv['hidden-size'], numLayers: argv.layers, numHeads: argv.heads,
      intermediateSize: argv['intermediate-size'], maxTokens: argv['max-tokens'],
      head: {
        kind: argv.head, maxLength: argv['max-length'], cell: argv.cell, sigma: argv.sigma, decode: argv.decode,
        ...rank,
      },
      epochs: argv.epochs, batchSize: argv['batch-size'], lr: argv.lr, weightDecay: argv['weight-decay'],
      warmupRatio: argv['warmup-ratio'], holdout: argv.holdout, seed: argv.seed, selectBy: argv['select-by'], numData: argv['num-data'], members: argv.members,
    };
    const { trainPredictor } = await import('../proxy/train.js');
    const s = await trainPredictor(o);
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    report(argv.json, { out: argv.out, ...s }, () => [
      `predictor: ${argv.out} (${argv.encoder}, ${s.parameters} parameters, vocabulary ${s.keptVocab})`,
      `trained on ${s.trainQueries} queries (${s.droppedAsLeaks} dropped as leaks), ${s.heldOutQueries} held out; ${s.trainSeconds.toFixed(1)} s`,
      ...s.curve.map((c) => `member ${c.member} epoch ${c.epoch}: loss ${c.loss.toFixed(4)}`),
      `held out (decode ${s.decode}): Error ${s.heldOut.error.toFixed(1)}, Acc-50 ${pct(s.heldOut.acc50)}, Acc-100 ${pct(s.heldOut.acc100)}, Kendall τ-b ${s.heldOut.tauT0.toFixed(3)} (L_t0.0)`,
    ].join('\n'));
  },
});

/** The head's ranking term from the flags / stage keys; a weight or gap without a loss is refused, naming the flag. */
export function rankTerm(kind: RankLossKind | undefined, weight: number | undefined, gap: number | undefined, flag = (k: string) => `--${k}`): { rank?: RankLoss } {
  if (!kind) {
    if (weight !== undefined) throw new Error(`${flag('rank-weight')} needs ${flag('rank-loss')} (listmle or pairwise)`);
    if (gap !== undefined) throw new Error(`${flag('rank-gap')} needs ${flag('rank-loss')} pairwise`);
    return {};
  }
  if (gap !== undefined && kind !== 'pairwise') throw new Error(`${flag('rank-gap')} applies to ${flag('rank-loss')} pairwise only, got ${kind}`);
  return { rank: { kind, weight: weight ?? RANK_WEIGHT, gap: gap ?? RANK_GAP } };
}
