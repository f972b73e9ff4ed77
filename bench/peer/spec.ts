/**
 * What the two sides of `npm run bench:peer` agree on: the specs the driver writes, the JSON they print and the
 * prompts of the timed points (bench/peer/llama.py builds the same prompts with the same formula).
 */

/** check: greedy tokens for `prompts`, then logits of a full forward over each prompt + its tokens. */
export interface CheckSpec {
  prompts: number[][];
  maxNew: number;
}

/** time: generate() at each batch (prompt promptLen, newTokens new), and a prefill of prefill[0] prompts of ≤ prefill[1] tokens. */
export interface TimeSpec {
  batches: number[];
  promptLen: number;
  newTokens: number;
  /** [B, T]: B left-padded prompts of T − (r mod 17) tokens, one generated token */
  prefill: [number, number] | null;
  reps: number;
  /** warm-up: the same run repeated until this many seconds have passed (at least once; 0 or absent: once) */
  warmupSeconds?: number;
}

/** Runs `once` as the warm-up of a timed point: at least once, then again until `seconds` have passed. */
export async function warmUp(once: () => unknown, seconds = 0): Promise<void> {
  const t0 = performance.now();
  do await once();
  while (performance.now() - t0 < seconds * 1000);
}

/** Seconds of each run: decode[B] and prefill, `reps` entries each. */
export interface TimeResult {
  decode: Record<number, number[]>;
  prefill: number[] | null;
  /** ours only: the thread pool's counts over the run (calls shared, of them late, calls run solo) */
  pool?: { shared: number; late: number; solo: number };
}

/**
 * B prompts of T token ids in [3, V) (ids 0–2 are pad/BOS/EOS), different in every row; ragged: row r has
 * T − (r mod 17) tokens, so a batch is left-padded as the paper's prediction prefill is.
 */
export function peerPrompts(B: number, T: number, V: number, ragged = false): number[][] {
  return Array.from({ length: B }, (_, r) =>
    Array.from({ length: T - (ragged ? r % 17 : 0) }, (_, t) => 3 + ((r * 131 + t * 17) % (V - 3))),
  );
}
