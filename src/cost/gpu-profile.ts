/**
 * A GPU iteration cost model from measured per-operation profiles (data/costmodels/*-llama2-7b.json, written by
 * scripts/make-gpu-costmodels.mjs from Vidur's profiles): loads and validates the file, precomputes dense lookup
 * tables, and prices an iteration the way Vidur combines its per-op predictions (data/costmodels/README.md has the
 * rules with Vidur's file/line references):
 *
 *   iterationMs = overheadMs + layers × ( linear(n) + decodeAttention + prefillAttention )
 *   n       = Σ prefill tokens + decode rows, rounded up to a multiple of 8 (vidur.tokenRounding)
 *   linear  = Σ of the per-layer token-wise ops at n (projections, rope, two RMSNorms, SiLU·mul, add)
 *   decode  = D(decode rows, ⌈⌊Σ decode KV / rows⌋ / 64⌉·64) × (1 + f_d·[rows > 1])
 *   prefill = P(round(√Σ chunk²), Σ ⌈cached / 64⌉·64) × (1 + f_p·[prefills > 1])
 *   f_d, f_p = Vidur's batching-overhead fractions, applied only to GQA models (heads > kvHeads), so 0 for Llama-2-7B.
 *
 * Where Vidur fits random forests to the profiles, this interpolates the measured medians: linear ops
 * piecewise-linearly in n; decode attention piecewise-linearly in KV within each measured batch size; prefill
 * attention piecewise-linearly in KV within each chunk size measured from KV 0 and linearly in chunk² between them.
 * Outside the measured range (all linear in the extrapolated variable unless said):
 * - n beyond the last measured token count: the slope between the last count and half of it;
 * - decode KV outside a batch size's measured KV: that batch's least-squares slope over its own points, from the
 *   nearest measured end (floored at 0); batch beyond the largest measured: linear in batch through the largest
 *   and half of it;
 * - prefill KV outside a chunk size's measured KV: the file's fitted slope β0 + β1·chunk, from the nearest
 *   measured end; chunk below the smallest measured: the smallest's row (a flat floor: launch-bound there);
 *   chunk above the largest measured: the KV-0 term grows with chunk², the KV term with the fitted slope.
 * An iteration with no tokens costs 0 (nothing runs). Embedding, LM head and sampling are not priced (as in Vidur).
 * It does not know requests, memory or scheduling: the engine builds each IterationShape.
 */
import { readJson } from '../util/fs.js';
import type { GpuSpec, IterationCostModel, IterationShape, ModelShape } from './iteration.js';

/** Per-layer token-wise ops summed into a transformer block (Vidur's ExecutionTime), as named in the profiles. */
export const LINEAR_OPS = [
  'attn_pre_proj',
  'attn_post_proj',
  'attn_rope',
  'input_layernorm',
  'mlp_up_proj',
  'mlp_down_proj',
  'mlp_act',
  'post_attention_layernorm',
  'add',
] as const;

/** The file's layout (times in ms per transformer layer). */
export interface GpuProfileFile {
  kind: 'iteration';
  description: string;
  /** present when a term is derived rather than measured (the H100 attention) */
  estimated?: string;
  provenance: { repository: string; commit: string; files: string[]; combined: string; license: string };
  gpu: GpuSpec;
  model: ModelShape;
  vidur: {
    tokenRounding: number;
    kvGranularity: number;
    attentionDecodeBatchingOverheadFraction: number;
    attentionPrefillBatchingOverheadFraction: number;
  };
  overheadMs: number;
  overheadNote?: string;
  linear: { tokens: number[]; ops: Record<(typeof LINEAR_OPS)[number], number[]> };
  /** [batch, kv, ms] */
  decodeAttention: { points: [number, number, number][] };
  /** [chunk, kv, ms] and the KV slope (ms per KV token) = kvSlopeMs + kvSlopePerChunkTokenMs · chunk */
  prefillAttention: { points: [number, number, number][]; kvSlopeMs: number; kvSlopePerChunkTokenMs: number };
}

