/**
 * Experiment stages of the proxy length predictor (src/proxy): `train-predictor` (one point = one trained
 * predictor folder; re-running a finished folder resumes at its last checkpoint, so it only re-evaluates) and
 * `predict` (a predictions file `[{id, predicted}]` for the first N queries or the simulator's sample, scored
 * against L_max beside the paper's Vicuna-7B self-perception and the constant predictors when lengths are given).
 */
import { z } from 'zod';
import { join } from 'node:path';
import { registerStage } from '../registry.js';
import { initBackend, activeBackend } from '../../backend.js';
import { trainPredictor } from '../../proxy/train.js';
import type { DecodeRule } from '../../proxy/kinds.js';
import { CONFIG_FILE, loadProxyModel } from '../../proxy/model.js';
import { loadQueries } from '../../proxy/data.js';
import { predictLengths } from '../../proxy/predict.js';
import { evaluatePredictions } from '../../proxy/evaluate.js';
import { writeJson } from '../../util/fs.js';
import { stageFields } from '../../options/zod.js';
import { trainPredictorOptions } from '../../commands/train-predictor.js';
import { predictOptions } from '../../commands/predict.js';

const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(1)}%` : '');
const num = (x: unknown, d = 1) => (typeof x === 'number' ? x.toFixed(d) : '');

async function ensureBackend(): Promise<void> {
  if (!activeBackend()) await initBackend('wasm');
}

export const trainPredictorSchema = z.strictObject(stageFields(trainPredictorOptions));

registerStage('train-predictor', {
  schema: trainPredictorSchema,
  files: (c) => [{ key: 'data', path: c.data }, { key: 'lengths', path: c.lengths }, ...c.exclude.map((p) => ({ key: 'exclude', path: p }))],
  outputs: (c) => [c.out, join(c.out, CONFIG_FILE)],
  run: async (c) => {
    await ensureBackend();
    const s = await trainPredictor({
      data: c.data, lengths: c.lengths, exclude: c.exclude, outDir: c.out,
      encoder: c.encoder as never, hiddenSize: c.hidden_size, numLayers: c.layers, numHeads: c.heads,
      intermediateSize: c.intermediate_size, maxTokens: c.max_tokens,
      head: { kind: c.head as never, maxLength: c.max_length, cell: c.cell, sigma: c.sigma, decode: c.decode as never },
      epochs: c.epochs, batchSize: c.batch_size, lr: c.lr, weightDecay: c.weight_decay, warmupRatio: c.warmup_ratio,
      holdout: c.holdout, seed: c.seed, selectBy: c.select_by, numData: c.num_data, members: c.members,
    });
    return {
      record: {
        out: c.out, encoder: c.encoder, head: c.head, members: c.members, decode: s.decode, parameters: s.parameters, vocabulary: s.keptVocab,
        train_queries: s.trainQueries, held_out_queries: s.heldOutQueries, dropped_as_leaks: s.droppedAsLeaks,
        train_seconds: s.trainSeconds, held_out_error: s.heldOut.error, held_out_acc50: s.heldOut.acc50, held_out_acc100: s.heldOut.acc100,
      },
      detail: s.curve,
    };
  },
  table: (rows) => [
    '| Predictor | Parameters | Train queries (held out) | Train s | Decode | Held-out Error | Acc-50 | Acc-100 |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    ...rows.map(({ label, record: r }) =>
      `| ${label} (${r.encoder}${r.members !== 1 ? ` ×${r.members}` : ''}, ${r.head}) | ${r.parameters} | ${r.train_queries} (${r.held_out_queries}) | ${num(r.train_seconds, 0)} | ${r.decode} | ${num(r.held_out_error)} | ${pct(r.held_out_acc50)} | ${pct(r.held_out_acc100)} |`),
  ].join('\n') + '\n',
});

export const predictSchema = z.strictObject(stageFields(predictOptions));

registerStage('proxy-predict', {
  schema: predictSchema,
  files: (c) => [
    { key: 'model', path: join(c.model, CONFIG_FILE) }, { key: 'data', path: c.data },
    ...(c.lengths ? [{ key: 'lengths', path: c.lengths }] : []), ...(c.train_lengths ? [{ key: 'train_lengths', path: c.train_lengths }] : []),
  ],
  outputs: (c) => [c.out],
  run: async (c) => {
    await ensureBackend();
    const queries = loadQueries(c.data, { numData: c.num_data, sampleSeed: c.sample_seed });
    const model = loadProxyModel(c.model);
    try {
      const { lengths, seconds } = await predictLengths(model, queries.map((q) => q.text), c.batch_size, c.decode as DecodeRule | undefined);
      const preds = queries.map((q, i) => ({ id: q.id, predicted: lengths[i] }));
      writeJson(c.out, preds);
      const record: Record<string, string | number> = { out: c.out, decode: c.decode ?? model.config.head.decode, queries: preds.length, seconds, parameters: model.numParameters() };
      if (c.lengths) {
        const ev = evaluatePredictions(preds, c.lengths, c.train_lengths, model.config.head.maxLength);
        Object.assign(record, { error: ev.model.error, acc50: ev.model.acc50, acc100: ev.model.acc100 });
        if (ev.constants) {
          const k = ev.constants;
          Object.assign(record, {
            const_median: k.trainMedian.value, const_error: k.trainMedian.metrics.error, const_acc50: k.trainMedian.metrics.acc50, const_acc100: k.trainMedian.metrics.acc100,
            oracle_const_error: k.oracle.error.metrics.error, oracle_const_acc50: k.oracle.acc50.metrics.acc50, oracle_const_acc100: k.oracle.acc100.metrics.acc100,
          });
        }
      }
      return { record };
    } finally {
      model.dispose();
    }
  },
  table: (rows) => {
    const lines = ['| Predictor (target L_max) | Decode | Queries | Predict s | Error | Acc-50 | Acc-100 |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |'];
    const constants: string[] = [];
    for (const { label, record: r } of rows) {
      lines.push(`| ${label} | ${r.decode} | ${r.queries} | ${num(r.seconds, 2)} | ${num(r.error)} | ${pct(r.acc50)} | ${pct(r.acc100)} |`);
      if (typeof r.const_error === 'number' && constants.length === 0) {
        constants.push(`| constant ${r.const_median} (train median) on the same queries | | ${r.queries} | | ${num(r.const_error)} | ${pct(r.const_acc50)} | ${pct(r.const_acc100)} |`);
        constants.push(`| best constant in hindsight, per metric | | ${r.queries} | | ${num(r.oracle_const_error)} | ${pct(r.oracle_const_acc50)} | ${pct(r.oracle_const_acc100)} |`);
      }
    }
    if (rows.some((r) => typeof r.record.error === 'number')) lines.push('| paper: Vicuna-7B + LoRA (perception in advance), val[:1000] | | 1000 | | 62 | 59% | 81% |');
    return [...lines, ...constants].join('\n') + '\n';
  },
});
