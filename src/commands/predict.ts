/**
 * `seqsch predict`: run a trained proxy length predictor over a conversations file and write `[{id, predicted}]`,
 * the list `seqsch simulate --strategy seqsch --predictions FILE` reads. With `--lengths` it also scores the
 * predictions against L_max (Error, Acc-50, Acc-100) and by its ranking against L_t0.0 (MAE, Kendall τ-b, Spearman ρ, pairs ≥ 50
 * apart ordered right), and with `--train-lengths` beside the constant predictors.
 */
import type { CommandModule } from 'yargs';
import { withBackend, withJson, report } from './common.js';
import type { BackendChoice } from '../backend.js';
import { DECODE_RULES, type DecodeRule } from '../proxy/heads.js';

interface Args {
  model: string;
  data: string;
  'num-data'?: number;
  'sample-seed'?: number;
  out: string;
  lengths?: string;
  'train-lengths'?: string;
  'batch-size': number;
  decode?: DecodeRule;
  backend: BackendChoice;
  json: boolean;
}

export const predictCommand: CommandModule<object, Args> = {
  command: 'predict',
  describe: 'predict response lengths with a trained proxy predictor; writes [{id, predicted}]',
  builder: (y) =>
    withJson(withBackend(
      y
        .option('model', { type: 'string', demandOption: true, describe: 'predictor folder (train-predictor --out)' })
        .option('data', { type: 'string', demandOption: true, describe: 'conversations JSON' })
        .option('num-data', { type: 'number', describe: 'only N queries: the first N, or with --sample-seed the simulator\'s sample' })
        .option('sample-seed', { type: 'number', describe: 'sample --num-data queries as `seqsch simulate --seed` does (numpy permutation)' })
        .option('out', { type: 'string', demandOption: true, describe: 'predictions JSON to write' })
        .option('lengths', { type: 'string', describe: 'recorded lengths of --data: score against L_max' })
        .option('train-lengths', { type: 'string', describe: 'TRAIN lengths: add the constant predictors to the score' })
        .option('batch-size', { type: 'number', default: 64 })
        .option('decode', { choices: DECODE_RULES, describe: 'buckets head: decode rule (default: the one chosen on held-out data)' }),
    )) as never,
  handler: async (argv) => {
    const { initBackend } = await import('../backend.js');
    const { loadQueries } = await import('../proxy/data.js');
    const { loadProxyModel } = await import('../proxy/model.js');
    const { predictLengths } = await import('../proxy/predict.js');
    const { evaluatePredictions, evaluationTable } = await import('../proxy/evaluate.js');
    const { writeJson } = await import('../util/fs.js');
    await initBackend(argv.backend);
    const queries = loadQueries(argv.data, { numData: argv['num-data'], sampleSeed: argv['sample-seed'] });
    const model = loadProxyModel(argv.model);
    try {
      const { lengths, seconds } = await predictLengths(model, queries.map((q) => q.text), argv['batch-size'], argv.decode);
      const preds = queries.map((q, i) => ({ id: q.id, predicted: lengths[i] }));
      writeJson(argv.out, preds);
      const ev = argv.lengths ? evaluatePredictions(preds, argv.lengths, argv['train-lengths'], model.config.head.maxLength) : undefined;
      report(argv.json, { out: argv.out, queries: preds.length, seconds, parameters: model.numParameters(), ...(ev ?? {}) }, () =>
        [`${preds.length} predictions → ${argv.out} in ${seconds.toFixed(2)} s (${model.numParameters()} parameters)`, ev ? evaluationTable(ev) : ''].join('\n'));
    } finally {
      model.dispose();
    }
  },
};