/** One iteration's time split into its terms (ms for the whole model, i.e. already × layers). */
export interface IterationTerms {
  overhead: number;
  linear: number;
  decodeAttention: number;
  prefillAttention: number;
  /** the token count the linear ops were priced at (rounded) */
  tokensRounded: number;
}

export interface GpuIterationModel extends IterationCostModel {
  /** where the file came from */
  source: string;
  provenance: GpuProfileFile['provenance'];
  overheadMs: number;
  /** the same price as iterationMs, split into terms (allocates; for tests and reports) */
  terms(s: IterationShape): IterationTerms;
}

// ---------------------------------------------------------------- validation

type Obj = Record<string, unknown>;

function fail(source: string, key: string, what: string): never {
  throw new Error(`${source}: ${key} ${what}`);
}
function obj(source: string, v: unknown, key: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(source, key, 'must be an object');
  return v as Obj;
}
function str(source: string, o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0)
    fail(source, `${path}.${key}`.replace(/^\./, ''), 'must be a non-empty string');
  return v;
}
function num(source: string, o: Obj, key: string, path: string, min: number, integer = false): number {
  const v = o[key];
  const where = `${path}.${key}`.replace(/^\./, '');
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail(source, where, `must be a finite number (got ${JSON.stringify(v)})`);
  if (v < min) fail(source, where, `must be ≥ ${min} (got ${v})`);
  if (integer && !Number.isInteger(v)) fail(source, where, `must be an integer (got ${v})`);
  return v;
}
function numArray(source: string, v: unknown, key: string, min: number): number[] {
  if (!Array.isArray(v) || v.length === 0) fail(source, key, 'must be a non-empty array of numbers');
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < min)
      fail(source, `${key}[${i}]`, `must be a number ≥ ${min}`);
  });
  return v as number[];
}
function points(source: string, v: unknown, key: string, firstName: string): [number, number, number][] {
  if (!Array.isArray(v) || v.length === 0) fail(source, key, `must be a non-empty array of [${firstName}, kv, ms]`);
  v.forEach((p, i) => {
    const ok =
      Array.isArray(p) &&
      p.length === 3 &&
      Number.isInteger(p[0]) &&
      p[0] >= 1 &&
      Number.isInteger(p[1]) &&
      p[1] >= 0 &&
      typeof p[2] === 'number' &&
      Number.isFinite(p[2]) &&
      p[2] >= 0;
    if (!ok) fail(source, `${key}[${i}]`, `must be [${firstName} ≥ 1 integer, kv ≥ 0 integer, ms ≥ 0]`);
  });
  return v as [number, number, number][];
}

