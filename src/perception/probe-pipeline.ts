/**
 * The length probe's file-level job (the `probe` experiment stage): read the train split's lenpred records and the
 * validation queries, measure every candidate layer (Kendall τ of out-of-fold predictions: K total heads, each fitted on
 * the train records outside one fold, folds made of whole instruction texts so that copies of an instruction never sit
 * on both sides), keep the best layer's head fitted on all train records, fit the remaining head on the model's greedy
 * answers to train queries, score both on the validation queries, and write the probe folder and the
 * validation predictions `[{id, predicted, L_max}]` (the eval stage's format). Loading a model needs an initialised
 * tfjs backend (the caller's job).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  firstTurn,
  lMax,
  loadConversations,
  loadLengths,
  vicunaPrompt,
  type LengthRecord,
} from '../data/conversation.js';
import seedrandom from 'seedrandom';
import type { HeadConfig } from '../scoring/heads.js';
import { loadModelAndTokenizer } from './pipeline.js';
import { LengthProbe, type ProbeConfig, type ProbeTarget } from './probe.js';
import { answerStates, fitProbeHead, pickRows, promptStates, type FitOptions, type ProbeRows } from './probe-train.js';
import { leaksInto, loadQueries } from '../proxy/data.js';
import {
  kendallTauB,
  meanAbsoluteError,
  predictorScore,
  spearmanRho,
  type PredictorScore,
} from '../scoring/ranking.js';
import { writeJson } from '../util/fs.js';

export interface ProbeJob {
  model: string;
  tokenizer?: string;
  /** train conversations and their lenpred records (only recorded queries are used) */
  data: string;
  lengths: string;
  /** validation conversations and records: the first numVal queries are scored, never fitted */
  valData: string;
  valLengths: string;
  numVal: number;
  /** probe folder and the validation predictions file */
  out: string;
  predictions: string;
  /** candidate layers (HF hidden-state indices) */
  layers: number[];
  /** the total head's input: the layer's state at the prompt's last position, or averaged over the prompt */
  pool: 'last' | 'mean';
  target: ProbeTarget;
  head: HeadConfig;
  hiddenSize: number;
  fit: Omit<FitOptions, 'label'>;
  /** cross-validation folds (grouped by instruction text) that choose the layer */
  folds: number;
  /** remaining head: train queries answered, positions kept per answer, validation queries scored (0: no remaining head) */
  remainingQueries: number;
  positionsPerAnswer: number;
  remainingVal: number;
  maxNewTokens: number;
  batchSize: number;
}

export interface LayerScore {
  layer: number;
  /** out-of-fold predictions on the train records (chooses the layer) and the validation queries (reported only) */
  heldOut: PredictorScore;
  val: PredictorScore;
}

export interface ProbeSummary {
  layer: number;
  layers: LayerScore[];
  /** the final total head on the validation queries (its configured decode), and decoded by the median */
  val: PredictorScore;
  valMedian: PredictorScore;
  /** remaining head on the validation answers: every position t = 0 … m (MAE in decode steps, τ against the truth) */
  remaining?: {
    positions: number;
    mae: number;
    tau: number;
    rho: number;
    maeAtPrompt: number;
    baselineMae: number;
    baselineTau: number;
  };
  trainRecords: number;
  /** train records dropped because their id or instruction text is a validation query's (never fitted) */
  droppedAsLeaks: number;
  parameters: number;
  seconds: { features: number; fit: number; remaining: number; total: number };
}

export interface Split {
  /** the first human turns (the grouping key of the folds) and their vicuna prompts */
  texts: string[];
  prompts: string[];
  ids: string[];
  lMax: number[];
  lT0: number[];
}

