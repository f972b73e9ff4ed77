/**
 * Build the GPU iteration cost models data/costmodels/{a100,h100}-llama2-7b.json from Vidur's measured operation
 * profiles in data/profiles/vidur/ (see that folder's README for provenance). It reduces the profiles to compact
 * tables; it does not interpolate or combine them — src/cost/gpu-profile.ts does that, at load time, the way Vidur
 * combines its predictions (data/costmodels/README.md). Deterministic: same inputs, same bytes.
 *
 *   node scripts/make-gpu-costmodels.mjs          write both files and print one line per file
 *   node scripts/make-gpu-costmodels.mjs --check  exit 1 if a committed file differs from what would be written
 *
 * What it writes per file (all times in ms, per transformer layer, tensor-parallel degree 1):
 * - linear: the medians of the token-wise ops (projections, rope, norms, activation, add) at each measured token
 *   count; duplicate rows are dropped as Vidur drops them (`drop_duplicates`), rows left with the same token count
 *   are averaged.
 * - decodeAttention: the measured decode-attention medians as [batch, kv, ms] points.
 * - prefillAttention: the measured prefill-attention medians as [chunk, kv, ms] points, and a KV slope linear in
 *   the chunk size fitted to them (fitPrefillSlope), which the loader uses only beyond a chunk's measured KV range.
 * H100: `linear` is H100's own table; both attention terms are the A100 ones scaled by spec-sheet ratios and the
 * file says `estimated`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROFILES = 'data/profiles/vidur';
const OUT = 'data/costmodels';

const VIDUR = {
  repository: 'https://github.com/microsoft/vidur',
  commit: '7d47513363ec447a741ac5e47241580b47724fbf',
  license: 'MIT (c) Microsoft Corporation; measured data carried over as data, no Vidur code',
};

/** Llama-2-7B (HF config.json of meta-llama/Llama-2-7b-hf; Vidur's Llama2_7BModelConfig has the same shape). */
const LLAMA2_7B = {
  name: 'Llama-2-7B',
  layers: 32,
  hidden: 4096,
  heads: 32,
  kvHeads: 32,
  intermediate: 11008,
  vocab: 32000,
  dtypeBytes: 2,
};
/** The profile rows' model columns (Vidur profiles Llama-2 with its config's padded vocab 32768). */
const PROFILE_MODEL = { n_head: 32, n_kv_head: 32, n_embd: 4096, n_expanded_embd: 11008, vocab_size: 32768 };

/** Per-layer token-wise ops Vidur sums into a block (vidur/entities/execution_time.py), in that file's order. */
const LINEAR_OPS = [
  'attn_pre_proj',
  'attn_post_proj',
  'attn_rope',
  'input_layernorm',
  'mlp_up_proj',
  'mlp_down_proj',
  'mlp_act',
  'post_attention_layernorm',
  'add',
];

/**
 * Vidur's predictor settings this model mirrors (vidur/config/config.py, BaseExecutionTimePredictorConfig and
 * BaseReplicaSchedulerConfig defaults at the commit above).
 */
const VIDUR_RULES = {
  tokenRounding: 8,
  kvGranularity: 64,
  attentionDecodeBatchingOverheadFraction: 0.1,
  attentionPrefillBatchingOverheadFraction: 0.1,
  blockSize: 16,
  skipCpuOverheadModeling: true,
};

/**
 * H100 attention estimate: spec-sheet ratios A100 80GB SXM / H100 80GB SXM5 (NVIDIA A100 datasheet: 2,039 GB/s
 * HBM2e, 312 TFLOPS dense FP16 tensor; NVIDIA H100 datasheet: 3.35 TB/s HBM3, 989.4 TFLOPS dense FP16 tensor,
 * Vidur's H100DeviceSKUConfig says 1000). Decode attention reads the KV cache once (bandwidth-bound); prefill
 * attention is dense matmul work (compute-bound).
 */
const H100_SCALE = { decode: 2039 / 3350, prefill: 312 / 989.4 };

const round6 = (x) => Math.round(x * 1e6) / 1e6;

