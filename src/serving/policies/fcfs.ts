/** First come, first served: arrival order, never preempts (vLLM's default). */
import { byKey, type Policy } from './policy.js';

export const fcfs: Policy = {
  name: 'fcfs',
  preemptive: false,
  order: (entries) => byKey(entries, (e) => e.arrival),
  preemptible: () => false,
  readsPrediction: false,
};
