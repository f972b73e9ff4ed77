/**
 * The length probe's file-level job (the `probe` experiment stage): read the train split's lenpred records and the
 * validation queries, measure every candidate layer (a total head fitted on part of the train records, Kendall τ on
 * the held-out rest), keep the best layer, fit the total head on all train records and the remaining head on the
 * model's greedy answers to train queries, score both on the validation queries, and write the probe folder and the
 * validation predictions `[{id, predicted, L_max}]` (the eval stage's format). Loading a model needs an initialised
 * tfjs backend (the caller's job).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstTurn, lMax, loadConversations, loadLengths, vicunaPrompt, type LengthRecord } from '../data/conversation.js';
import { splitHoldout } from '../proxy/data.js';
import type { HeadConfig } from '../proxy/heads.js';
import { loadModelAndTokenizer } from './pipeline.js';
import { LengthProbe, type ProbeConfig, type ProbeTarget } from './probe.js';
import { answerStates, fitProbeHead, pickRows, promptStates, type FitOptions, type ProbeRows } from './probe-train.js';
import { kendallTauB, meanAbsoluteError, predictorScore, spearmanRho, type PredictorScore } from './ranking.js';
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
  target: ProbeTarget;
  head: HeadConfig;
  hiddenSize: number;
  fit: Omit<FitOptions, 'label'>;
  /** share of the train records held out to choose the layer */
  holdout: number;
  /** remaining head: train queries answered, positions kept per answer, validation queries scored (0: no remaining head) */
  remainingQueries: number;
  positionsPerAnswer: number;
  remainingVal: number;
  maxNewTokens: number;
  batchSize: number;
}

export interface LayerScore {
  layer: number;
  /** held-out part of the train records (chooses the layer) and the validation queries (reported only) */
  heldOut: PredictorScore;
  val: PredictorScore;
}

export interface ProbeSummary {
  layer: number;
  layers: LayerScore[];
  /** the final total head on the validation queries */
  val: PredictorScore;
  /** remaining head on the validation answers: every position t = 0 … m (MAE in decode steps, τ against the truth) */
  remaining?: { positions: number; mae: number; tau: number; rho: number; maeAtPrompt: number; baselineMae: number; baselineTau: number };
  trainRecords: number;
  parameters: number;
  seconds: { features: number; fit: number; remaining: number; total: number };
}

interface Split {
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
  return { prompts: kept.map((c) => vicunaPrompt(firstTurn(c, 'human'))), ids: kept.map((c) => c.id), lMax: recs.map(lMax), lT0: recs.map((r) => r['L_t0.0']) };
}

