/**
 * The GPU iteration cost models (data/costmodels/{a100,h100}-llama2-7b.json through src/cost/gpu-profile.ts):
 * numbers against Vidur's measured profile rows, Vidur's combination rules (token rounding, KV granularity,
 * √Σchunk²), extrapolation, the H100 estimate's label, refusal of bad files, and the CostModel adapter.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { costModelFromIteration, loadCostModel } from '../../src/cost/costmodel.js';
import { gpuProfileFromFile, LINEAR_OPS, loadGpuProfile } from '../../src/cost/gpu-profile.js';
import type { IterationShape } from '../../src/cost/iteration.js';

const A100 = 'data/costmodels/a100-llama2-7b.json';
const H100 = 'data/costmodels/h100-llama2-7b.json';
const a100 = loadGpuProfile(A100);
const h100 = loadGpuProfile(H100);
const fileA = JSON.parse(readFileSync(A100, 'utf8'));
const fileH = JSON.parse(readFileSync(H100, 'utf8'));

const decode = (rows: number, kvEach: number): IterationShape => ({
  prefills: [],
  decodeRows: rows,
  decodeContext: rows * kvEach,
});
const prefill = (tokens: number, cached = 0): IterationShape => ({
  prefills: [{ tokens, cached }],
  decodeRows: 0,
  decodeContext: 0,
});
/** Σ of the file's per-layer linear-op medians at a measured token count. */
function linearMedians(file: typeof fileA, n: number): number {
  const i = file.linear.tokens.indexOf(n);
  if (i < 0) throw new Error(`token count ${n} not measured`);
  return LINEAR_OPS.reduce((s, op) => s + file.linear.ops[op][i], 0);
}
function csv(path: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const keys = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, j) => [keys[j], v])));
}
const round8 = (n: number) => Math.ceil(n / 8) * 8;

