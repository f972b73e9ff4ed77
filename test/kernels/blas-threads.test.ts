/**
 * The native kernels' thread budget (src/kernels/blas-threads.ts): SEQSCH_THREADS (and the older
 * SEQSCH_BLAS_THREADS) override it and bad values are refused with the variable named; a cgroup CPU quota
 * (v2 `cpu.max`, v1 cfs_quota_us/cfs_period_us) is read as cores, rounded up, and "max" or −1 means no limit.
 * Whether the pool holds up on a busy machine is measured by `npm run bench:peer -- --busy 2`, not here.
 */
import { availableParallelism } from 'node:os';
import { coresFromCpuMax, quotaCores, threadBudget, threadsFor } from '../../src/kernels/blas-threads.js';

describe('thread budget', () => {
  test('SEQSCH_THREADS wins over SEQSCH_BLAS_THREADS and over the cores available', () => {
    expect(threadBudget({ SEQSCH_THREADS: '3', SEQSCH_BLAS_THREADS: '5' })).toEqual({
      threads: 3,
      why: 'SEQSCH_THREADS',
    });
    expect(threadBudget({ SEQSCH_BLAS_THREADS: '5' })).toEqual({ threads: 5, why: 'SEQSCH_BLAS_THREADS' });
    const free = threadBudget({});
    expect(free.threads).toBeGreaterThanOrEqual(1);
    expect(free.threads).toBeLessThanOrEqual(availableParallelism());
  });

  test.each(['0', '-2', '1.5', 'two'])('SEQSCH_THREADS=%s is refused with the variable named', (v) => {
    expect(() => threadBudget({ SEQSCH_THREADS: v })).toThrow(`SEQSCH_THREADS=${v}: expected a positive integer`);
  });

  test('cgroup quotas in cores, rounded up; no limit reads as undefined', () => {
    expect(coresFromCpuMax('200000 100000\n')).toBe(2);
    expect(coresFromCpuMax('150000 100000')).toBe(2);
    expect(coresFromCpuMax('50000 100000')).toBe(1);
    expect(coresFromCpuMax('max 100000')).toBeUndefined();
    expect(quotaCores(-1, 100000)).toBeUndefined();
    expect(quotaCores(400000, 100000)).toBe(4);
  });

  test('a product gets one thread below 2^18 multiply-adds, the whole budget from there', () => {
    expect(threadsFor(16, 192, 192, 2)).toBe(2); // 589,824
    expect(threadsFor(1, 576, 192, 2)).toBe(1); // 110,592
    expect(threadsFor(64, 4096, 4096, 3)).toBe(3);
  });
});
