/**
 * The length-perception pipeline's file-level steps, shared by the CLI commands (seqsch lenpred | construct |
 * eval) and the experiment stages: read the upstream-format files, call the collect/construct/score code, write
 * the upstream-format outputs atomically and return a flat summary. Loading a model means an initialised tfjs
 * backend (the caller's job). Training the predictor is src/training's.
 */
import { existsSync, rmSync } from 'node:fs';
import { loadLlama } from '../model/checkpoint.js';
import { LoraAdapter } from '../model/lora.js';
import type { Llama } from '../model/llama.js';
import { loadModelTokenizer } from '../model/gguf/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import {
  firstTurn,
  lMax,
  loadConversations,
  loadLengths,
  saveConversations,
  saveLengths,
  vicunaPrompt,
  LENGTH_TEMPERATURES,
  type LengthRecord,
} from '../data/conversation.js';
import { sampleIndices } from '../workload/sample.js';
import { collectLengths, finishedShare, lengthKey, type CollectedRecord } from './lenpred.js';
import { constructInstructData } from './construct.js';
import { constantBaselines, pearson, type ConstantBaselines } from '../scoring/evaluate.js';
import { askLengths, PO_MAX_NEW_TOKENS, type AskResult, type ModelStrategy } from './model-predictors.js';
import { predictorScore, type PredictorScore } from '../scoring/ranking.js';
import { buckit } from '../scheduling/buckets.js';
import { readJson, writeJson } from '../util/fs.js';
import { readPredictions } from './predictions-file.js';
import { checkUnknownShare } from '../tokenizer/unknown.js';

export { PAPER_PERCEPTION } from '../scoring/evaluate.js';

/** A model and its tokenizer from a checkpoint folder (tokenizer from `tokenizerPath`, default the same folder). */
export async function loadModelAndTokenizer(
  modelDir: string,
  tokenizerPath?: string,
  loraDir?: string,
): Promise<{ model: Llama; tokenizer: Tokenizer }> {
  const tokenizer = await loadModelTokenizer(tokenizerPath ?? modelDir); // a .gguf file carries its own
  const model = loadLlama(modelDir);
  if (tokenizer.vocabSize > model.config.vocabSize) {
    model.dispose();
    throw new Error(
      `${modelDir}: the model holds ${model.config.vocabSize} token ids, its tokenizer ${tokenizer.name} ${tokenizer.vocabSize}`,
    );
  }
  if (loraDir) {
    model.setLora(LoraAdapter.load(loraDir, model));
    model.lora!.enabled = false;
  }
  return { model, tokenizer };
}

// ─── lenpred ────────────────────────────────────────────────────────────────────────────────────────────

export interface LenpredArgs {
  model: string;
  tokenizer?: string;
  data: string;
  out: string;
  maxLength: number;
  temperatures?: number[];
  batchSize: number;
  /** sample this many queries (numpy permutation with `seed`, as upstream's EvalDataset.sample); all in file order when omitted */
  numData?: number;
  /** first this many queries in file order (eval's "first 1000 val queries"); exclusive with numData */
  first?: number;
  seed: number;
}

export interface LenpredSummary {
  [k: string]: string | number;
  out: string;
  queries: number;
  /** share of answers at T = 0 that ended with EOS before max_length */
  eos_t0: number;
  /** Pearson correlation of L_t0.0 and L_gt */
  pearson_t0_gt: number;
  mean_L_gt: number;
  mean_L_max: number;
  seconds: number;
}

/**
 * Run lenpred on a conversation file and write its `*-length.json`. Resumable: after every batch the records
 * so far go to `<out>.partial.json` (with the arguments); a rerun with the same arguments continues from it,
 * and the partial file is removed once the output is written.
 */