export async function runProbeJob(j: ProbeJob): Promise<ProbeSummary> {
  const t0 = performance.now();
  const train = recorded(j.data, j.lengths);
  const val = recorded(j.valData, j.valLengths, j.numVal);
  const trainTargets = j.target === 'L_max' ? train.lMax : train.lT0;
  const { fit: fitIdx, held: heldIdx } = splitHoldout(train.lMax.map((_, i) => i), j.holdout, j.fit.seed);
  const { model, tokenizer } = await loadModelAndTokenizer(j.model, j.tokenizer);
  const secs = { features: 0, fit: 0, remaining: 0, total: 0 };
  const config = (layer: number): ProbeConfig => ({
    format: 'seqsch-probe-1', model: j.model, layer, inputSize: model.config.hiddenSize, target: j.target,
    heads: { total: { hiddenSize: j.hiddenSize, head: j.head }, ...(j.remainingQueries > 0 ? { remaining: { hiddenSize: j.hiddenSize, head: { ...j.head, decode: 'median' as const } } } : {}) },
  });
  const score = (p: number[], s: Pick<Split, 'lMax' | 'lT0'>, idx?: number[]) =>
    predictorScore(p, idx ? idx.map((i) => s.lMax[i]) : s.lMax, idx ? idx.map((i) => s.lT0[i]) : s.lT0);
  try {
    // ---- the layer sweep: features of every train and val prompt at each candidate layer
    const layers: LayerScore[] = [];
    const features = new Map<number, { train: ProbeRows; val: Float32Array }>();
    for (const layer of j.layers) {
      if (!Number.isInteger(layer) || layer < 0 || layer > model.config.numLayers) throw new Error(`probe: layer ${layer} is not in [0, ${model.config.numLayers}]`);
      let t = performance.now();
      const trainF = await promptStates(model, tokenizer, train.prompts, layer, j.batchSize);
      const valF = await promptStates(model, tokenizer, val.prompts, layer, j.batchSize);
      secs.features += (performance.now() - t) / 1000;
      const rows: ProbeRows = { features: trainF, n: train.prompts.length, d: model.config.hiddenSize, targets: trainTargets };
      features.set(layer, { train: rows, val: valF });
      t = performance.now();
      const probe = new LengthProbe(config(layer), null, j.fit.seed);
      try {
        await fitProbeHead(probe, 'total', pickRows(rows, fitIdx), { ...j.fit, label: `probe layer ${layer}` });
        const heldPred = probe.predict('total', pickRows(rows, heldIdx).features);
        layers.push({ layer, heldOut: score(heldPred, train, heldIdx), val: score(probe.predict('total', valF), val) });
      } finally {
        probe.dispose();
      }
      secs.fit += (performance.now() - t) / 1000;
    }
    // the best held-out τ (an undefined τ — a layer whose state is the same for every prompt — never wins)
    const tau = (l: LayerScore) => (Number.isFinite(l.heldOut.tauT0) ? l.heldOut.tauT0 : -Infinity);
    const best = layers.reduce((a, b) => (tau(b) > tau(a) ? b : a));

    // ---- the probe: the chosen layer's total head on every train record, the remaining head on greedy answers
    const probe = new LengthProbe(config(best.layer), null, j.fit.seed);
    try {
      let t = performance.now();
      const f = features.get(best.layer)!;
      await fitProbeHead(probe, 'total', f.train, { ...j.fit, label: `probe total (layer ${best.layer})` });
      const valPred = probe.predict('total', f.val);
      secs.fit += (performance.now() - t) / 1000;
      let remaining: ProbeSummary['remaining'];
      if (j.remainingQueries > 0) {
        t = performance.now();
        const opts = { layer: best.layer, maxNewTokens: j.maxNewTokens, batchSize: j.batchSize, seed: j.fit.seed };
        const rows = await answerStates(model, tokenizer, train.prompts.slice(0, j.remainingQueries), { ...opts, positionsPerAnswer: j.positionsPerAnswer });
        await fitProbeHead(probe, 'remaining', rows, { ...j.fit, label: `probe remaining (layer ${best.layer})` });
        // every position of the validation answers (positionsPerAnswer = the longest answer + 1)
        const v = await answerStates(model, tokenizer, val.prompts.slice(0, j.remainingVal), { ...opts, positionsPerAnswer: j.maxNewTokens + 1 });
        const p = probe.predict('remaining', v.features);
        const atPrompt = v.targets.map((_, k) => k).filter((k) => k === 0 || v.query[k] !== v.query[k - 1]);
        // the baseline a refinement must beat: the total head's prediction at the prompt, minus the tokens generated since
        const promptRow = new Map(atPrompt.map((k) => [v.query[k], k]));
        const totalAtPrompt = probe.predict('total', pickRows(v, atPrompt).features);
        const totalOf = new Map(atPrompt.map((k, i) => [v.query[k], totalAtPrompt[i]]));
        const base = v.targets.map((y, k) => Math.max(1, totalOf.get(v.query[k])! - (v.targets[promptRow.get(v.query[k])!] - y)));
        remaining = {
          positions: v.n, mae: meanAbsoluteError(p, v.targets), tau: kendallTauB(p, v.targets), rho: spearmanRho(p, v.targets),
          maeAtPrompt: meanAbsoluteError(atPrompt.map((k) => p[k]), atPrompt.map((k) => v.targets[k])),
          baselineMae: meanAbsoluteError(base, v.targets), baselineTau: kendallTauB(base, v.targets),
        };
        secs.remaining = (performance.now() - t) / 1000;
      }
      probe.save(j.out);
      writeJson(j.predictions, val.ids.map((id, i) => ({ id, predicted: valPred[i], L_max: val.lMax[i] })));
      secs.total = (performance.now() - t0) / 1000;
      const summary: ProbeSummary = {
        layer: best.layer, layers, val: score(valPred, val), remaining, trainRecords: train.prompts.length, parameters: probe.numParameters(), seconds: secs,
      };
      writeJson(join(j.out, 'probe_summary.json'), summary);
      writeFileSync(join(j.out, 'README.md'), probeCard(j, summary));
      return summary;
    } finally {
      probe.dispose();
    }
  } finally {
    model.dispose();
  }
}

/** The probe folder's model card: what it reads, how it was chosen and what it scores. */
function probeCard(j: ProbeJob, s: ProbeSummary): string {
  const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  return [
    `# Length probe on ${j.model}`,
    '',
    `A ${j.hiddenSize > 0 ? `1-hidden-layer MLP (${j.hiddenSize} ReLU)` : 'linear'} head on hidden state ${s.layer} (HF numbering: 0 = embeddings) at the`,
    `generation prompt's last position, predicting ${j.target} (${j.head.kind} head${j.head.kind === 'buckets' ? `, cell ${j.head.cell}, decode ${j.head.decode}` : ''}), and a remaining-length`,
    'head on the same layer after each generated token. Written by the `probe` stage of experiments/seqsch.yaml',
    `from ${j.data} / ${j.lengths} (${s.trainRecords} records); ${s.parameters} parameters.`,
    '',
    '| layer | held-out τ (L_t0.0) | held-out Acc-50 | val τ (L_t0.0) | val Acc-50 |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...s.layers.map((l) => `| ${l.layer}${l.layer === s.layer ? ' (chosen)' : ''} | ${f(l.heldOut.tauT0)} | ${f(100 * l.heldOut.acc50, 1)} % | ${f(l.val.tauT0)} | ${f(100 * l.val.acc50, 1)} % |`),
    '',
    `Validation (first ${j.numVal}): Error ${f(s.val.error, 1)}, Acc-50 ${f(100 * s.val.acc50, 1)} %, Acc-100 ${f(100 * s.val.acc100, 1)} %, MAE vs L_t0.0 ${f(s.val.maeT0, 1)}, τ ${f(s.val.tauT0)} (L_t0.0) / ${f(s.val.tauMax)} (L_max).`,
    ...(s.remaining ? [`Remaining head on ${s.remaining.positions} positions of ${j.remainingVal} validation answers: MAE ${f(s.remaining.mae, 1)} decode steps (${f(s.remaining.maeAtPrompt, 1)} at the prompt), τ ${f(s.remaining.tau)}; the total head minus the tokens generated: MAE ${f(s.remaining.baselineMae, 1)}, τ ${f(s.remaining.baselineTau)}.`] : []),
    '',
  ].join('\n');
}
