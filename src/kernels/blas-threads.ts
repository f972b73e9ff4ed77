/**
 * How many OpenBLAS threads one sgemm call gets, from its shape. Small products (decode steps at
 * small batch) lose more to waking a second thread than they gain; large ones (prefill, training)
 * scale to both cores. The threshold comes from bench/threads.ts on the project machine (see README).
 * This module only decides; src/kernels/blas.ts passes the number to the addon.
 */

/** Work (multiply-adds, M*N*K per matrix) below which one thread is faster. */
export const SINGLE_THREAD_BELOW = 2 ** 21;
/** Fixed thread count for every call (bench/threads.ts measures with it); 0 = use the policy. */
let forced = 0;

/** Force `n` threads for every call (0 restores the size policy). For measurements only. */
export function forceBlasThreads(n: number): void {
  forced = Math.max(0, Math.floor(n));
}

/** Threads for one call computing `batch` products of (M, K) @ (K, N). */
export function threadsFor(M: number, N: number, K: number, batch: number, maxThreads: number): number {
  if (forced > 0) return Math.min(forced, maxThreads);
  // A batch of matrices loops over single sgemm calls in the addon; each call decides alone.
  return M * N * K < SINGLE_THREAD_BELOW ? 1 : maxThreads;
}