export async function runLenpred(a: LenpredArgs): Promise<LenpredSummary> {
  const t0 = performance.now();
  const temps = a.temperatures ?? [...LENGTH_TEMPERATURES];
  if (a.numData !== undefined && a.first !== undefined)
    throw new Error('lenpred: give num-data (sampled) or first (file order), not both');
  const all = loadConversations(a.data);
  const n = a.numData ?? a.first;
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > all.length))
    throw new Error(`lenpred: ${n} queries asked, ${a.data} has ${all.length}`);
  const convs =
    a.numData !== undefined
      ? sampleIndices(all.length, a.numData, a.seed).map((k) => all[k])
      : all.slice(0, a.first ?? all.length);

  const partial = `${a.out}.partial.json`;
  const resumeKey = JSON.stringify({
    model: a.model,
    data: a.data,
    maxLength: a.maxLength,
    temps,
    seed: a.seed,
    ids: convs.map((c) => c.id),
  });
  let done: CollectedRecord[] = [];
  if (existsSync(partial)) {
    const saved = readJson<{ key: string; records: CollectedRecord[] }>(partial);
    if (saved.key === resumeKey) done = saved.records;
  }
  const { model, tokenizer } = await loadModelAndTokenizer(a.model, a.tokenizer);
  let records: CollectedRecord[];
  try {
    // prompts the model cannot read would give lengths of answers to unk
    checkUnknownShare(
      tokenizer,
      convs.map((c) => tokenizer.encode(vicunaPrompt(firstTurn(c, 'human')))),
      a.data,
    );
    records = await collectLengths(model, tokenizer, convs, {
      maxLength: a.maxLength,
      temperatures: temps,
      batchSize: a.batchSize,
      seed: a.seed,
      done,
      onBatch: (recs) => writeJson(partial, { key: resumeKey, records: recs }),
    });
  } finally {
    model.dispose();
  }
  if (temps.join() === LENGTH_TEMPERATURES.join()) saveLengths(a.out, records);
  else
    writeJson(
      a.out,
      records.map(({ finished: _f, ...r }) => r),
    ); // other temperatures: the same layout with their own keys
  if (existsSync(partial)) rmSync(partial);

  const k0 = lengthKey(temps[0]);
  const l0 = records.map((r) => (r as unknown as Record<string, number>)[k0]);
  const gt = records.map((r) => r.L_gt);
  const lmax = records.map((r) =>
    Math.max(...temps.map((t) => (r as unknown as Record<string, number>)[lengthKey(t)])),
  );
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return {
    out: a.out,
    queries: records.length,
    eos_t0: finishedShare(records)[k0],
    pearson_t0_gt: records.length > 1 ? pearson(l0, gt) : NaN,
    mean_L_gt: mean(gt),
    mean_L_max: mean(lmax),
    seconds: (performance.now() - t0) / 1000,
  };
}

// ─── construct ──────────────────────────────────────────────────────────────────────────────────────────

export function runConstruct(a: { data: string; lengths: string; out: string; cell: number }): {
  out: string;
  examples: number;
  target_mean: number;
} {
  const convs = loadConversations(a.data);
  const records = loadLengths(a.lengths);
  const out = constructInstructData(convs, records, a.cell, `construct (${a.lengths})`);
  saveConversations(a.out, out);
  const targets = out.map((c) => Number(c.conversations[1].value));
  return {
    out: a.out,
    examples: out.length,
    target_mean: targets.reduce((s, x) => s + x, 0) / Math.max(1, targets.length),
  };
}

// ─── eval ───────────────────────────────────────────────────────────────────────────────────────────────

export interface EvalArgs {
  model: string;
  tokenizer?: string;
  /** PEFT adapter of the length predictor (seqsch; ignored for po) */
  lora?: string;
  data: string;
  lengths: string;
  numData: number;
  strategy: ModelStrategy;
  batchSize: number;
  /** default: 32 for seqsch (upstream eval.py), PO_MAX_NEW_TOKENS for po */
  maxNewTokens?: number;
  /** per-query predictions `[{id, predicted, L_max, answer}]` (the file predictor's format) */
  out?: string;
}

export interface EvalSummary extends PredictorScore {
  strategy: ModelStrategy;
  /** answers with no number in them; scored as a prediction of UNPARSEABLE_LENGTH (0) */
  unparseable: number;
  constants: ConstantBaselines;
  /** predicting buckit(L_max, 50) exactly: the floor of a predictor tuned on construct's bucketed targets */
  bucketOracle: PredictorScore;
  seconds: number;
}

