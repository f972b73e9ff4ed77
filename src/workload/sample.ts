/**
 * numpy-compatible sampling of the benchmark subset: `np.random.seed(seed); np.random.permutation(N)[:k]`
 * with numpy's legacy RandomState (MT19937), reproduced bit for bit so `--num-data 1024 --seed 42` picks the
 * same queries the paper used. This is the only place numpy's generator is imitated; every other random
 * choice in the project uses seedrandom.
 */

const N = 624; // MT19937 state words
const M = 397;

/** MT19937 as numpy's legacy RandomState seeds it from an integer (`mt19937_seed`, Knuth's init_genrand). */
export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private pos = N;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`seed must be an integer in [0, 2^32 - 1] (numpy's rule), got ${seed}`);
    }
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1];
      // 1812433253 * (prev ^ (prev >>> 30)) + i, modulo 2^32
      this.mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  /** Regenerate the 624-word state block (the "twist"). */
  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      mt[i] = (mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)) >>> 0;
    }
    this.pos = 0;
  }

  /** Next tempered 32-bit output (numpy's `next_uint32`). */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * Uniform integer in [0, max] by masked rejection (numpy's `random_interval`): draw 32 bits, keep the
   * smallest all-ones mask ≥ max, retry while the value exceeds max. Only max < 2^32 is needed here.
   */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0;
    while (value > max);
    return value;
  }
}

/**
 * `np.random.seed(seed); np.random.permutation(n)`: arange(n) shuffled in place by the legacy Fisher–Yates
 * (for i = n-1 down to 1: swap x[i] with x[random_interval(i)]).
 */
export function numpyPermutation(n: number, seed: number): number[] {
  const rng = new MT19937(seed);
  const x = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i >= 1; i--) {
    const j = rng.interval(i);
    const t = x[i];
    x[i] = x[j];
    x[j] = t;
  }
  return x;
}

/** Indices of the benchmark subset: the first `numData` entries of the permutation (all of it when omitted). */
export function sampleIndices(total: number, numData: number | undefined, seed: number): number[] {
  const perm = numpyPermutation(total, seed);
  return numData === undefined ? perm : perm.slice(0, numData);
}
