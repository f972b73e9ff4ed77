/**
 * Score a prediction list `[{id, predicted}]` against recorded lengths (target L_max), beside the constant
 * predictors: the train median (fit on TRAIN, applied here) and the best constant in hindsight per metric.
 * It reads files and computes numbers; it does not predict.
 */
import { lMax, loadLengths } from '../data/conversation.js';
import { constantBaselines, lengthMetrics, type ConstantBaselines, type LengthMetrics } from './metrics.js';

export interface Prediction {
  id: string;
  predicted: number;
}

export interface Evaluation {
  model: LengthMetrics;
  constants?: ConstantBaselines;
}

export function evaluatePredictions(preds: Prediction[], lengthsPath: string, trainLengthsPath?: string, maxLength = 512): Evaluation {
  const target = new Map(loadLengths(lengthsPath).map((r) => [r.id, lMax(r)]));
  const y = preds.map((p) => {
    const t = target.get(p.id);
    if (t === undefined) throw new Error(`${lengthsPath}: no recorded lengths for predicted query id ${p.id}`);
    return t;
  });
  const model = lengthMetrics(preds.map((p) => p.predicted), y);
  if (!trainLengthsPath) return { model };
  return { model, constants: constantBaselines(loadLengths(trainLengthsPath).map(lMax), y, maxLength) };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** One markdown table: ours, the paper's Vicuna-7B self-perception, the constant predictors. */
export function evaluationTable(e: Evaluation, label = 'proxy predictor (ours)'): string {
  const row = (name: string, m: LengthMetrics) => `| ${name} | ${m.error.toFixed(1)} | ${pct(m.acc50)} | ${pct(m.acc100)} |`;
  const lines = ['| Predictor (target L_max) | Error | Acc-50 | Acc-100 |', '| --- | ---: | ---: | ---: |', row(label, e.model),
    '| paper: Vicuna-7B + LoRA (perception in advance) | 62 | 59% | 81% |'];
  if (e.constants) {
    const c = e.constants;
    lines.push(row(`constant ${c.trainMedian.value} (train median)`, c.trainMedian.metrics));
    lines.push(row(`best constant for Error in hindsight (${c.oracle.error.value})`, c.oracle.error.metrics));
    lines.push(row(`best constant for Acc-50 in hindsight (${c.oracle.acc50.value})`, c.oracle.acc50.metrics));
    lines.push(row(`best constant for Acc-100 in hindsight (${c.oracle.acc100.value})`, c.oracle.acc100.metrics));
  }
  return lines.join('\n') + '\n';
}
