/**
 * Experiment stages of the proxy length predictor (src/proxy): `train-predictor` (one point = one trained
 * predictor folder; re-running a finished folder resumes at its last checkpoint, so it only re-evaluates) and
 * `predict` (a predictions file `[{id, predicted}]` for the first N queries or the simulator's sample, scored
 * against L_max beside the paper's Vicuna-7B self-perception and the constant predictors when lengths are given).
 */
import { z } from 'zod';
import { join } from 'node:path';
import { registerStage } from '../registry.js';
import { initBackend, activeBackend } from '../../core/backend.js';
import { trainPredictor } from '../../proxy/train.js';
import type { DecodeRule } from '../../scoring/kinds.js';
import { CONFIG_FILE, loadProxyModel } from '../../proxy/model.js';
import { loadQueries } from '../../proxy/data.js';
import { predictLengths } from '../../proxy/predict.js';
import { evaluatePredictions } from '../../proxy/evaluate.js';
import { writeJson } from '../../util/fs.js';
import { predictorRecord, predictorTable, scoreFromRecord } from '../../scoring/ranking.js';
import { PAPER_PERCEPTION } from '../../scoring/evaluate.js';
import { stageFields } from '../../core/options/zod.js';
import { RANK_WEIGHT, rankTerm, trainPredictorOptions } from '../../commands/train-predictor.js';
import { predictOptions } from '../../commands/predict.js';

const num = (x: unknown, d = 1) => (typeof x === 'number' ? x.toFixed(d) : '');

async function ensureBackend(): Promise<void> {
  if (!activeBackend()) await initBackend('wasm');
}

export const trainPredictorSchema = z.strictObject(stageFields(trainPredictorOptions));

const rankLabel = (kind: string | undefined, weight: number | undefined) => (kind ? `${kind} ×${weight ?? RANK_WEIGHT}` : 'none');

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
      head: {
        kind: c.head as never, maxLength: c.max_length, cell: c.cell, sigma: c.sigma, decode: c.decode as never,
        ...rankTerm(c.rank_loss, c.rank_weight, c.rank_gap, (k) => k.replace(/-/g, '_')),
      },
      epochs: c.epochs, batchSize: c.batch_size, lr: c.lr, weightDecay: c.weight_decay, warmupRatio: c.warmup_ratio,
      holdout: c.holdout, seed: c.seed, selectBy: c.select_by, numData: c.num_data, members: c.members,
    });
    return {
      record: {
        out: c.out, encoder: c.encoder, head: c.head, rank_loss: rankLabel(c.rank_loss, c.rank_weight), members: c.members, decode: s.decode, parameters: s.parameters, vocabulary: s.keptVocab,
        train_queries: s.trainQueries, held_out_queries: s.heldOutQueries, dropped_as_leaks: s.droppedAsLeaks,
        train_seconds: s.trainSeconds, ...predictorRecord(s.heldOut, 'held_out_'),
      },
      detail: s.curve,
    };
  },
  table: (rows) =>
    predictorTable(['Predictor (held-out part of TRAIN)', 'Parameters', 'Train queries (held out)', 'Train s', 'Decode'], rows.map(({ label, record: r }) => ({
      lead: [`${label} (${r.encoder}${r.members !== 1 ? ` ×${r.members}` : ''}, ${r.head}${r.rank_loss && r.rank_loss !== 'none' ? ` + ${r.rank_loss}` : ''})`, String(r.parameters),
        `${r.train_queries} (${r.held_out_queries})`, num(r.train_seconds, 0), String(r.decode)],
      score: scoreFromRecord(r, 'held_out_'),
    }))),
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
        Object.assign(record, predictorRecord(ev.model));
        if (ev.constants && ev.trainMedian) {
          const k = ev.constants;
          Object.assign(record, { const_median: k.trainMedian.value, ...predictorRecord(ev.trainMedian, 'const_') }, {
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
    const body: Parameters<typeof predictorTable>[1] = [];
    const constants: Parameters<typeof predictorTable>[1] = [];
    for (const { label, record: r } of rows) {
      body.push({ lead: [label, String(r.decode), String(r.queries), num(r.seconds, 2)], score: scoreFromRecord(r) });
      if (typeof r.const_error === 'number' && constants.length === 0) {
        constants.push({ lead: [`constant ${r.const_median} (train median) on the same queries`, '', String(r.queries), ''], score: scoreFromRecord(r, 'const_') });
        constants.push({ lead: ['best constant in hindsight, per metric', '', String(r.queries), ''],
          score: { error: r.oracle_const_error as number, acc50: r.oracle_const_acc50 as number, acc100: r.oracle_const_acc100 as number } });
      }
    }
    if (rows.some((r) => typeof r.record.error === 'number')) {
      body.push({ lead: ['paper: Vicuna-7B + LoRA (perception in advance), val[:1000]', '', '1000', ''], score: { error: PAPER_PERCEPTION.error, acc50: PAPER_PERCEPTION.acc50, acc100: PAPER_PERCEPTION.acc100 } });
    }
    return predictorTable(['Predictor (Error/Acc against L_max)', 'Decode', 'Queries', 'Predict s'], [...body, ...constants]) +
      '\nMAE, Kendall τ-b, Spearman ρ and the share of pairs ≥ 50 tokens apart ordered right against L_t0.0 (one greedy sample), τ and ρ also against L_max; — where undefined (a constant orders nothing).\n';
  },
});
