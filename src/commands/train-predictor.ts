/**
 * `seqsch train-predictor`: train the small proxy length predictor (src/proxy) on Alpaca TRAIN queries and
 * their recorded Vicuna lengths (target L_max), holding out part of TRAIN for model selection and excluding
 * every query of `--exclude` files (the validation split). Writes the predictor folder `--out`.
 */
import type { CommandModule } from 'yargs';
import { withBackend, withJson, report } from './common.js';
import type { BackendChoice } from '../backend.js';
import type { TrainPredictorOptions } from '../proxy/train.js';
import { DECODE_RULES, HEAD_KINDS, RANK_LOSSES, type DecodeRule, type HeadKind, type RankLossKind } from '../proxy/heads.js';
import { ENCODER_KINDS, type EncoderKind } from '../proxy/model.js';

interface Args {
  data: string;
  lengths: string;
  exclude: string[];
  out: string;
  encoder: EncoderKind;
  'hidden-size': number;
  layers: number;
  heads: number;
  'intermediate-size': number;
  'max-tokens': number;
  head: HeadKind;
  cell: number;
  sigma: number;
  decode: DecodeRule;
  'max-length': number;
  epochs: number;
  'batch-size': number;
  lr: number;
  'weight-decay': number;
  'warmup-ratio': number;
  holdout: number;
  seed: number;
  'select-by': 'error' | 'acc50' | 'acc100' | 'tau';
  'rank-loss': 'none' | RankLossKind;
  'rank-weight': number;
  'rank-gap': number;
  'num-data'?: number;
  members: number;
  backend: BackendChoice;
  json: boolean;
}

/** The defaults are the configuration chosen by measurement (the header of experiments/proxy-predictor.yaml). */
export const trainPredictorCommand: CommandModule<object, Args> = {
  command: 'train-predictor',
  describe: 'train the small proxy response-length predictor (L_max from the query text)',
  builder: (y) =>
    withJson(withBackend(
      y
        .option('data', { type: 'string', demandOption: true, describe: 'training conversations (alpaca-train-10k.json)' })
        .option('lengths', { type: 'string', demandOption: true, describe: 'their recorded lengths (alpaca-train-10k-length.json)' })
        .option('exclude', { type: 'string', array: true, default: [] as string[], describe: 'conversations never to train on (by id and instruction), e.g. the val file' })
        .option('out', { type: 'string', demandOption: true, describe: 'predictor folder to write' })
        .option('encoder', { choices: ENCODER_KINDS, default: 'llama' as EncoderKind })
        .option('hidden-size', { type: 'number', default: 128 })
        .option('layers', { type: 'number', default: 2, describe: 'llama encoder: decoder layers' })
        .option('heads', { type: 'number', default: 4, describe: 'llama encoder: attention heads' })
        .option('intermediate-size', { type: 'number', default: 256, describe: 'llama: SwiGLU width; bow: hidden ReLU layer' })
        .option('max-tokens', { type: 'number', default: 128, describe: 'tokens read per query (BOS + query + EOS)' })
        .option('head', { choices: HEAD_KINDS, default: 'buckets' as HeadKind })
        .option('cell', { type: 'number', default: 16, describe: 'buckets head: bin width (tokens)' })
        .option('sigma', { type: 'number', default: 16, describe: 'buckets head: soft-label width (tokens), 0 = one-hot' })
        .option('decode', { choices: DECODE_RULES, default: 'window50' as DecodeRule, describe: 'buckets head: decode rule (replaced by the held-out best)' })
        .option('max-length', { type: 'number', default: 512, describe: 'largest response length (the recording limit)' })
        .option('epochs', { type: 'number', default: 2 })
        .option('batch-size', { type: 'number', default: 32 })
        .option('lr', { type: 'number', default: 1e-3 })
        .option('weight-decay', { type: 'number', default: 0.01 })
        .option('warmup-ratio', { type: 'number', default: 0.05 })
        .option('holdout', { type: 'number', default: 0.15, describe: 'fraction of TRAIN held out for model selection' })
        .option('seed', { type: 'number', default: 0 })
        .option('select-by', { choices: ['error', 'acc50', 'acc100', 'tau'] as const, default: 'acc50' as const, describe: 'held-out metric that picks the decode rule (tau: Kendall τ-b vs L_t0.0)' })
        .option('rank-loss', { choices: ['none', ...RANK_LOSSES] as const, default: 'none' as const, describe: 'buckets head: add a ranking loss on the expected log-length (ListMLE or pairwise)' })
        .option('rank-weight', { type: 'number', default: 1, describe: 'weight of the ranking loss beside the cross-entropy' })
        .option('rank-gap', { type: 'number', default: 16, describe: 'pairwise: only pairs whose lengths differ by at least this many tokens' })
        .option('num-data', { type: 'number', describe: 'use only the first N training queries' })
        .option('members', { type: 'number', default: 3, describe: 'ensemble size (bucket distributions averaged)' }),
    )) as never,
  handler: async (argv) => {
    const { initBackend } = await import('../backend.js');
    const { trainPredictor } = await import('../proxy/train.js');
    await initBackend(argv.backend);
    const o: TrainPredictorOptions = {
      data: argv.data, lengths: argv.lengths, exclude: argv.exclude, outDir: argv.out,
      encoder: argv.encoder, hiddenSize: argv['hidden-size'], numLayers: argv.layers, numHeads: argv.heads,
      intermediateSize: argv['intermediate-size'], maxTokens: argv['max-tokens'],
      head: {
        kind: argv.head, maxLength: argv['max-length'], cell: argv.cell, sigma: argv.sigma, decode: argv.decode,
        ...(argv['rank-loss'] !== 'none' ? { rank: { kind: argv['rank-loss'], weight: argv['rank-weight'], gap: argv['rank-gap'] } } : {}),
      },
      epochs: argv.epochs, batchSize: argv['batch-size'], lr: argv.lr, weightDecay: argv['weight-decay'],
      warmupRatio: argv['warmup-ratio'], holdout: argv.holdout, seed: argv.seed, selectBy: argv['select-by'], numData: argv['num-data'], members: argv.members,
    };
    const s = await trainPredictor(o);
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    report(argv.json, { out: argv.out, ...s }, () => [
      `predictor: ${argv.out} (${argv.encoder}, ${s.parameters} parameters, vocabulary ${s.keptVocab})`,
      `trained on ${s.trainQueries} queries (${s.droppedAsLeaks} dropped as leaks), ${s.heldOutQueries} held out; ${s.trainSeconds.toFixed(1)} s`,
      ...s.curve.map((c) => `member ${c.member} epoch ${c.epoch}: loss ${c.loss.toFixed(4)}`),
      `held out (decode ${s.decode}): Error ${s.heldOut.error.toFixed(1)}, Acc-50 ${pct(s.heldOut.acc50)}, Acc-100 ${pct(s.heldOut.acc100)}, Kendall τ-b ${s.heldOut.tauT0.toFixed(3)} (L_t0.0)`,
    ].join('\n'));
  },
};
