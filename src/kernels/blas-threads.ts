/**
 * How many OpenBLAS threads one sgemm call gets, from its shape. Small or thin products (decode steps
 * at batch ≤ 16) lose more to handing half the work to a second thread than they gain; from 32 rows
 * up, or for big products like a batch-16 LM head, both cores win. The thresholds come from
 * bench/threads.ts and scratch runs on the 2-core project machine (see the report in README). This
 * module only decides; src/kernels/blas.ts passes the number to the addon.
 */

/** Work (multiply-adds, M·K·N of one product) below which one thread is always faster. */
export const SINGLE_THREAD_BELOW = 2 ** 21;
/** Rows below which one thread stays faster unless the product is at least BIG_PRODUCT. */
export const MIN_ROWS_FOR_THREADS = 32;
export const BIG_PRODUCT = 2 ** 23;

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
  if (M < MIN_ROWS_FOR_THREADS && work < BIG_PRODUCT) return 1;
  return maxThreads;
}
