/**
 * Shortest job first on the predicted total length, non-preemptive: a free slot goes to the waiting request
 * predicted shortest; a running request always finishes (SSJF, Qiu et al. 2024, with a proxy predictor).
 */
import { byKey, type Policy, type QueueEntry } from './policy.js';

const key = (e: QueueEntry) => e.predicted;

export const sjf: Policy = {
  name: 'sjf',
  preemptive: false,
  order: (entries) => byKey(entries, key),
  preemptible: () => false,
  readsPrediction: true,
  key,
};