function readCsv(rel) {
  const text = readFileSync(join(ROOT, rel), 'utf8').trim();
  const lines = text.split(/\r?\n/);
  const header = lines[0].split(',');
  return {
    rel,
    rows: lines.slice(1).map((line, i) => {
      const cells = line.split(',');
      if (cells.length !== header.length)
        throw new Error(`${rel}: row ${i + 2} has ${cells.length} cells, header ${header.length}`);
      return { line, get: (k) => cells[header.indexOf(k)], num: (k) => numberCell(rel, i + 2, header, cells, k) };
    }),
  };
}

function numberCell(rel, row, header, cells, k) {
  const j = header.indexOf(k);
  if (j < 0) throw new Error(`${rel}: no column ${k}`);
  const v = Number(cells[j]);
  if (cells[j] === '' || !Number.isFinite(v))
    throw new Error(`${rel}: row ${row} column ${k} is not a number: "${cells[j]}"`);
  return v;
}

/** The mlp.csv rows of this model at TP 1, exact duplicates dropped, averaged per token count. */
function linearTable(rel) {
  const csv = readCsv(rel);
  const seen = new Set();
  const byTokens = new Map();
  for (const r of csv.rows) {
    if (r.num('num_tensor_parallel_workers') !== 1) continue;
    for (const [k, v] of Object.entries(PROFILE_MODEL))
      if (r.num(k) !== v) throw new Error(`${rel}: a row has ${k} ${r.get(k)}, expected ${v}`);
    if (r.get('use_gated_mlp') !== 'True') throw new Error(`${rel}: a row has use_gated_mlp ${r.get('use_gated_mlp')}`);
    if (seen.has(r.line)) continue;
    seen.add(r.line);
    const n = r.num('num_tokens');
    if (!byTokens.has(n)) byTokens.set(n, []);
    byTokens.get(n).push(LINEAR_OPS.map((op) => r.num(`time_stats.${op}.median`)));
  }
  const tokens = [...byTokens.keys()].sort((a, b) => a - b);
  const ops = {};
  LINEAR_OPS.forEach((op, j) => {
    ops[op] = tokens.map((n) => {
      const rows = byTokens.get(n);
      return round6(rows.reduce((s, r) => s + r[j], 0) / rows.length);
    });
  });
  return { tokens, ops };
}

/** The decode-attention sample as [batch, kv, ms] points sorted by batch then kv; duplicate keys averaged. */
function decodePoints(rel, scale = 1) {
  return keyedPoints(rel, 'batch_size', 'kv_cache_size', 'attn_decode_median_ms', scale);
}