/** Check every field of a parsed file; errors name the file and the key. */
export function validateGpuProfile(raw: unknown, source: string): GpuProfileFile {
  const f = obj(source, raw, '(top level)');
  if (f.kind !== 'iteration') fail(source, 'kind', `must be "iteration" (got ${JSON.stringify(f.kind)})`);
  str(source, f, 'description', '');
  if (f.estimated !== undefined) str(source, f, 'estimated', '');
  const prov = obj(source, f.provenance, 'provenance');
  for (const k of ['repository', 'commit', 'combined', 'license']) str(source, prov, k, 'provenance');
  if (!Array.isArray(prov.files) || prov.files.length === 0 || prov.files.some((x) => typeof x !== 'string'))
    fail(source, 'provenance.files', 'must be a non-empty array of strings');
  const gpu = obj(source, f.gpu, 'gpu');
  str(source, gpu, 'name', 'gpu');
  num(source, gpu, 'memoryGiB', 'gpu', Number.MIN_VALUE);
  const model = obj(source, f.model, 'model');
  str(source, model, 'name', 'model');
  for (const k of ['layers', 'hidden', 'heads', 'kvHeads', 'intermediate', 'vocab', 'dtypeBytes'])
    num(source, model, k, 'model', 1, true);
  if ((model.hidden as number) % (model.heads as number) !== 0)
    fail(source, 'model.hidden', 'must be a multiple of model.heads');
  if ((model.heads as number) % (model.kvHeads as number) !== 0)
    fail(source, 'model.heads', 'must be a multiple of model.kvHeads');
  const vidur = obj(source, f.vidur, 'vidur');
  num(source, vidur, 'tokenRounding', 'vidur', 1, true);
  num(source, vidur, 'kvGranularity', 'vidur', 1, true);
  num(source, vidur, 'attentionDecodeBatchingOverheadFraction', 'vidur', 0);
  num(source, vidur, 'attentionPrefillBatchingOverheadFraction', 'vidur', 0);
  // informational (what the profiles were filtered on / which Vidur default is mirrored), checked when present
  if (vidur.blockSize !== undefined) num(source, vidur, 'blockSize', 'vidur', 1, true);
  if (vidur.skipCpuOverheadModeling !== undefined && typeof vidur.skipCpuOverheadModeling !== 'boolean')
    fail(source, 'vidur.skipCpuOverheadModeling', 'must be true or false');
  num(source, f, 'overheadMs', '', 0);
  if (f.overheadNote !== undefined) str(source, f, 'overheadNote', '');
  const linear = obj(source, f.linear, 'linear');
  const tokens = numArray(source, linear.tokens, 'linear.tokens', 1);
  tokens.forEach((t, i) => {
    if (!Number.isInteger(t) || (i > 0 && t <= tokens[i - 1]))
      fail(source, `linear.tokens[${i}]`, 'must be integers in increasing order');
  });
  if (tokens.length < 2) fail(source, 'linear.tokens', 'needs at least 2 token counts');
  const ops = obj(source, linear.ops, 'linear.ops');
  for (const op of LINEAR_OPS) {
    const arr = numArray(source, ops[op], `linear.ops.${op}`, 0);
    if (arr.length !== tokens.length)
      fail(source, `linear.ops.${op}`, `has ${arr.length} values for ${tokens.length} token counts`);
  }
  for (const k of Object.keys(ops))
    if (!(LINEAR_OPS as readonly string[]).includes(k))
      fail(source, `linear.ops.${k}`, 'is not an op this model prices');
  const dec = obj(source, f.decodeAttention, 'decodeAttention');
  points(source, dec.points, 'decodeAttention.points', 'batch');
  const pre = obj(source, f.prefillAttention, 'prefillAttention');
  points(source, pre.points, 'prefillAttention.points', 'chunk');
  num(source, pre, 'kvSlopeMs', 'prefillAttention', -Infinity);
  num(source, pre, 'kvSlopePerChunkTokenMs', 'prefillAttention', -Infinity);
  return f as unknown as GpuProfileFile;
}

// ---------------------------------------------------------------- interpolation helpers (load time only)

/** Piecewise-linear y(x) over sorted xs; outside, the line of `slope` through the nearest end. */
function interpOrExtend(xs: number[], ys: number[], x: number, slopeBelow: number, slopeAbove: number): number {
  const last = xs.length - 1;
  if (x <= xs[0]) return ys[0] - slopeBelow * (xs[0] - x);
  if (x >= xs[last]) return ys[last] + slopeAbove * (x - xs[last]);
  let i = 1;
  while (xs[i] < x) i++;
  const t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[i - 1] + t * (ys[i] - ys[i - 1]);
}

/** Least-squares slope of ys on xs (0 with fewer than two distinct xs). */
function lsqSlope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  return sxx > 0 ? sxy / sxx : 0;
}

/** Group [key, kv, ms] points by key into sorted kv/ms rows. */
function rowsByKey(pts: [number, number, number][]): Map<number, { kv: number[]; ms: number[] }> {
  const m = new Map<number, { kv: number[]; ms: number[] }>();
  for (const [k, kv, ms] of [...pts].sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
    if (!m.has(k)) m.set(k, { kv: [], ms: [] });
    const r = m.get(k)!;
    r.kv.push(kv);
    r.ms.push(ms);
  }
  return m;
}

// ---------------------------------------------------------------- the model

