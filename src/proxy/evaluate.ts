/**
 * Score a prediction list `[{id, predicted}]` against recorded lengths: the paper's Error / Acc-50 / Acc-100 against
 * L_max and the ranking view against L_t0.0 (src/scoring/ranking.ts), beside the constant predictors: the train
 * median (fit on TRAIN, applied here) and the best constant in hindsight per metric. It reads files and computes
 * numbers; it does not predict.
 */
import { lMax, loadLengths } from '../data/conversation.js';
import { constantBaselines, type TrainConstantBaselines } from '../scoring/train-constants.js';
import { predictorScore, predictorTable, type PredictorScore } from '../scoring/ranking.js';
import { PAPER_PERCEPTION } from '../scoring/evaluate.js';

export interface Prediction {
  id: string;
  predicted: number;
}

export interface Evaluation {
  model: PredictorScore;
  /** the train-median constant scored the same way (its τ and ρ are undefined: it orders nothing) */
  trainMedian?: PredictorScore;
  constants?: TrainConstantBaselines;
}

export function evaluatePredictions(
  preds: Prediction[],
  lengthsPath: string,
  trainLengthsPath?: string,
  maxLength = 512,
): Evaluation {
  const records = new Map(loadLengths(lengthsPath).map((r) => [r.id, r]));
  const rec = preds.map((p) => {
    const r = records.get(p.id);
    if (r === undefined) throw new Error(`${lengthsPath}: no recorded lengths for predicted query id ${p.id}`);
    return r;
  });
  const y = rec.map(lMax);
  const y0 = rec.map((r) => r['L_t0.0']);
  const model = predictorScore(
    preds.map((p) => p.predicted),
    y,
    y0,
  );
  if (!trainLengthsPath) return { model };
  const constants = constantBaselines(loadLengths(trainLengthsPath).map(lMax), y, maxLength);
  return {
    model,
    trainMedian: predictorScore(
      y.map(() => constants.trainMedian.value),
      y,
      y0,
    ),
    constants,
  };
}

/** One markdown table: ours, the paper's Vicuna-7B self-perception, the constant predictors. */
export function evaluationTable(e: Evaluation, label = 'proxy predictor (ours)'): string {
  const rows: Parameters<typeof predictorTable>[1] = [{ lead: [label], score: e.model }];
  rows.push({
    lead: ['paper: Vicuna-7B + LoRA (perception in advance)'],
    score: { error: PAPER_PERCEPTION.error, acc50: PAPER_PERCEPTION.acc50, acc100: PAPER_PERCEPTION.acc100 },
  });
  if (e.constants && e.trainMedian) {
    const c = e.constants;
    rows.push({ lead: [`constant ${c.trainMedian.value} (train median)`], score: e.trainMedian });
    rows.push({
      lead: [`best constant for Error in hindsight (${c.oracle.error.value})`],
      score: c.oracle.error.metrics,
    });
    rows.push({
      lead: [`best constant for Acc-50 in hindsight (${c.oracle.acc50.value})`],
      score: c.oracle.acc50.metrics,
    });
    rows.push({
      lead: [`best constant for Acc-100 in hindsight (${c.oracle.acc100.value})`],
      score: c.oracle.acc100.metrics,
    });
  }
  return predictorTable(['Predictor (Error/Acc against L_max)'], rows);
}
