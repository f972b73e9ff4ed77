/**
 * Arrivals and predictions as the server sees them, shared by the continuous and the static harness: requests
 * become visible when the clock passes their arrival time; `predict` asks the predictor for a set of them in
 * one call, whose seconds are the server's (elapsed, or charged to the clock). When to predict is the
 * harness's choice: on arrival, or only once requests compete for slots (a request admitted at once needs no
 * order, so its prediction would be pure overhead).
 */
import type { Clock } from './clock.js';
import type { LengthPredictor } from '../core/predictor.js';
import type { ServeRequest } from '../workload/arrivals.js';
import type { PredictorCall } from '../cost/calls.js';

export class Intake {
  private readonly order: ServeRequest[];
  private next = 0;
  readonly predicted = new Map<string, number>();
  readonly calls: PredictorCall[] = [];
  predictorSeconds = 0;

  constructor(
    requests: ServeRequest[],
    private readonly predictor: LengthPredictor | null,
    private readonly clock: Clock,
  ) {
    this.order = [...requests].sort((a, b) => a.arrival - b.arrival || a.index - b.index);
  }

  /** Arrival time of the next request not yet visible (undefined when all arrived). */
  nextArrival(): number | undefined {
    return this.order[this.next]?.arrival;
  }

  /** The requests that arrived by now (not predicted). */
  poll(): ServeRequest[] {
    const now = this.clock.now();
    const out: ServeRequest[] = [];
    while (this.next < this.order.length && this.order[this.next].arrival <= now) out.push(this.order[this.next++]);
    return out;
  }

  /** Predict the requests not predicted yet, in one call (no call without a predictor or without new requests). */
  async predict(requests: ServeRequest[]): Promise<void> {
    const todo = requests.filter((r) => !this.predicted.has(r.id));
    if (!this.predictor || todo.length === 0) return;
    const at = this.clock.now();
    const p = await this.predictor.predict(todo.map((r) => r.item));
    if (p.lengths.length !== todo.length)
      throw new Error(
        `predictor ${this.predictor.name} returned ${p.lengths.length} lengths for ${todo.length} requests`,
      );
    if (p.charged) this.clock.charge(p.seconds);
    todo.forEach((r, i) => this.predicted.set(r.id, p.lengths[i]));
    this.predictorSeconds += p.seconds;
    this.calls.push({ at, requests: todo.length, seconds: p.seconds });
  }
}