/** Build the iteration cost model of a validated file. */
export function gpuProfileFromFile(raw: unknown, source = 'GPU profile'): GpuIterationModel {
  const f = validateGpuProfile(raw, source);
  const { model } = f;
  const layers = model.layers;
  const round = f.vidur.tokenRounding;
  const g = f.vidur.kvGranularity;
  const gqa = model.heads > model.kvHeads;
  const fDecode = gqa ? f.vidur.attentionDecodeBatchingOverheadFraction : 0;
  const fPrefill = gqa ? f.vidur.attentionPrefillBatchingOverheadFraction : 0;

  // linear ops: dense per-layer sum at n = 0, round, 2·round, … up to the last measured count
  const tok = f.linear.tokens;
  const tMax = tok[tok.length - 1];
  const linSum = tok.map((_, i) => LINEAR_OPS.reduce((s, op) => s + f.linear.ops[op][i], 0));
  const nDense = Math.floor(tMax / round);
  const linear = new Float64Array(nDense + 1);
  for (let k = 0; k <= nDense; k++) linear[k] = interpOrExtend(tok, linSum, k * round, 0, 0);
  const linHalf = interpOrExtend(tok, linSum, tMax / 2, 0, 0);
  const linSlope = (linSum[linSum.length - 1] - linHalf) / (tMax / 2);
  const linearAt = (n: number): number =>
    n / round <= nDense ? linear[n / round] : linSum[linSum.length - 1] + linSlope * (n - tMax);

  // decode attention: dense D[b][kv/g] for measured b = 1..bMax, kv = 0..kvDenseMax
  const dec = rowsByKey(f.decodeAttention.points);
  const bMax = Math.max(...dec.keys());
  for (let b = 1; b <= bMax; b++) {
    const r = dec.get(b);
    if (!r || r.kv.length < 2)
      fail(
        source,
        'decodeAttention.points',
        `need ≥ 2 KV points for every batch size 1..${bMax}; batch ${b} has ${r?.kv.length ?? 0}`,
      );
  }
  const kvMaxMeasured = Math.max(
    ...f.decodeAttention.points.map((p) => p[1]),
    ...f.prefillAttention.points.map((p) => p[1]),
  );
  const kCols = Math.ceil(Math.max(4096, kvMaxMeasured) / g) + 1; // kv = 0, g, …, (kCols−1)·g
  const kvDenseMax = (kCols - 1) * g;
  const decode = new Float64Array((bMax + 1) * kCols);
  const decodeSlope = new Float64Array(bMax + 1);
  for (let b = 1; b <= bMax; b++) {
    const r = dec.get(b)!;
    const s = lsqSlope(r.kv, r.ms);
    decodeSlope[b] = s;
    for (let k = 0; k < kCols; k++) decode[b * kCols + k] = Math.max(0, interpOrExtend(r.kv, r.ms, k * g, s, s));
  }
  const bHalf = Math.max(1, bMax >> 1);
  const decodeRow = (b: number, kv: number): number => {
    const k = kv / g;
    return k < kCols ? decode[b * kCols + k] : decode[b * kCols + kCols - 1] + decodeSlope[b] * (kv - kvDenseMax);
  };
  const decodeAt = (rows: number, kv: number): number => {
    if (rows <= bMax) return decodeRow(rows, kv);
    const top = decodeRow(bMax, kv);
    return top + ((rows - bMax) * (top - decodeRow(bHalf, kv))) / (bMax - bHalf);
  };

  // prefill attention: dense row per measured chunk size (knot), kv = 0..kvDenseMax
  const pre = rowsByKey(f.prefillAttention.points);
  // knots: chunk sizes measured from KV 0. The sample's other chunk sizes were measured only far out in KV
  // (c + kv near 4096); hung on the fitted slope down to KV 0 they overstate small-KV cost (attention is concave in
  // KV there), so they are not knots — they serve as held-out checks (test/cost/gpu-profile.test.ts).
  const knots = [...pre.keys()].filter((c) => pre.get(c)!.kv[0] === 0);
  if (knots.length === 0) fail(source, 'prefillAttention.points', 'need at least one chunk size measured at KV 0');
  const beta0 = f.prefillAttention.kvSlopeMs;
  const beta1 = f.prefillAttention.kvSlopePerChunkTokenMs;
  const kvSlope = (c: number): number => beta0 + beta1 * c;
  const prefillRows = new Float64Array(knots.length * kCols);
  knots.forEach((c, i) => {
    const r = pre.get(c)!;
    const s = kvSlope(c);
    for (let k = 0; k < kCols; k++) prefillRows[i * kCols + k] = Math.max(0, interpOrExtend(r.kv, r.ms, k * g, s, s));
  });
  const cMin = knots[0];
  const cMax = knots[knots.length - 1];
  // for chunk c in 1..cMax: the knot at or below it and the weight of the next knot (linear in c²)
  const knotBelow = new Int32Array(cMax + 1);
  const weightAbove = new Float64Array(cMax + 1);
  for (let c = 1, i = 0; c <= cMax; c++) {
    while (i + 1 < knots.length && knots[i + 1] <= c) i++;
    if (c <= cMin) {
      knotBelow[c] = 0;
      weightAbove[c] = 0;
    } else if (i === knots.length - 1) {
      knotBelow[c] = i;
      weightAbove[c] = 0;
    } else {
      knotBelow[c] = i;
      weightAbove[c] = (c * c - knots[i] ** 2) / (knots[i + 1] ** 2 - knots[i] ** 2);
    }
  }
  const knotAt = (i: number, kv: number): number => {
    const k = kv / g;
    return k < kCols
      ? prefillRows[i * kCols + k]
      : prefillRows[i * kCols + kCols - 1] + kvSlope(knots[i]) * (kv - kvDenseMax);
  };
  const prefillAt = (c: number, kv: number): number => {
    if (c > cMax) {
      const last = knots.length - 1;
      const base = prefillRows[last * kCols];
      return knotAt(last, kv) + base * ((c / cMax) ** 2 - 1) + (kvSlope(c) - kvSlope(cMax)) * kv;
    }
    const i = knotBelow[c];
    const w = weightAbove[c];
    return w === 0 ? knotAt(i, kv) : (1 - w) * knotAt(i, kv) + w * knotAt(i + 1, kv);
  };

  /** Per-layer terms of the last priced iteration (price() fills it: no allocation per call). */
  const perLayer = { linear: 0, decode: 0, prefill: 0, n: 0 };
  const price = (s: IterationShape): boolean => {
    let prefillTokens = 0;
    let sumSq = 0;
    let kvSum = 0;
    const ps = s.prefills;
    for (let j = 0; j < ps.length; j++) {
      const t = ps[j].tokens;
      prefillTokens += t;
      sumSq += t * t;
      kvSum += Math.ceil(ps[j].cached / g) * g;
    }
    const total = prefillTokens + s.decodeRows;
    if (total <= 0) return false;
    const n = Math.ceil(total / round) * round;
    perLayer.n = n;
    perLayer.linear = linearAt(n);
    if (s.decodeRows > 0) {
      const kv = Math.ceil(Math.floor(s.decodeContext / s.decodeRows) / g) * g;
      perLayer.decode = decodeAt(s.decodeRows, kv) * (s.decodeRows > 1 ? 1 + fDecode : 1);
    } else perLayer.decode = 0;
    if (prefillTokens > 0) {
      perLayer.prefill = prefillAt(Math.round(Math.sqrt(sumSq)), kvSum) * (ps.length > 1 ? 1 + fPrefill : 1);
    } else perLayer.prefill = 0;
    return true;
  };

  const overheadMs = f.overheadMs;
  return {
    description: f.description,
    gpu: f.gpu,
    model,
    estimated: f.estimated,
    source,
    provenance: f.provenance,
    overheadMs,
    iterationMs(s: IterationShape): number {
      if (!price(s)) return 0;
      return overheadMs + layers * (perLayer.linear + perLayer.decode + perLayer.prefill);
    },
    terms(s: IterationShape): IterationTerms {
      if (!price(s)) return { overhead: 0, linear: 0, decodeAttention: 0, prefillAttention: 0, tokensRounded: 0 };
      return {
        overhead: overheadMs,
        linear: layers * perLayer.linear,
        decodeAttention: layers * perLayer.decode,
        prefillAttention: layers * perLayer.prefill,
        tokensRounded: perLayer.n,
      };
    },
  };
}

/** Read and build a GPU iteration cost model file; errors name the file and key. */
export function loadGpuProfile(path: string): GpuIterationModel {
  return gpuProfileFromFile(readJson(path), path);
}
