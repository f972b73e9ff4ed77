/**
 * How many threads the native kernels may use (the thread budget), and how many one sgemm call gets, from its
 * shape: one below 2^18 multiply-adds, else the whole budget. The addon splits
 * the product over its own thread pool (OpenBLAS single-threaded), or hands the count to OpenBLAS when
 * SEQSCH_BLAS_POOL=0.
 * Measured on the 2-core project machine: a product timed alone in a loop (bench/threads.ts) favours one
 * thread up to 16 rows, but inside a whole decode step (fused native kernels, 2 to 4 products per layer
 * back to back) two threads win at batch 16 (bench model step 3.4 → 2.6 ms) and cost nothing at batch 1
 * or 64, because the second thread stays hot from one call to the next. This module only decides;
 * src/kernels/blas.ts passes the number to the addon.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Work (multiply-adds, M·K·N of one product) below which one thread is faster even inside a step. */
export const SINGLE_THREAD_BELOW = 2 ** 18;

/** The threshold in use (SINGLE_THREAD_BELOW unless a measurement changed it with setSingleThreadBelow). */
let threshold = SINGLE_THREAD_BELOW;

/** Set the one-thread threshold (multiply-adds) for measurements; returns the previous one. */
export function setSingleThreadBelow(work: number): number {
  const was = threshold;
  threshold = Math.max(0, work);
  return was;
}

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
  if (work < threshold) return 1;
  return maxThreads;
}

/** Cores a cgroup v2 `cpu.max` line ("200000 100000"; "max 100000" = no limit) allows, rounded up; undefined without a limit. */
export function coresFromCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  return quotaCores(Number(quota), Number(period ?? 100000));
}

/** Cores a CFS quota/period (µs) allows, rounded up (as Go and the JVM do); undefined when unlimited or unreadable. */
export function quotaCores(quota: number, period: number): number | undefined {
  if (!(quota > 0) || !(period > 0)) return undefined;
  return Math.max(1, Math.ceil(quota / period));
}

/** The CPU quota of this process's cgroup (v2 cpu.max, else v1 cfs_quota_us), in cores; undefined when there is none. */
function cgroupCores(): number | undefined {
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  };
  // v2: the cgroup named in /proc/self/cgroup ("0::/path"), as mounted at /sys/fs/cgroup (a container sees its own at the root)
  const v2path = /^0::(\/.*)$/m.exec(read('/proc/self/cgroup') ?? '')?.[1] ?? '/';
  for (const dir of [`/sys/fs/cgroup${v2path === '/' ? '' : v2path}`, '/sys/fs/cgroup']) {
    const max = read(`${dir}/cpu.max`);
    if (max !== undefined) return coresFromCpuMax(max);
  }
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    const quota = read(`${dir}/cpu.cfs_quota_us`),
      period = read(`${dir}/cpu.cfs_period_us`);
    if (quota !== undefined && period !== undefined) return quotaCores(Number(quota), Number(period));
  }
  return undefined;
}

/**
 * The thread budget of the native kernels and why: SEQSCH_THREADS (or the older SEQSCH_BLAS_THREADS) when set to a
 * positive integer, else the cores this process may run on — os.availableParallelism() (the CPU affinity mask),
 * capped by a cgroup CPU quota (a container's or a Slurm job's limit, which the affinity mask does not show).
 */
export function threadBudget(env: NodeJS.ProcessEnv = process.env): { threads: number; why: string } {
  for (const name of ['SEQSCH_THREADS', 'SEQSCH_BLAS_THREADS']) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`${name}=${v}: expected a positive integer (threads of the native kernels)`);
    return { threads: n, why: name };
  }
  const cores = availableParallelism();
  const quota = cgroupCores();
  return quota !== undefined && quota < cores
    ? { threads: quota, why: `cgroup CPU quota (${cores} cores visible)` }
    : { threads: cores, why: 'available cores' };
}