/** Recorded queries of a conversations file (records' order), optionally only the first n of the file. */
function recorded(data: string, lengths: string, first?: number): Split {
  let convs = loadConversations(data);
  if (first !== undefined) {
    if (first > convs.length) throw new Error(`probe: ${first} validation queries asked, ${data} has ${convs.length}`);
    convs = convs.slice(0, first);
  }
  const byId = new Map<string, LengthRecord>(loadLengths(lengths).map((r) => [r.id, r]));
  const kept = first !== undefined ? convs : convs.filter((c) => byId.has(c.id));
  if (kept.length === 0) throw new Error(`probe: no query of ${data} has a record in ${lengths}`);
  const recs = kept.map((c) => {
    const r = byId.get(c.id);
    if (!r) throw new Error(`${lengths}: no length record for query id ${c.id} of ${data}`);
    return r;
  });
  return {
    texts: kept.map((c) => firstTurn(c, 'human')),
    prompts: kept.map((c) => vicunaPrompt(firstTurn(c, 'human'))),
    ids: kept.map((c) => c.id),
    lMax: recs.map(lMax),
    lT0: recs.map((r) => r['L_t0.0']),
  };
}

/**
 * The train records less every one that shares an id or an instruction text (case and whitespace folded, the
 * proxy trainer's rule) with any query of the validation file — the whole file, not only the scored part — so no
 * validation query is fitted, chooses the layer or is answered for the remaining head.
 */
export function withoutLeaks(train: Split, valData: string): { split: Split; dropped: number } {
  const leaks = leaksInto(loadQueries(valData));
  const keep = train.ids.map((id, i) => !leaks({ id, text: train.texts[i] }));
  const pick = <T>(xs: T[]) => xs.filter((_, i) => keep[i]);
  const split = {
    texts: pick(train.texts),
    prompts: pick(train.prompts),
    ids: pick(train.ids),
    lMax: pick(train.lMax),
    lT0: pick(train.lT0),
  };
  if (split.ids.length === 0)
    throw new Error(
      `probe: every train record is also a query of ${valData} (by id or instruction text): nothing left to fit`,
    );
  return { split, dropped: train.ids.length - split.ids.length };
}

/** Fold (0 … k−1) of each row, whole instruction texts drawn at random (seeded), so no text sits in two folds. */
export function groupFolds(texts: string[], k: number, seed: number): number[] {
  if (!(Number.isInteger(k) && k >= 2)) throw new Error(`probe: folds must be an integer ≥ 2, got ${k}`);
  const rng = seedrandom(`seqsch-probe-folds/${seed}`);
  const fold = new Map<string, number>();
  for (const t of texts) if (!fold.has(t)) fold.set(t, Math.floor(rng() * k));
  return texts.map((t) => fold.get(t)!);
}