/** The first `numData` queries of `data` (file order, as upstream eval.py) with their L_max and L_t0.0 from `lengths`. */
export function evalTargets(
  data: string,
  lengths: string,
  numData: number,
): { id: string; prompt: string; lMax: number; lT0: number }[] {
  const convs = loadConversations(data);
  if (numData > convs.length) throw new Error(`eval: ${numData} queries asked, ${data} has ${convs.length}`);
  const byId = new Map<string, LengthRecord>(loadLengths(lengths).map((r) => [r.id, r]));
  return convs.slice(0, numData).map((c) => {
    const r = byId.get(c.id);
    if (!r)
      throw new Error(
        `${lengths}: no length record for query id ${c.id} (eval needs L_max of each of the first ${numData} queries of ${data})`,
      );
    return { id: c.id, prompt: vicunaPrompt(firstTurn(c, 'human')), lMax: lMax(r), lT0: r['L_t0.0'] };
  });
}

/**
 * A predictions file `[{id, predicted}]` scored against the recorded lengths of the same queries (file order):
 * the paper's figures against L_max and the ranking view against L_t0.0 (ranking.ts); also the bucket oracle's
 * ranking (buckit(L_max, 50), what construct trains towards). Pure arithmetic on files, so a stage whose
 * predictions were reused from an earlier run scores them without running the model.
 */
export function scorePredictionsFile(
  predictions: string,
  lengths: string,
): { model: PredictorScore; bucketOracle: PredictorScore } {
  const list = readPredictions(predictions).entries; // ids unique, lengths finite and ≥ 0
  if (list.length < 2) throw new Error(`${predictions}: expected a list of at least 2 { id, predicted }`);
  const byId = new Map<string, LengthRecord>(loadLengths(lengths).map((r) => [r.id, r]));
  const rec = list.map((e, i) => {
    const r = byId.get(e.id);
    if (!r) throw new Error(`${lengths}: no length record for query id ${e.id} (entry ${i} of ${predictions})`);
    return { predicted: e.predicted, lMax: lMax(r), lT0: r['L_t0.0'] };
  });
  const lm = rec.map((r) => r.lMax);
  const l0 = rec.map((r) => r.lT0);
  return {
    model: predictorScore(
      rec.map((r) => r.predicted),
      lm,
      l0,
    ),
    bucketOracle: predictorScore(
      lm.map((l) => buckit(l, 50)),
      lm,
      l0,
    ),
  };
}

export async function runEval(a: EvalArgs): Promise<EvalSummary> {
  if (a.strategy === 'seqsch' && !a.lora)
    throw new Error('eval --strategy seqsch needs --lora (the length-perception adapter)');
  const targets = evalTargets(a.data, a.lengths, a.numData);
  const { model, tokenizer } = await loadModelAndTokenizer(
    a.model,
    a.tokenizer,
    a.strategy === 'seqsch' ? a.lora : undefined,
  );
  let r: AskResult;
  try {
    r = await askLengths(
      model,
      tokenizer,
      targets.map((t) => t.prompt),
      {
        strategy: a.strategy,
        maxNewTokens: a.maxNewTokens ?? (a.strategy === 'seqsch' ? 32 : PO_MAX_NEW_TOKENS),
        batchSize: a.batchSize,
      },
    );
  } finally {
    model.dispose();
  }
  const lm = targets.map((t) => t.lMax);
  const l0 = targets.map((t) => t.lT0);
  if (a.out)
    writeJson(
      a.out,
      targets.map((t, i) => ({ id: t.id, predicted: r.lengths[i], L_max: t.lMax, answer: r.texts[i] })),
    );
  return {
    strategy: a.strategy,
    ...predictorScore(r.lengths, lm, l0),
    unparseable: r.parsed.filter((p) => !p).length,
    constants: constantBaselines(lm),
    bucketOracle: predictorScore(
      lm.map((l) => buckit(l, 50)),
      lm,
      l0,
    ),
    seconds: r.seconds,
  };
}
