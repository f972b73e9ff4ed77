/**
 * Shared pieces of the engine benchmarks: the matmul shapes of the ~5M-parameter LLaMA (decode at
 * batch 1/16/64, prefill/training at 1024 rows), a timer that repeats until a time budget is spent,
 * and numpy/OpenBLAS sgemm rates through python3 when numpy exists. No assertions: numbers only.
 */
import { spawnSync } from 'node:child_process';
import type { LlamaConfig } from '../src/model/config.js';

/** The ~5.2M-parameter LLaMA the engine benchmarks build (Llama.random(BENCH_MODEL, 0)): hidden 256, 4 layers, 8 heads, vocab 4000. */
export const BENCH_MODEL: LlamaConfig = {
  hiddenSize: 256,
  intermediateSize: 688,
  numLayers: 4,
  numHeads: 8,
  numKvHeads: 8,
  headDim: 32,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  maxPositionEmbeddings: 512,
  vocabSize: 4000,
  tieWordEmbeddings: false,
  bosTokenId: 1,
  eosTokenId: 2,
  padTokenId: 0,
};

/** One product (M, K) @ (K, N). */
export interface Shape {
  label: string;
  m: number;
  k: number;
  n: number;
}

/**
 * The weight matmuls of the ~5M-parameter LLaMA (hidden 256, intermediate 688, vocab 4000) for `rows`
 * rows (batch × tokens), as src/model/llama.ts runs them: fused q/k/v, o, fused gate/up, down (each
 * once per layer) and the LM head once.
 */
export function modelShapes(rows: number, tag: string): Shape[] {
  return [
    { label: `${tag} qkv`, m: rows, k: 256, n: 768 },
    { label: `${tag} o`, m: rows, k: 256, n: 256 },
    { label: `${tag} gate/up`, m: rows, k: 256, n: 1376 },
    { label: `${tag} down`, m: rows, k: 688, n: 256 },
    { label: `${tag} lm_head`, m: rows, k: 256, n: 4000 },
  ];
}

/** How many times each of modelShapes' products runs in one forward of `layers` layers. */
export function shapeCounts(layers: number): number[] {
  return [layers, layers, layers, layers, 1];
}

export const flops = (s: Shape) => 2 * s.m * s.k * s.n;

/**
 * Seconds per call of `fn`: the best round of several (each round repeats `fn` for ~budget/5),
 * until `budgetMs` is spent. The best round, not the median, because the machine is shared: other
 * processes only ever add time, so the minimum is the closest to the uncontended cost.
 */
export function timeIt(fn: () => void, budgetMs = 300): number {
  fn(); // warm-up (first-call setup, memory growth)
  // Calls per round so that one round takes ~budget/5.
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const dt = performance.now() - t0;
    if (dt > budgetMs / 5 || reps > 1e6) break;
    reps *= Math.max(2, Math.ceil(budgetMs / 5 / Math.max(dt, 0.01)));
  }
  const rounds: number[] = [];
  const end = performance.now() + budgetMs;
  while (rounds.length < 3 || performance.now() < end) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    rounds.push((performance.now() - t0) / reps / 1000);
  }
  return Math.min(...rounds);
}

/**
 * numpy (OpenBLAS) float32 matmul rate per shape (best round, as timeIt), GFLOP/s, the better of
 * OpenBLAS on 1 thread and on its default thread count (numpy's default threading loses badly on small
 * products when the cores are busy, and we want the best OpenBLAS can do as the yardstick). Undefined
 * when python3 or numpy is missing. Also returns numpy's per-call time on a 1×1×1 product.
 */
export function numpyRates(shapes: Shape[], budgetS = 0.3): { rates?: number[]; overheadUs?: number; why?: string } {
  const one = numpyRun(shapes, budgetS, { OPENBLAS_NUM_THREADS: '1' });
  if (!one.rates) return one;
  const all = numpyRun(shapes, budgetS, {});
  if (!all.rates) return one;
  return {
    rates: one.rates.map((r, i) => Math.max(r, all.rates![i])),
    overheadUs: Math.min(one.overheadUs!, all.overheadUs!),
  };
}

function numpyRun(
  shapes: Shape[],
  budgetS: number,
  env: Record<string, string>,
): { rates?: number[]; overheadUs?: number; why?: string } {
  const py = `
import json, sys, time
import numpy as np
shapes = json.loads(sys.argv[1]); budget = float(sys.argv[2])
def rate(m, k, n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32); b = rng.standard_normal((k, n), dtype=np.float32)
    a @ b
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps): a @ b
        dt = time.perf_counter() - t0
        if dt > budget / 5: break
        reps *= 2
    best = []
    end = time.perf_counter() + budget
    while len(best) < 3 or time.perf_counter() < end:
        t0 = time.perf_counter()
        for _ in range(reps): a @ b
        best.append((time.perf_counter() - t0) / reps)
    return min(best)
out = [2 * m * k * n / rate(m, k, n) / 1e9 for (m, k, n) in shapes]
print(json.dumps({"rates": out, "overhead_us": rate(1, 1, 1) * 1e6}))
`;
  const r = spawnSync('python3', ['-c', py, JSON.stringify(shapes.map((s) => [s.m, s.k, s.n])), String(budgetS)], {
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, ...env },
  });
  if (r.error) return { why: `python3 not runnable (${r.error.message})` };
  if (r.status !== 0)
    return {
      why: /No module named .numpy/.test(r.stderr)
        ? 'numpy not installed'
        : `python3 failed: ${r.stderr.trim().split('\n').pop()}`,
    };
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rates: number[]; overhead_us: number };
  return { rates: j.rates, overheadUs: j.overhead_us };
}

/** Fixed-width table for the terminal (and the README). */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => '| ' + r.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
  return [line(cells[0]), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...cells.slice(1).map(line)].join(
    '\n',
  );
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return '—';
  if (Number.isInteger(x) && Math.abs(x) < 1e7) return String(x);
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/**
 * numpy seconds for the weight matmuls of one whole decode step with *distinct* weights per layer
 * (the 5M model's 21 MB of weights streamed once per step, as a real step does), per row count; the
 * better of 1 and default OpenBLAS threads. Undefined when python3/numpy is missing.
 */
export function numpyStepSeconds(
  rowsList: number[],
  shapes: (rows: number) => Shape[],
  counts: number[],
  budgetS = 0.5,
): number[] | undefined {
  const spec = rowsList.map((r) => shapes(r).map((s, i) => [s.m, s.k, s.n, counts[i]]));
  const py = `
import json, sys, time
import numpy as np
spec = json.loads(sys.argv[1]); budget = float(sys.argv[2])
rng = np.random.default_rng(0)
out = []
for shapes in spec:
    ops = []
    for (m, k, n, c) in shapes:
        for _ in range(c):
            ops.append((rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)))
    def step():
        for a, b in ops: a @ b
    step()
    best = 1e9
    end = time.perf_counter() + budget
    while best == 1e9 or time.perf_counter() < end:
        t0 = time.perf_counter(); step(); best = min(best, time.perf_counter() - t0)
    out.append(best)
print(json.dumps(out))
`;
  let best: number[] | undefined;
  for (const env of [{ OPENBLAS_NUM_THREADS: '1' }, {}]) {
    const r = spawnSync('python3', ['-c', py, JSON.stringify(spec), String(budgetS)], {
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, ...env },
    });
    if (r.error || r.status !== 0) return best;
    const t = JSON.parse(r.stdout.trim().split('\n').pop()!) as number[];
    best = best ? best.map((x, i) => Math.min(x, t[i])) : t;
  }
  return best;
}