export async function runProbeJob(j: ProbeJob): Promise<ProbeSummary> {
  const t0 = performance.now();
  const { split: train, dropped } = withoutLeaks(recorded(j.data, j.lengths), j.valData);
  const val = recorded(j.valData, j.valLengths, j.numVal);
  const trainTargets = j.target === 'L_max' ? train.lMax : train.lT0;
  const folds = groupFolds(train.texts, j.folds, j.fit.seed);
  const { model, tokenizer } = await loadModelAndTokenizer(j.model, j.tokenizer);
  const secs = { features: 0, fit: 0, remaining: 0, total: 0 };
  const config = (layer: number): ProbeConfig => ({
    format: 'seqsch-probe-1',
    model: j.model,
    layer,
    pool: j.pool,
    inputSize: model.config.hiddenSize,
    target: j.target,
    heads: {
      total: { hiddenSize: j.hiddenSize, head: j.head },
      ...(j.remainingQueries > 0
        ? { remaining: { hiddenSize: j.hiddenSize, head: { ...j.head, decode: 'median' as const } } }
        : {}),
    },
  });
  const score = (p: number[], s: Pick<Split, 'lMax' | 'lT0'>) => predictorScore(p, s.lMax, s.lT0);
  let probe: LengthProbe | undefined; // the best layer's total head, fitted on every train record
  try {
    // ---- the layer sweep: each candidate layer's features, out-of-fold τ on the train records, τ on val
    const layers: LayerScore[] = [];
    let bestVal: number[] = [];
    let bestFeatures: Float32Array | undefined;
    for (const layer of j.layers) {
      if (!Number.isInteger(layer) || layer < 0 || layer > model.config.numLayers)
        throw new Error(`probe: layer ${layer} is not in [0, ${model.config.numLayers}]`);
      let t = performance.now();
      const trainF = await promptStates(model, tokenizer, train.prompts, layer, j.pool, j.batchSize);
      const valF = await promptStates(model, tokenizer, val.prompts, layer, j.pool, j.batchSize);
      secs.features += (performance.now() - t) / 1000;
      t = performance.now();
      const rows: ProbeRows = {
        features: trainF,
        n: train.prompts.length,
        d: model.config.hiddenSize,
        targets: trainTargets,
      };
      const outOfFold = new Array<number>(rows.n);
      for (let k = 0; k < j.folds; k++) {
        const inFold = folds.map((f, i) => (f === k ? i : -1)).filter((i) => i >= 0);
        const rest = folds.map((f, i) => (f !== k ? i : -1)).filter((i) => i >= 0);
        const p = new LengthProbe(config(layer), null, j.fit.seed + k);
        try {
          await fitProbeHead(p, 'total', pickRows(rows, rest), {
            ...j.fit,
            seed: j.fit.seed + k,
            label: `probe layer ${layer} fold ${k}`,
          });
          p.predict('total', pickRows(rows, inFold).features).forEach((x, m) => (outOfFold[inFold[m]] = x));
        } finally {
          p.dispose();
        }
      }
      const all = new LengthProbe(config(layer), null, j.fit.seed);
      await fitProbeHead(all, 'total', rows, { ...j.fit, label: `probe layer ${layer}` });
      const valPred = all.predict('total', valF);
      layers.push({ layer, heldOut: score(outOfFold, train), val: score(valPred, val) });
      secs.fit += (performance.now() - t) / 1000;
      // the best out-of-fold τ so far keeps its head (an undefined τ — the same state for every prompt — never wins)
      const tau = (l: LayerScore) => (Number.isFinite(l.heldOut.tauT0) ? l.heldOut.tauT0 : -Infinity);
      if (!probe || tau(layers[layers.length - 1]) > tau(layers.find((l) => l.layer === probe!.layer)!)) {
        probe?.dispose();
        probe = all;
        bestVal = valPred;
        bestFeatures = valF;
      } else all.dispose();
    }
    const best = layers.find((l) => l.layer === probe!.layer)!;
    const valPred = bestVal;

    // ---- the remaining head on the chosen layer: the model's greedy answers to train queries
    let remaining: ProbeSummary['remaining'];
    if (j.remainingQueries > 0) {
      const t = performance.now();
      const opts = { layer: best.layer, maxNewTokens: j.maxNewTokens, batchSize: j.batchSize, seed: j.fit.seed };
      const rows = await answerStates(model, tokenizer, train.prompts.slice(0, j.remainingQueries), {
        ...opts,
        positionsPerAnswer: j.positionsPerAnswer,
      });
      await fitProbeHead(probe!, 'remaining', rows, { ...j.fit, label: `probe remaining (layer ${best.layer})` });
      // every position of the validation answers (positionsPerAnswer = the longest answer + 1)
      const v = await answerStates(model, tokenizer, val.prompts.slice(0, j.remainingVal), {
        ...opts,
        positionsPerAnswer: j.maxNewTokens + 1,
      });
      const p = probe!.predict('remaining', v.features);
      const atPrompt = v.targets.map((_, k) => k).filter((k) => k === 0 || v.query[k] !== v.query[k - 1]);
      // the baseline a refinement must beat: the total head's prediction for the query, minus the tokens generated since
      const promptRow = new Map(atPrompt.map((k) => [v.query[k], k]));
      const base = v.targets.map((y, k) =>
        Math.max(1, valPred[v.query[k]] - (v.targets[promptRow.get(v.query[k])!] - y)),
      );
      remaining = {
        positions: v.n,
        mae: meanAbsoluteError(p, v.targets),
        tau: kendallTauB(p, v.targets),
        rho: spearmanRho(p, v.targets),
        maeAtPrompt: meanAbsoluteError(
          atPrompt.map((k) => p[k]),
          atPrompt.map((k) => v.targets[k]),
        ),
        baselineMae: meanAbsoluteError(base, v.targets),
        baselineTau: kendallTauB(base, v.targets),
      };
      secs.remaining = (performance.now() - t) / 1000;
    }
    const head = probe!.config.heads.total!.head;
    const decodeWas = head.decode;
    head.decode = 'median';
    const valMedian = score(probe!.predict('total', bestFeatures!), val);
    head.decode = decodeWas;
    probe!.save(j.out);
    writeJson(
      j.predictions,
      val.ids.map((id, i) => ({ id, predicted: valPred[i], L_max: val.lMax[i] })),
    );
    secs.total = (performance.now() - t0) / 1000;
    const summary: ProbeSummary = {
      layer: best.layer,
      layers,
      val: score(valPred, val),
      valMedian,
      remaining,
      trainRecords: train.prompts.length,
      droppedAsLeaks: dropped,
      parameters: probe!.numParameters(),
      seconds: secs,
    };
    writeJson(join(j.out, 'probe_summary.json'), summary);
    writeFileSync(join(j.out, 'README.md'), probeCard(j, summary));
    return summary;
  } finally {
    probe?.dispose();
    model.dispose();
  }
}

