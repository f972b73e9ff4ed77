/**
 * `seqsch predict`: run a trained proxy length predictor over a conversations file and write `[{id, predicted}]`,
 * the list `seqsch simulate --strategy seqsch --predictions FILE` reads. With `--lengths` it also scores the
 * predictions against L_max (Error, Acc-50, Acc-100) and by its ranking against L_t0.0 (MAE, Kendall τ-b, Spearman ρ, pairs ≥ 50
 * apart ordered right), and with `--train-lengths` beside the constant predictors.
 */
import { BACKEND_OPTION, JSON_OPTION, report } from '../core/options/common.js';
import { initBackend } from '../core/backend.js';
import { command, defineOptions } from '../core/options/spec.js';
import { writeJson } from '../util/fs.js';
import { DECODE_RULES } from '../scoring/kinds.js';

/** Also the `proxy-predict` experiment stage's keys. */
export const predictOptions = defineOptions({
  model: { type: 'string', required: true, describe: 'predictor folder (train-predictor --out)' },
  data: { type: 'string', required: true, describe: 'conversations JSON' },
  out: { type: 'string', required: true, describe: 'predictions JSON to write' },
  'num-data': { type: 'number', int: true, min: 1, describe: 'only N queries: the first N, or with --sample-seed the simulator\'s sample' },
  'sample-seed': { type: 'number', int: true, min: 0, max: 0xffffffff, describe: 'sample --num-data queries as `seqsch simulate --seed` does (numpy permutation)' },
  lengths: { type: 'string', describe: 'recorded lengths of --data: score against L_max' },
  'train-lengths': { type: 'string', describe: 'TRAIN lengths: add the constant predictors to the score' },
  'batch-size': { type: 'number', int: true, min: 1, default: 64 },
  decode: { type: 'choice', choices: DECODE_RULES, describe: 'buckets head: decode rule (default: the one chosen on held-out data)' },
  backend: { ...BACKEND_OPTION, yaml: false },
  json: JSON_OPTION,
});

export const predictCommand = command({
  command: 'predict',
  describe: 'predict response lengths with a trained proxy predictor; writes [{id, predicted}]',
  options: predictOptions,
  handler: async (argv) => {
    const [{ loadQueries }, { loadProxyModel }, { predictLengths }, { evaluatePredictions, evaluationTable }] = await Promise.all([
      import('../proxy/data.js'), import('../proxy/model.js'), import('../proxy/predict.js'), import('../proxy/evaluate.js')]);
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
});