describe('GPU iteration cost model against the measured profile rows', () => {
  test('the files hold the profiles: linear medians equal mlp.csv (TP 1) where a token count has one row', () => {
    for (const [file, path] of [
      [fileA, 'data/profiles/vidur/a100_llama2_7b_mlp.csv'],
      [fileH, 'data/profiles/vidur/h100_llama2_7b_mlp.csv'],
    ] as const) {
      const rows = csv(path).filter((r) => r.num_tensor_parallel_workers === '1');
      const count = new Map<string, number>();
      for (const r of rows) count.set(r.num_tokens, (count.get(r.num_tokens) ?? 0) + 1);
      let checked = 0;
      for (const r of rows) {
        if (count.get(r.num_tokens) !== 1) continue;
        const i = file.linear.tokens.indexOf(Number(r.num_tokens));
        for (const op of LINEAR_OPS)
          expect(Math.abs(file.linear.ops[op][i] - Number(r[`time_stats.${op}.median`]))).toBeLessThanOrEqual(5e-7);
        checked++;
      }
      expect(checked).toBeGreaterThan(240);
    }
  });

  test('a decode iteration at a measured (batch, KV) is 32 × (linear medians at the rounded batch + the attention median)', () => {
    const rows = csv('data/profiles/vidur/a100_llama2_7b_tp1_attention_decode_sample.csv');
    let checked = 0;
    for (const r of rows) {
      const b = Number(r.batch_size);
      const kv = Number(r.kv_cache_size);
      if (kv % 64 !== 0) continue; // Vidur prices decode KV rounded up to 64
      const want = 32 * (linearMedians(fileA, round8(b)) + Number(r.attn_decode_median_ms));
      expect(Math.abs(a100.iterationMs(decode(b, kv)) - want)).toBeLessThan(1e-9);
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
  });

  test('a prefill at a measured (chunk, cached KV) of a chunk size measured from KV 0 is 32 × (linear + attention median)', () => {
    const rows = csv('data/profiles/vidur/a100_llama2_7b_tp1_attention_prefill_sample.csv');
    const fromZero = new Set(rows.filter((r) => r.kv_cache_size === '0').map((r) => r.prefill_chunk_size));
    const seen = new Map<string, number[]>();
    for (const r of rows) {
      const k = `${r.prefill_chunk_size},${r.kv_cache_size}`;
      seen.set(k, [...(seen.get(k) ?? []), Number(r.attn_prefill_median_ms)]);
    }
    let checked = 0;
    for (const [k, ms] of seen) {
      const [c, kv] = k.split(',').map(Number);
      if (!fromZero.has(String(c)) || kv % 64 !== 0) continue;
      const median = ms.reduce((s, x) => s + x, 0) / ms.length; // duplicate rows averaged
      const want = 32 * (linearMedians(fileA, round8(c)) + median);
      expect(Math.abs(a100.iterationMs(prefill(c, kv)) - want)).toBeLessThan(1e-9);
      checked++;
    }
    expect(checked).toBeGreaterThan(250);
  });

  test('held-out chunk sizes (measured only far out in KV, not used as knots) are predicted within bounds', () => {
    const rows = csv('data/profiles/vidur/a100_llama2_7b_tp1_attention_prefill_sample.csv');
    const fromZero = new Set(rows.filter((r) => r.kv_cache_size === '0').map((r) => r.prefill_chunk_size));
    const errs: { c: number; e: number }[] = [];
    for (const r of rows) {
      const c = Number(r.prefill_chunk_size);
      const kv = Number(r.kv_cache_size);
      if (fromZero.has(r.prefill_chunk_size) || kv % 64 !== 0) continue;
      const got = a100.terms(prefill(c, kv)).prefillAttention / 32;
      errs.push({ c, e: Math.abs(got - Number(r.attn_prefill_median_ms)) / Number(r.attn_prefill_median_ms) });
    }
    expect(errs.length).toBeGreaterThan(90);
    const mean = errs.reduce((s, x) => s + x.e, 0) / errs.length;
    expect(mean).toBeLessThan(0.1); // measured 8.1 %
    for (const { c, e } of errs) expect(e).toBeLessThan(c >= 992 ? 0.05 : 0.3); // ≥ 992: ≤ 4.1 %; small chunks ≤ 29 %
  });
});

describe("Vidur's combination rules", () => {
  test('linear ops are priced at the total token count rounded up to a multiple of 8', () => {
    // chunks below the smallest measured chunk (96) share its attention row, so only the rounding moves these
    expect(a100.terms(prefill(9)).tokensRounded).toBe(16);
    expect(a100.iterationMs(prefill(9))).toBe(a100.iterationMs(prefill(16)));
    expect(a100.iterationMs(prefill(17))).toBeGreaterThan(a100.iterationMs(prefill(16)));
    // decode rows and prefill tokens share one rounded count
    const mixed: IterationShape = { prefills: [{ tokens: 50, cached: 0 }], decodeRows: 7, decodeContext: 7 * 512 };
    expect(a100.terms(mixed).tokensRounded).toBe(64);
    expect(a100.terms(mixed).linear).toBeCloseTo(32 * linearMedians(fileA, 64), 9);
  });

  test('decode KV is the floor of the mean, rounded up to 64', () => {
    const t = (rows: number, ctx: number) =>
      a100.terms({ prefills: [], decodeRows: rows, decodeContext: ctx }).decodeAttention;
    expect(t(3, 3 * 100 + 1)).toBe(t(3, 3 * 128)); // mean 100.3 → 128
    expect(t(3, 3 * 128 + 2)).toBe(t(3, 3 * 128)); // mean 128.7 → floor 128 → 128
    expect(t(3, 3 * 129)).toBe(t(3, 3 * 192)); // mean 129 → 192
    expect(t(3, 3 * 129)).toBeGreaterThan(t(3, 3 * 128));
  });

  test('several prefills: attention at round(√Σchunk²) and Σ of each cached KV rounded up to 64; linear at Σ tokens', () => {
    const two: IterationShape = {
      prefills: [
        { tokens: 480, cached: 1 },
        { tokens: 640, cached: 65 },
      ],
      decodeRows: 0,
      decodeContext: 0,
    };
    const one = a100.terms(prefill(800, 64 + 128)); // √(480² + 640²) = 800; KV 64 + 128
    const t = a100.terms(two);
    expect(t.prefillAttention).toBe(one.prefillAttention); // Llama-2-7B is not GQA: no batching overhead
    expect(t.tokensRounded).toBe(1120);
    expect(t.linear).toBeCloseTo(32 * linearMedians(fileA, 1120), 9);
  });

  test('the batching overhead fractions apply only to GQA models (heads > kvHeads)', () => {
    const gqa = gpuProfileFromFile({ ...fileA, model: { ...fileA.model, kvHeads: 8 } }, 'gqa.json');
    const two: IterationShape = {
      prefills: [
        { tokens: 300, cached: 0 },
        { tokens: 400, cached: 0 },
      ],
      decodeRows: 5,
      decodeContext: 5 * 1024,
    };
    const mha = a100.terms(two);
    const g = gqa.terms(two);
    expect(g.decodeAttention).toBeCloseTo(1.1 * mha.decodeAttention, 9);
    expect(g.prefillAttention).toBeCloseTo(1.1 * mha.prefillAttention, 9);
    expect(g.linear).toBe(mha.linear);
    // one decode row, one prefill: no overhead even for GQA
    const single: IterationShape = { prefills: [{ tokens: 300, cached: 0 }], decodeRows: 1, decodeContext: 1024 };
    expect(gqa.iterationMs(single)).toBe(a100.iterationMs(single));
  });

  test('an iteration with no tokens costs nothing; the overhead is added once per iteration', () => {
    expect(a100.iterationMs({ prefills: [], decodeRows: 0, decodeContext: 0 })).toBe(0);
    const withOverhead = gpuProfileFromFile({ ...fileA, overheadMs: 2.5 }, 'o.json');
    expect(withOverhead.iterationMs(decode(16, 1024)) - a100.iterationMs(decode(16, 1024))).toBeCloseTo(2.5, 9);
  });
});

describe('shape of the costs', () => {
  test('prefill attention grows with the square of the chunk', () => {
    const at = (c: number) => a100.terms(prefill(c)).prefillAttention;
    expect(at(2048) / at(1024)).toBeGreaterThan(3); // measured medians: 0.781 / 0.255
    expect(at(4096) / at(2048)).toBeGreaterThan(3);
    expect(at(8192) / at(4096)).toBeCloseTo(4, 9); // beyond the profile: quadratic
    expect(at(3000)).toBeGreaterThan(at(2000));
  });

  test('a 7B prefill of 4000 tokens costs several times one of 500 tokens (A100 and H100)', () => {
    for (const m of [a100, h100]) {
      const ratio = m.iterationMs(prefill(4000)) / m.iterationMs(prefill(500));
      expect(ratio).toBeGreaterThan(5);
      expect(ratio).toBeLessThan(16); // not worse than quadratic
    }
  });

  test('a decode step grows with batch and with context, also beyond the profile', () => {
    for (const m of [a100, h100]) {
      let prev = 0;
      for (const b of [1, 2, 4, 8, 16, 32, 64, 128, 192, 256]) {
        const t = m.iterationMs(decode(b, 1024));
        expect(t).toBeGreaterThan(prev);
        prev = t;
      }
      prev = 0;
      for (const kv of [64, 256, 512, 1024, 2048, 3008, 4096, 6144, 8192]) {
        const t = m.iterationMs(decode(32, kv));
        expect(t).toBeGreaterThan(prev);
        prev = t;
      }
    }
  });

  test('decode attention is linear in KV beyond the dense range and in batch beyond batch 128', () => {
    const d = (b: number, kv: number) => a100.terms(decode(b, kv)).decodeAttention;
    expect(d(32, 8192) - d(32, 6144)).toBeCloseTo(d(32, 6144) - d(32, 4096), 9); // past batch 32's last KV (3008)
    expect(d(256, 1024) - d(192, 1024)).toBeCloseTo(d(192, 1024) - d(128, 1024), 9);
  });

  test('linear ops are linear beyond the last measured token count', () => {
    const l = (n: number) => a100.terms(prefill(n)).linear;
    expect(l(12288) - l(8192)).toBeCloseTo(l(8192) - l(4096), 6);
    expect(l(8192)).toBeGreaterThan(1.8 * l(4096));
  });

  test('fast enough for ~10^6 calls per run (a coarse guard: 10^6 calls take ~0.2 s under tsx on this machine)', () => {
    const s: IterationShape = { prefills: [{ tokens: 300, cached: 128 }], decodeRows: 1, decodeContext: 100 };
    const t0 = performance.now();
    let acc = 0;
    for (let i = 0; i < 200_000; i++) {
      s.decodeRows = 1 + (i % 200);
      s.decodeContext = s.decodeRows * (50 + (i % 5000));
      acc += a100.iterationMs(s);
    }
    expect(acc).toBeGreaterThan(0);
    // ≤ 50 µs per call even on the shared, loaded machine: catches a per-call search or allocation, not small drifts
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

describe('H100: measured linear ops, estimated attention', () => {
  test('the estimate is flagged in the model and the CostModel description; A100 is not', () => {
    expect(h100.estimated).toMatch(/attention/);
    expect(h100.estimated).toMatch(/not measured/);
    expect(a100.estimated).toBeUndefined();
    expect(loadCostModel(H100).description).toMatch(/ESTIMATED/);
    expect(loadCostModel(A100).description).not.toMatch(/ESTIMATED/);
  });

  test('its attention terms are the A100 ones scaled by the HBM-bandwidth and FP16-throughput ratios', () => {
    const dA = a100.terms(decode(64, 2048)).decodeAttention;
    const dH = h100.terms(decode(64, 2048)).decodeAttention;
    expect(dH / dA).toBeCloseTo(2039 / 3350, 4);
    const pA = a100.terms(prefill(2048, 512)).prefillAttention;
    const pH = h100.terms(prefill(2048, 512)).prefillAttention;
    expect(pH / pA).toBeCloseTo(312 / 989.4, 4);
    // its linear ops are H100's own medians
    expect(h100.terms(decode(64, 2048)).linear).toBeCloseTo(32 * linearMedians(fileH, 64), 9);
  });

  test("both describe Llama-2-7B on an 80 GiB GPU (as Vidur's device configs)", () => {
    for (const m of [a100, h100]) {
      expect(m.gpu.memoryGiB).toBe(80);
      expect(m.model).toMatchObject({
        layers: 32,
        hidden: 4096,
        heads: 32,
        kvHeads: 32,
        intermediate: 11008,
        vocab: 32000,
      });
    }
  });
});

describe('bad files are refused, naming the file and the key', () => {
  const bad = (patch: (f: any) => void, key: RegExp) => {
    const f = structuredClone(fileA);
    patch(f);
    expect(() => gpuProfileFromFile(f, 'bad.json')).toThrow(new RegExp(`bad\\.json: ${key.source}`));
  };
  test('each field', () => {
    bad((f) => (f.kind = 'points'), /kind/);
    bad((f) => delete f.description, /description/);
    bad((f) => (f.gpu.memoryGiB = 0), /gpu\.memoryGiB/);
    bad((f) => delete f.gpu.name, /gpu\.name/);
    bad((f) => (f.model.layers = 0), /model\.layers/);
    bad((f) => (f.model.heads = 7), /model\.hidden/);
    bad((f) => (f.vidur.kvGranularity = 1.5), /vidur\.kvGranularity/);
    bad((f) => (f.overheadMs = -1), /overheadMs/);
    bad((f) => (f.vidur.skipCpuOverheadModeling = 'yes'), /vidur\.skipCpuOverheadModeling/);
    bad((f) => delete f.provenance.license, /provenance\.license/);
    bad((f) => (f.linear.tokens[3] = f.linear.tokens[2]), /linear\.tokens\[3\]/);
    bad((f) => f.linear.ops.mlp_up_proj.pop(), /linear\.ops\.mlp_up_proj/);
    bad((f) => delete f.linear.ops.add, /linear\.ops\.add/);
    bad((f) => (f.linear.ops.emb = f.linear.ops.add), /linear\.ops\.emb/);
    bad((f) => (f.decodeAttention.points[5] = [0, 32, 0.01]), /decodeAttention\.points\[5\]/);
    bad(
      (f) => (f.decodeAttention.points = f.decodeAttention.points.filter((p: number[]) => p[0] !== 7)),
      /decodeAttention\.points.*batch 7/,
    );
    bad((f) => (f.prefillAttention.points[2][2] = 'x'), /prefillAttention\.points\[2\]/);
    bad((f) => delete f.prefillAttention.kvSlopeMs, /prefillAttention\.kvSlopeMs/);
  });

  test('loadCostModel names the file for an unknown kind and still reads the HF-eager points table', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpu-profile-'));
    const path = join(dir, 'odd.json');
    writeFileSync(path, JSON.stringify({ ...fileA, kind: 'iterations' }));
    expect(() => loadCostModel(path)).toThrow(/odd\.json: kind/);
    const hf = loadCostModel('data/costmodels/h100-hf-llama7b-fp16.json');
    expect(hf.iteration).toBeUndefined();
    expect(hf.stepMs(1, 128)).toBeCloseTo(107.23, 6); // its batch-1 point (context 64 + 128/2)
  });
});

describe('the CostModel adapter for the static pipeline', () => {
  test('stepMs is one decode iteration; prefillMs + stepMs is the prefill iteration', () => {
    const cm = loadCostModel(A100);
    expect(cm.iteration).toBeDefined();
    expect(cm.stepMs(16, 700)).toBe(a100.iterationMs(decode(16, 700)));
    const whole = a100.iterationMs({
      prefills: Array.from({ length: 16 }, () => ({ tokens: 300, cached: 0 })),
      decodeRows: 0,
      decodeContext: 0,
    });
    expect(cm.prefillMs(16, 300) + cm.stepMs(16, 300)).toBeCloseTo(whole, 9);
    expect(cm.prefillMs(4, 300)).toBeLessThan(cm.prefillMs(16, 300)); // reused shape shrinks correctly
    expect(cm.prefillMs(16, 300) + cm.stepMs(16, 300)).toBeCloseTo(whole, 9);
    expect(costModelFromIteration(h100).description).toMatch(/ESTIMATED/);
  });
});

test('the committed files are what scripts/make-gpu-costmodels.mjs writes (byte for byte)', () => {
  const out = execFileSync(process.execPath, ['scripts/make-gpu-costmodels.mjs', '--check'], { encoding: 'utf8' });
  expect(out).toMatch(/a100-llama2-7b\.json: up to date/);
  expect(out).toMatch(/h100-llama2-7b\.json: up to date/);
  expect(readFileSync(A100).length).toBeLessThan(300_000);
  expect(readFileSync(H100).length).toBeLessThan(300_000);
});
