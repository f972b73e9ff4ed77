/**
 * How many threads one sgemm call gets, from its shape: one below 2^18 multiply-adds, else all. The addon splits
 * the product over its own thread pool (OpenBLAS single-threaded), or hands the count to OpenBLAS when
 * SEQSCH_BLAS_POOL=0.
 * Measured on the 2-core project machine: a product timed alone in a loop (bench/threads.ts) favours one
 * thread up to 16 rows, but inside a whole decode step (fused native kernels, 2 to 4 products per layer
 * back to back) two threads win at batch 16 (bench model step 3.4 → 2.6 ms) and cost nothing at batch 1
 * or 64, because the second thread stays hot from one call to the next. This module only decides;
 * src/kernels/blas.ts passes the number to the addon.
 */

/** Work (multiply-adds, M·K·N of one product) below which one thread is faster even inside a step. */
export const SINGLE_THREAD_BELOW = 2 ** 18;

/** Fixed thread count for every call (bench/threads.ts measures with it); 0 = use the policy. */
let forced = 0;

/** Force `n` threads for every call (0 restores the size policy). For measurements only. */
export function forceBlasThreads(n: number): void {
  forced = Math.max(0, Math.floor(n));
}

/**
 * Threads for one sgemm of (M, K) @ (K, N). A batch of matrices is a loop of such calls in the addon,
 * so `M, K, N` are per matrix.
 */
export function threadsFor(M: number, N: number, K: number, maxThreads: number): number {
  if (forced > 0) return Math.min(forced, maxThreads);
  const work = M * N * K;
  if (work < SINGLE_THREAD_BELOW) return 1;
  return maxThreads;
}
