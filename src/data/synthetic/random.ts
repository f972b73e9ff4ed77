/**
 * Seeded random choices for the synthetic corpus (seedrandom's ARC4 generator, so the same seed gives the
 * same corpus on every platform). Only the draws the task families need; no global state.
 */
import seedrandom from 'seedrandom';

export class Rand {
  private readonly next: () => number;
  constructor(seed: string) {
    this.next = seedrandom(seed);
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    return this.next();
  }
  /** Integer uniform in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** Integer whose log is uniform on [log lo, log hi + 1): many small values, a long right tail. */
  logInt(lo: number, hi: number): number {
    const v = Math.floor(Math.exp(Math.log(lo) + this.next() * (Math.log(hi + 1) - Math.log(lo))));
    return Math.min(hi, Math.max(lo, v));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('Rand.pick: empty list');
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** k distinct elements in random order (k ≤ xs.length). */
  sample<T>(xs: readonly T[], k: number): T[] {
    if (k > xs.length) throw new Error(`Rand.sample: asked for ${k} of ${xs.length}`);
    const a = xs.slice();
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.next() * (a.length - i));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a.slice(0, k);
  }
  /** Index drawn with probability proportional to weights[i]. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((s, w) => s + w, 0);
    let u = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    return weights.length - 1;
  }
}