/** [x, y, scale × mean z] per distinct (x, y) of a CSV, sorted by x then y. */
function keyedPoints(rel, xCol, yCol, zCol, scale) {
  const csv = readCsv(rel);
  const by = new Map();
  for (const r of csv.rows) {
    const key = `${r.num(xCol)},${r.num(yCol)}`;
    if (!by.has(key)) by.set(key, []);
    by.get(key).push(r.num(zCol));
  }
  return [...by.entries()]
    .map(([k, v]) => [...k.split(',').map(Number), round6((scale * v.reduce((s, x) => s + x, 0)) / v.length)])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** The prefill-attention sample as [chunk, kv, ms] points sorted by chunk then kv; duplicate keys averaged. */
function prefillPoints(rel, scale = 1) {
  return keyedPoints(rel, 'prefill_chunk_size', 'kv_cache_size', 'attn_prefill_median_ms', scale);
}

/**
 * The KV slope of prefill attention, used only where a chunk size's measurements stop (the sample covers each chunk
 * over a different KV range, many without KV 0): t(c, kv) = a_c + (β0 + β1·c)·kv, one free intercept a_c per
 * measured chunk size, the slope linear in c (c new queries attend kv cached keys: c·kv work). Least squares on
 * the rows demeaned within each chunk (the fixed-effects estimator).
 */
function fitPrefillSlope(points) {
  const byChunk = new Map();
  for (const [c, kv, t] of points) {
    if (!byChunk.has(c)) byChunk.set(c, []);
    byChunk.get(c).push({ kv, t });
  }
  const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
  // normal equations for [β0, β1] on within-chunk deviations of x0 = kv, x1 = c·kv
  let s00 = 0;
  let s01 = 0;
  let s11 = 0;
  let s0t = 0;
  let s1t = 0;
  for (const [c, rs] of byChunk) {
    const mkv = mean(rs.map((r) => r.kv));
    const mt = mean(rs.map((r) => r.t));
    for (const r of rs) {
      const x0 = r.kv - mkv;
      const x1 = c * x0;
      const y = r.t - mt;
      s00 += x0 * x0;
      s01 += x0 * x1;
      s11 += x1 * x1;
      s0t += x0 * y;
      s1t += x1 * y;
    }
  }
  const det = s00 * s11 - s01 * s01;
  return { beta0: (s0t * s11 - s1t * s01) / det, beta1: (s1t * s00 - s0t * s01) / det };
}

function prefillBlock(rel, scale) {
  const points = prefillPoints(rel, scale);
  const { beta0, beta1 } = fitPrefillSlope(points);
  return {
    points,
    // slopes are tiny (ms per KV token); 6 significant digits rather than 6 decimals
    kvSlopeMs: Number(beta0.toPrecision(6)),
    kvSlopePerChunkTokenMs: Number(beta1.toPrecision(6)),
  };
}

/** Ratio H100/A100 of the summed linear ops at a few token counts: Vidur's own measurements, a check on H100_SCALE. */
function measuredLinearRatios(a100, h100) {
  const out = {};
  for (const n of [8, 64, 512, 2048, 4096]) {
    const sum = (t) => LINEAR_OPS.reduce((s, op) => s + t.ops[op][t.tokens.indexOf(n)], 0);
    out[n] = round6(sum(h100) / sum(a100));
  }
  return out;
}

function build() {
  const files = {
    a100Mlp: `${PROFILES}/a100_llama2_7b_mlp.csv`,
    h100Mlp: `${PROFILES}/h100_llama2_7b_mlp.csv`,
    decode: `${PROFILES}/a100_llama2_7b_tp1_attention_decode_sample.csv`,
    prefill: `${PROFILES}/a100_llama2_7b_tp1_attention_prefill_sample.csv`,
  };
  const a100Linear = linearTable(files.a100Mlp);
  const h100Linear = linearTable(files.h100Mlp);
  const combined =
    'iterationMs = overheadMs + layers x [ linear ops at the total token count rounded up to a multiple of 8 ' +
    '(piecewise-linear between measured token counts) + decode attention at (decode rows, mean decode KV rounded up ' +
    "to 64) + prefill attention at (round(sqrt(sum of chunk^2)), sum of each chunk's cached KV rounded up to 64) ], " +
    'as Vidur combines its per-op predictions (vidur/execution_time_predictor/sklearn_execution_time_predictor.py, ' +
    'vidur/entities/execution_time.py); the measured medians are interpolated instead of fitted with random forests. ' +
    'See data/costmodels/README.md.';
  const common = (mlpFile) => ({
    repository: VIDUR.repository,
    commit: VIDUR.commit,
    files: [
      `${mlpFile} (from data/profiling/compute/<gpu>/meta-llama/Llama-2-7b-hf/mlp.csv)`,
      `${files.decode} (rows of data/profiling/compute/a100/meta-llama/Llama-2-7b-hf/attention.csv)`,
      `${files.prefill} (rows of the same attention.csv)`,
    ],
    combined,
    license: VIDUR.license,
    builtBy: 'scripts/make-gpu-costmodels.mjs',
  });
  const overheadNote =
    'Vidur models no per-iteration CPU overhead by default (skip_cpu_overhead_modeling = True; its snapshot ships ' +
    'no cpu_overhead profiles), so 0 here; a real server adds scheduling, sampling, input preparation and the API ' +
    'server (data/costmodels/README.md).';
  const a100 = {
    kind: 'iteration',
    description:
      'Llama-2-7B fp16 on one NVIDIA A100 80GB, tensor parallel 1: per-layer operation medians measured by Vidur ' +
      '(mlp.csv; attention.csv subset: decode batch 1-128 x KV 32-3008, prefill chunks 80-4096), combined per ' +
      'iteration as Vidur does, no CPU overhead (Vidur default).',
    provenance: common(files.a100Mlp),
    gpu: { name: 'NVIDIA A100 80GB', memoryGiB: 80 },
    model: LLAMA2_7B,
    vidur: VIDUR_RULES,
    overheadMs: 0,
    overheadNote,
    linear: { tokens: a100Linear.tokens, ops: a100Linear.ops },
    decodeAttention: { points: decodePoints(files.decode) },
    prefillAttention: prefillBlock(files.prefill, 1),
  };
  const h100 = {
    kind: 'iteration',
    description:
      'Llama-2-7B fp16 on one NVIDIA H100 80GB, tensor parallel 1: per-layer linear-op medians measured by Vidur ' +
      '(H100 mlp.csv); the attention terms are ESTIMATED from the A100 attention profile (no H100 attention ' +
      'profile was reachable), combined per iteration as Vidur does, no CPU overhead (Vidur default).',
    estimated:
      `attention (decode and prefill) is not measured on H100: decode attention = A100 decode attention x ` +
      `${round6(H100_SCALE.decode)} (HBM bandwidth 2,039 GB/s A100 80GB SXM / 3,350 GB/s H100 SXM5), prefill ` +
      `attention = A100 prefill attention x ${round6(H100_SCALE.prefill)} (dense FP16 tensor 312 / 989.4 TFLOPS); ` +
      "Vidur's own H100/A100 linear-op medians give the same ratios (provenance.measuredLinearRatioH100toA100). " +
      'An attention kernel reaching a smaller share of H100 peak than of A100 peak (FlashAttention-2) would be up ' +
      'to ~2x slower in prefill than this estimate.',
    provenance: {
      ...common(files.h100Mlp),
      attentionScaleFromA100: { decode: round6(H100_SCALE.decode), prefill: round6(H100_SCALE.prefill) },
      measuredLinearRatioH100toA100: measuredLinearRatios(a100Linear, h100Linear),
    },
    gpu: { name: 'NVIDIA H100 80GB', memoryGiB: 80 },
    model: LLAMA2_7B,
    vidur: VIDUR_RULES,
    overheadMs: 0,
    overheadNote,
    linear: { tokens: h100Linear.tokens, ops: h100Linear.ops },
    decodeAttention: { points: decodePoints(files.decode, H100_SCALE.decode) },
    prefillAttention: prefillBlock(files.prefill, H100_SCALE.prefill),
  };
  return { [`${OUT}/a100-llama2-7b.json`]: a100, [`${OUT}/h100-llama2-7b.json`]: h100 };
}

/** JSON with one-space indentation, arrays of numbers (or of number arrays) kept on one line. */
function stringify(v, indent = '') {
  const flat = (x) => typeof x !== 'object' || x === null;
  if (flat(v)) return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (v.every((x) => flat(x) || (Array.isArray(x) && x.every(flat)))) return JSON.stringify(v);
    const inner = indent + ' ';
    return `[\n${v.map((x) => inner + stringify(x, inner)).join(',\n')}\n${indent}]`;
  }
  const inner = indent + ' ';
  const body = Object.entries(v)
    .filter(([, x]) => x !== undefined)
    .map(([k, x]) => `${inner}${JSON.stringify(k)}: ${stringify(x, inner)}`);
  return `{\n${body.join(',\n')}\n${indent}}`;
}

const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, obj] of Object.entries(build())) {
  const text = stringify(obj) + '\n';
  const path = join(ROOT, rel);
  if (check) {
    let old = '';
    try {
      old = readFileSync(path, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (old !== text) {
      stale++;
      console.log(`${rel}: differs from what scripts/make-gpu-costmodels.mjs writes`);
    } else console.log(`${rel}: up to date (${text.length} bytes)`);
  } else {
    writeFileSync(path, text);
    console.log(`${rel}: ${text.length} bytes`);
  }
}
if (stale) process.exit(1);
