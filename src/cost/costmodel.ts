/**
 * What a batch costs in time, for the simulated engine: prefill(bs, prompt tokens) + Σ over decode steps of
 * step(bs, context). Either the documented analytic default, measured points read from a JSON file
 * (`{ description, points: [{ batch_size, context, ms_per_step }], prefill?: [{ batch_size, prompt_tokens, ms }] }`)
 * interpolated piecewise-linearly, or a GPU iteration cost model (`{ kind: "iteration", … }`, src/cost/gpu-profile.ts)
 * adapted to the same two calls. It charges time only; which rows finish is the engine's business.
 */
import { readJson } from '../util/fs.js';
import { gpuProfileFromFile } from './gpu-profile.js';
import type { IterationCostModel, IterationShape, PrefillChunk } from './iteration.js';

/**
 * The engines charge a batch's first token as prefillMs + stepMs (the prefill's own forward yields it) and every
 * later token as one stepMs; batchSeconds below is that sum.
 */
export interface CostModel {
  description: string;
  /** milliseconds of one decode step for `batchSize` rows attending over `context` tokens */
  stepMs(batchSize: number, context: number): number;
  /** milliseconds of the prefill of `batchSize` prompts padded to `promptTokens` */
  prefillMs(batchSize: number, promptTokens: number): number;
  /** set when the model prices whole iterations (a GPU profile): engines that build iterations ask it directly */
  iteration?: IterationCostModel;
}

/** Seconds of a batch: prefill, then `steps` decode steps whose context grows from promptTokens by one per step. */
export function batchSeconds(cm: CostModel, batchSize: number, promptTokens: number, steps: number): number {
  let ms = cm.prefillMs(batchSize, promptTokens);
  for (let s = 0; s < steps; s++) ms += cm.stepMs(batchSize, promptTokens + s);
  return ms / 1000;
}

/**
 * Default: a GPU-regime linear model, step = 28 ms + 0.08 ms·bs + 0.0004 ms·bs·context, prefill =
 * 0.03 ms per prompt token. Constants were chosen by hand so that the simulated Vicuna-7B traces land near
 * the paper's A100 throughputs (vanilla 1.39, gt+VBS+FCR 2.69 samples/s): decode is dominated by a fixed
 * per-step cost (weights read once per step), with a small per-row and per-attended-token term.
 */
export const DEFAULT_COST = { stepBaseMs: 28, stepPerRowMs: 0.08, stepPerRowTokenMs: 0.0004, prefillPerTokenMs: 0.03 };

export function defaultCostModel(c = DEFAULT_COST): CostModel {
  return {
    description: `analytic default: step ${c.stepBaseMs} + ${c.stepPerRowMs}·bs + ${c.stepPerRowTokenMs}·bs·ctx ms, prefill ${c.prefillPerTokenMs} ms/token`,
    stepMs: (bs, ctx) => c.stepBaseMs + c.stepPerRowMs * bs + c.stepPerRowTokenMs * bs * ctx,
    prefillMs: (bs, p) => c.prefillPerTokenMs * bs * p,
  };
}

// ---------------------------------------------------------------- measured points

export interface StepPoint {
  batch_size: number;
  /** mean attended tokens during the measurement; if absent, prompt_tokens + new_tokens / 2 */
  context?: number;
  prompt_tokens?: number;
  new_tokens?: number;
  ms_per_step: number;
}
export interface PrefillPoint {
  batch_size: number;
  prompt_tokens: number;
  ms: number;
}
export interface CostModelFile {
  description: string;
  points: StepPoint[];
  /** absent: prefill is folded into ms_per_step (as in measurements that time whole generate calls) */
  prefill?: PrefillPoint[];
}

/** Piecewise-linear interpolation over sorted xs, clamped to the end values outside the range. */
function interp1(xs: number[], ys: number[], x: number): number {
  if (xs.length === 1 || x <= xs[0]) return ys[0];
  const last = xs.length - 1;
  if (x >= xs[last]) return ys[last];
  let i = 1;
  while (xs[i] < x) i++;
  const t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[i - 1] + t * (ys[i] - ys[i - 1]);
}

