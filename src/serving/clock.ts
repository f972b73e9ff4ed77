/**
 * The serving harness's clock. The real engine runs on the wall clock, with the time the server would sit idle
 * waiting for the next arrival skipped (nothing is measured then, so skipping changes no latency); the
 * simulator's clock moves only by the seconds its cost model charges. Both take `charge`: seconds that did not
 * pass in this process (a predictor's time read from a file or charged by a cost model).
 */

export interface Clock {
  /** seconds since the run started */
  now(): number;
  /** a call that took `seconds` has returned (the wall clock saw them pass already) */
  elapsed(seconds: number): void;
  /** add `seconds` that did not pass here */
  charge(seconds: number): void;
  /** nothing to do until `t`: jump there */
  idleUntil(t: number): void;
}

export class WallClock implements Clock {
  private readonly t0 = performance.now();
  private skipped = 0;
  now(): number {
    return (performance.now() - this.t0) / 1000 + this.skipped;
  }
  elapsed(): void {}
  charge(seconds: number): void {
    this.skipped += seconds;
  }
  idleUntil(t: number): void {
    const now = this.now();
    if (t > now) this.skipped += t - now;
  }
}

export class SimClock implements Clock {
  private t = 0;
  now(): number {
    return this.t;
  }
  elapsed(seconds: number): void {
    this.t += seconds;
  }
  charge(seconds: number): void {
    this.t += seconds;
  }
  idleUntil(t: number): void {
    this.t = Math.max(this.t, t);
  }
}