/** The probe folder's model card: what it reads, how it was chosen and what it scores. */
function probeCard(j: ProbeJob, s: ProbeSummary): string {
  const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  return [
    `# Length probe on ${j.model}`,
    '',
    `A ${j.hiddenSize > 0 ? `1-hidden-layer MLP (${j.hiddenSize} ReLU)` : 'linear'} head on hidden state ${s.layer} (HF numbering: 0 = embeddings) ${j.pool === 'mean' ? 'averaged over the' : 'at the'}`,
    `generation prompt${j.pool === 'mean' ? "'s positions" : "'s last position"}, predicting ${j.target} (${j.head.kind} head${j.head.kind === 'buckets' ? `, cell ${j.head.cell}, decode ${j.head.decode}` : ''}), and a remaining-length`,
    'head on the same layer after each generated token. Written by the `probe` stage of experiments/seqsch.yaml',
    `from ${j.data} / ${j.lengths} (${s.trainRecords} records; ${s.droppedAsLeaks} dropped for sharing an id or instruction with ${j.valData}); ${s.parameters} parameters.`,
    '',
    `Layer chosen by Kendall τ of out-of-fold predictions on the train records (${j.folds} folds of whole instruction texts); validation only reported.`,
    '',
    '| layer | out-of-fold τ (L_t0.0) | out-of-fold Acc-50 | val τ (L_t0.0) | val Acc-50 |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...s.layers.map(
      (l) =>
        `| ${l.layer}${l.layer === s.layer ? ' (chosen)' : ''} | ${f(l.heldOut.tauT0)} | ${f(100 * l.heldOut.acc50, 1)} % | ${f(l.val.tauT0)} | ${f(100 * l.val.acc50, 1)} % |`,
    ),
    '',
    `Validation (first ${j.numVal}), median decode: Error ${f(s.valMedian.error, 1)}, Acc-50 ${f(100 * s.valMedian.acc50, 1)} %, τ ${f(s.valMedian.tauT0)} (L_t0.0).`,
    `Validation (first ${j.numVal}), decode ${j.head.decode}: Error ${f(s.val.error, 1)}, Acc-50 ${f(100 * s.val.acc50, 1)} %, Acc-100 ${f(100 * s.val.acc100, 1)} %, MAE vs L_t0.0 ${f(s.val.maeT0, 1)}, τ ${f(s.val.tauT0)} (L_t0.0) / ${f(s.val.tauMax)} (L_max).`,
    ...(s.remaining
      ? [
          `Remaining head on ${s.remaining.positions} positions of ${j.remainingVal} validation answers: MAE ${f(s.remaining.mae, 1)} decode steps (${f(s.remaining.maeAtPrompt, 1)} at the prompt), τ ${f(s.remaining.tau)}; the total head minus the tokens generated: MAE ${f(s.remaining.baselineMae, 1)}, τ ${f(s.remaining.baselineTau)}.`,
        ]
      : []),
    '',
  ].join('\n');
}