/** Interpolate z(a, b) from scattered points: linear in b within each measured a, then linear in a. */
function grid2(points: { a: number; b: number; z: number }[]): (a: number, b: number) => number {
  const byA = new Map<number, { b: number; z: number }[]>();
  for (const p of points) {
    if (!byA.has(p.a)) byA.set(p.a, []);
    byA.get(p.a)!.push({ b: p.b, z: p.z });
  }
  const as = [...byA.keys()].sort((x, y) => x - y);
  const rows = as.map((a) => {
    const r = byA.get(a)!.sort((x, y) => x.b - y.b);
    return { bs: r.map((p) => p.b), zs: r.map((p) => p.z) };
  });
  return (a, b) =>
    interp1(
      as,
      rows.map((r) => interp1(r.bs, r.zs, b)),
      a,
    );
}

export function costModelFromPoints(file: CostModelFile, source = 'cost model'): CostModel {
  if (!file || !Array.isArray(file.points) || file.points.length === 0) {
    throw new Error(
      `${source}: expected { description, points: [{ batch_size, context, ms_per_step }, …] } with at least one point`,
    );
  }
  const steps = file.points.map((p, i) => {
    const context =
      p.context ?? (p.prompt_tokens !== undefined ? p.prompt_tokens + (p.new_tokens ?? 0) / 2 : undefined);
    if (!(p.batch_size > 0) || !(p.ms_per_step >= 0) || context === undefined || !Number.isFinite(context)) {
      throw new Error(`${source}: points[${i}] needs batch_size > 0, ms_per_step ≥ 0 and context (or prompt_tokens)`);
    }
    return { a: p.batch_size, b: context, z: p.ms_per_step };
  });
  const step = grid2(steps);
  const prefillPts = (file.prefill ?? []).map((p, i) => {
    if (!(p.batch_size > 0) || !(p.prompt_tokens >= 0) || !(p.ms >= 0)) {
      throw new Error(`${source}: prefill[${i}] needs batch_size > 0, prompt_tokens ≥ 0 and ms ≥ 0`);
    }
    return { a: p.batch_size, b: p.prompt_tokens, z: p.ms };
  });
  const prefill = prefillPts.length ? grid2(prefillPts) : () => 0;
  return { description: file.description ?? source, stepMs: step, prefillMs: prefill };
}

/**
 * A CostModel over an iteration cost model, for the static pipeline's padded batches:
 * stepMs(bs, ctx) = one iteration of bs decode rows at ctx KV tokens each;
 * prefillMs(bs, P) = one iteration of bs prefills of P tokens − stepMs(bs, P), floored at 0, so that the engines'
 * prefillMs + stepMs for the first token is exactly the prefill iteration (which yields the first token, as in
 * vLLM and Vidur) and each later token one decode iteration.
 */
export function costModelFromIteration(it: IterationCostModel): CostModel {
  const decode: IterationShape = { prefills: [], decodeRows: 0, decodeContext: 0 };
  const prefill: IterationShape = { prefills: [], decodeRows: 0, decodeContext: 0 };
  const chunk: PrefillChunk = { tokens: 0, cached: 0 };
  const stepMs = (bs: number, ctx: number): number => {
    decode.decodeRows = bs;
    decode.decodeContext = bs * ctx;
    return it.iterationMs(decode);
  };
  return {
    description: it.estimated ? `${it.description} [ESTIMATED: ${it.estimated}]` : it.description,
    stepMs,
    prefillMs: (bs, p) => {
      if (!(bs > 0) || !(p > 0)) return 0;
      chunk.tokens = p;
      // bs identical prompts: the same chunk object bs times (only its fields are read)
      while (prefill.prefills.length < bs) prefill.prefills.push(chunk);
      prefill.prefills.length = bs;
      return Math.max(0, it.iterationMs(prefill) - stepMs(bs, p));
    },
    iteration: it,
  };
}

/** A cost model file: measured points (costModelFromPoints) or a GPU iteration profile (kind "iteration"). */
export function loadCostModel(path: string): CostModel {
  const raw = readJson<CostModelFile & { kind?: unknown }>(path);
  if (raw && typeof raw === 'object' && raw.kind !== undefined) {
    if (raw.kind !== 'iteration')
      throw new Error(`${path}: kind must be "iteration" or absent (got ${JSON.stringify(raw.kind)})`);
    return costModelFromIteration(gpuProfileFromFile(raw, path));
  }
  return costModelFromPoints(raw, path);
}
