/**
 * predict as a job (`seqsch predict`, the `proxy-predict` stage): run a trained proxy length predictor over a
 * conversations file — its first N queries, or the simulator's sample — and write `[{id, predicted}]`, the list
 * `seqsch simulate --strategy seqsch --predictions FILE` reads. With `lengths` it also scores the predictions
 * against L_max (Error, Acc-50, Acc-100) and by their ranking against L_t0.0 (MAE, Kendall τ-b, Spearman ρ, pairs
 * ≥ 50 apart ordered right), beside the paper's Vicuna-7B self-perception, and with `train_lengths` beside the
 * constant predictors.
 */
import { join } from 'node:path';
import type { BackendChoice } from '../core/backend.js';
import { defineJob, type Scalar } from '../core/job.js';
import { BACKEND_OPTION } from '../core/options/common.js';
import { defineOptions } from '../core/options/spec.js';
import { CONFIG_FILE } from '../proxy/folder.js';
import { PAPER_PERCEPTION } from '../scoring/evaluate.js';
import { DECODE_RULES } from '../scoring/kinds.js';
import { predictorRecord, predictorTable, scoreFromRecord } from '../scoring/ranking.js';

export const predictOptions = defineOptions({
  model: { type: 'string', required: true, describe: 'predictor folder (train-predictor --out)' },
  data: { type: 'string', required: true, describe: 'conversations JSON' },
  out: { type: 'string', required: true, describe: 'predictions JSON to write' },
  'num-data': {
    type: 'number',
    int: true,
    min: 1,
    describe: "only N queries: the first N, or with --sample-seed the simulator's sample",
  },
  'sample-seed': {
    type: 'number',
    int: true,
    min: 0,
    max: 0xffffffff,
    describe: 'sample --num-data queries as `seqsch simulate --seed` does (numpy permutation)',
  },
  lengths: { type: 'string', describe: 'recorded lengths of --data: score against L_max' },
  'train-lengths': { type: 'string', describe: 'TRAIN lengths: add the constant predictors to the score' },
  'batch-size': { type: 'number', int: true, min: 1, default: 64 },
  decode: {
    type: 'choice',
    choices: DECODE_RULES,
    describe: 'buckets head: decode rule (default: the one chosen on held-out data)',
  },
  backend: { ...BACKEND_OPTION, yaml: false },
});

const num = (x: unknown, d = 1) => (typeof x === 'number' ? x.toFixed(d) : '');

export const predictJob = defineJob({
  // the stage's name in experiments/*.yaml; the command is `seqsch predict`
  name: 'proxy-predict',
  command: 'predict',
  describe: 'predict response lengths with a trained proxy predictor; writes [{id, predicted}]',
  options: predictOptions,
  files: (c) => [
    { key: 'model', path: join(c.model, CONFIG_FILE) },
    { key: 'data', path: c.data },
    ...(c.lengths ? [{ key: 'lengths', path: c.lengths }] : []),
    ...(c.train_lengths ? [{ key: 'train_lengths', path: c.train_lengths }] : []),
  ],
  outputs: (c) => [c.out],
  writes: (c) => [{ key: 'out', path: c.out }],
  run: async (c, ctx) => {
    const [
      { activeBackend, initBackend },
      { loadQueries },
      { loadProxyModel },
      { predictLengths },
      evaluate,
      { writeJson },
    ] = await Promise.all([
      import('../core/backend.js'),
      import('../proxy/data.js'),
      import('../proxy/model.js'),
      import('../proxy/predict.js'),
      import('../proxy/evaluate.js'),
      import('../util/fs.js'),
    ]);
    const { evaluatePredictions, evaluationTable } = evaluate;
    // the CLI's --backend; an experiment runs on the backend already started, else wasm
    const backend = ctx.cli.backend as BackendChoice | undefined;
    if (backend !== undefined) await initBackend(backend);
    else if (!activeBackend()) await initBackend('wasm');
    const queries = loadQueries(c.data, { numData: c.num_data, sampleSeed: c.sample_seed });
    const model = loadProxyModel(c.model);
    try {
      const { lengths, seconds } = await predictLengths(
        model,
        queries.map((q) => q.text),
        c.batch_size,
        c.decode,
      );
      const preds = queries.map((q, i) => ({ id: q.id, predicted: lengths[i] }));
      writeJson(c.out, preds);
      const record: Record<string, Scalar> = {
        out: c.out,
        decode: c.decode ?? model.config.head.decode,
        queries: preds.length,
        seconds,
        parameters: model.numParameters(),
      };
      const ev = c.lengths
        ? evaluatePredictions(preds, c.lengths, c.train_lengths, model.config.head.maxLength)
        : undefined;
      if (ev) {
        Object.assign(record, predictorRecord(ev.model));
        if (ev.constants && ev.trainMedian) {
          const k = ev.constants;
          Object.assign(
            record,
            { const_median: k.trainMedian.value, ...predictorRecord(ev.trainMedian, 'const_') },
            {
              oracle_const_error: k.oracle.error.metrics.error,
              oracle_const_acc50: k.oracle.acc50.metrics.acc50,
              oracle_const_acc100: k.oracle.acc100.metrics.acc100,
            },
          );
        }
      }
      return {
        record,
        text: [
          `${preds.length} predictions → ${c.out} in ${seconds.toFixed(2)} s (${model.numParameters()} parameters)`,
          ev ? evaluationTable(ev) : '',
        ].join('\n'),
      };
    } finally {
      model.dispose();
    }
  },
  table: (rows) => {
    const body: Parameters<typeof predictorTable>[1] = [];
    const constants: Parameters<typeof predictorTable>[1] = [];
    for (const { label, record: r } of rows) {
      body.push({ lead: [label, String(r.decode), String(r.queries), num(r.seconds, 2)], score: scoreFromRecord(r) });
      if (typeof r.const_error === 'number' && constants.length === 0) {
        constants.push({
          lead: [`constant ${r.const_median} (train median) on the same queries`, '', String(r.queries), ''],
          score: scoreFromRecord(r, 'const_'),
        });
        constants.push({
          lead: ['best constant in hindsight, per metric', '', String(r.queries), ''],
          score: {
            error: r.oracle_const_error as number,
            acc50: r.oracle_const_acc50 as number,
            acc100: r.oracle_const_acc100 as number,
          },
        });
      }
    }
    if (rows.some((r) => typeof r.record.error === 'number')) {
      body.push({
        lead: ['paper: Vicuna-7B + LoRA (perception in advance), val[:1000]', '', '1000', ''],
        score: { error: PAPER_PERCEPTION.error, acc50: PAPER_PERCEPTION.acc50, acc100: PAPER_PERCEPTION.acc100 },
      });
    }
    return (
      predictorTable(
        ['Predictor (Error/Acc against L_max)', 'Decode', 'Queries', 'Predict s'],
        [...body, ...constants],
      ) +
      '\nMAE, Kendall τ-b, Spearman ρ and the share of pairs ≥ 50 tokens apart ordered right against L_t0.0 (one greedy sample), τ and ρ also against L_max; — where undefined (a constant orders nothing).\n'
    );
  },
});
