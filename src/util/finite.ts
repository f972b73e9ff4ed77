/**
 * Non-finite values (NaN, ±Infinity) in host arrays: loaded weights are checked once, here, so a damaged
 * checkpoint fails at load naming the tensor instead of giving all-NaN logits later. About 1 ms per million
 * values (a plain loop); device tensors are checked by the trainer (src/training/trainer.ts).
 */

/** Index of the first NaN or ±Infinity in `a`, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v - v !== 0) return i; // NaN − NaN and ∞ − ∞ are NaN; every finite v − v is 0
  }
  return -1;
}

/** Throw `${where}: tensor '${name}' holds … at flat index i` when `a` holds a non-finite value. */
export function assertFiniteWeights(a: ArrayLike<number>, where: string, name: string): void {
  const i = firstNonFinite(a);
  if (i >= 0)
    throw new Error(
      `${where}: tensor '${name}' holds ${a[i]} at flat index ${i}; every weight must be finite (a damaged or diverged checkpoint?)`,
    );
}
