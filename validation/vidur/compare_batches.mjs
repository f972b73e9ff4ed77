#!/usr/bin/env node
// Compare our GPU cost model (data/costmodels/a100-llama2-7b.json through src/cost/gpu-profile.ts) with Vidur's
// trained predictor op by op, on the batch shapes of results/batch-times.csv (batch_times.py): for every shape it
// prices the same iteration with ours and prints, per term, ours vs Vidur (ms per iteration, 32 layers) and the %
// difference; then, per shape kind and term, the median and largest |diff| and where the largest is.
// Terms: linear = the nine token-wise ops (projections, RoPE, norms, activation, add; Vidur's attn_kv_cache_save is
// 0, as its profile has no such column), decode attention, prefill attention, total (Vidur's vidur_model_ms against
// our iterationMs; the A100 file has no overhead term).
// Shapes as batch_times.py builds them: decode = `decode_rows` rows each at KV `decode_kv`; prefill/mixed add one
// chunk of `prefill_chunk` tokens whose request already holds `prefill_kv` tokens.
// It does not: run Vidur (batch_times.py does) or judge pass/fail.
//
// Usage: npx tsx validation/vidur/compare_batches.mjs [--all] [--cost-model <json>] [--json <out file>]
//   --all   print every shape (default: the summary and the 12 largest total differences)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGpuProfile } from '../../src/cost/gpu-profile.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const showAll = args.includes('--all');
const costModelPath = opt('--cost-model', join(root, 'data/costmodels/a100-llama2-7b.json'));
const jsonOut = opt('--json', null);
const csvPath = join(here, 'results', 'batch-times.csv');

const LINEAR = [
  'attn_pre_proj',
  'attn_post_proj',
  'attn_rope',
  'attn_kv_cache_save',
  'mlp_up_proj',
  'mlp_down_proj',
  'mlp_act',
  'input_layernorm',
  'post_attention_layernorm',
  'add',
];

function fail(msg) {
  console.error(`compare_batches.mjs: ${msg}`);
  process.exit(1);
}

const [head, ...lines] = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
const keys = head.split(',');
const need = ['kind', 'decode_rows', 'decode_kv', 'prefill_chunk', 'prefill_kv', 'vidur_model_ms', 'attn_decode_ms'];
for (const k of [...need, 'attn_prefill_ms', ...LINEAR.map((op) => `${op}_ms`)]) {
  if (!keys.includes(k)) fail(`${csvPath}: no column ${k}`);
}
const model = loadGpuProfile(costModelPath);

const shapes = lines.map((line, i) => {
  const v = line.split(',');
  const r = Object.fromEntries(keys.map((k, j) => [k, k === 'kind' ? v[j] : Number(v[j])]));
  for (const k of keys) if (k !== 'kind' && !Number.isFinite(r[k])) fail(`${csvPath}: row ${i + 2}: ${k} = ${r[k]}`);
  const shape = {
    prefills: r.prefill_chunk > 0 ? [{ tokens: r.prefill_chunk, cached: r.prefill_kv }] : [],
    decodeRows: r.decode_rows,
    decodeContext: r.decode_rows * r.decode_kv,
  };
  const t = model.terms(shape);
  const vidur = {
    linear: LINEAR.reduce((s, op) => s + r[`${op}_ms`], 0),
    decode: r.attn_decode_ms,
    prefill: r.attn_prefill_ms,
    total: r.vidur_model_ms,
  };
  const ours = {
    linear: t.linear,
    decode: t.decodeAttention,
    prefill: t.prefillAttention,
    total: model.iterationMs(shape),
  };
  return { kind: r.kind, rows: r.decode_rows, kv: r.decode_kv, chunk: r.prefill_chunk, pkv: r.prefill_kv, ours, vidur };
});

const TERMS = ['total', 'linear', 'decode', 'prefill'];
const pct = (a, b) => (b > 0 ? ((a - b) / b) * 100 : a > 0 ? Infinity : 0);
const label = (s) =>
  s.kind === 'decode'
    ? `decode ${s.rows}×KV${s.kv}`
    : s.kind === 'prefill'
      ? `prefill ${s.chunk}@KV${s.pkv}`
      : `mixed ${s.rows}×KV${s.kv}+${s.chunk}@KV${s.pkv}`;
const f2 = (x) => x.toFixed(2).padStart(8);
const fp = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'inf').padStart(7);

function row(s) {
  return (
    label(s).padEnd(30) +
    TERMS.map((k) => `${f2(s.ours[k])} ${f2(s.vidur[k])} ${fp(pct(s.ours[k], s.vidur[k]))}`).join(' |')
  );
}
const header =
  'shape'.padEnd(30) + TERMS.map((k) => `${k.padStart(8)} ${'Vidur'.padStart(8)} ${'diff%'.padStart(7)}`).join(' |');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}

// per kind × term: median and max |diff %| over shapes where Vidur's term is > 0 (a 0 term has no ratio)
const summary = [];
for (const kind of ['decode', 'prefill', 'mixed', 'all']) {
  const of = shapes.filter((s) => kind === 'all' || s.kind === kind);
  for (const k of TERMS) {
    const withTerm = of.filter((s) => s.vidur[k] > 0);
    if (!withTerm.length) continue;
    const d = withTerm.map((s) => Math.abs(pct(s.ours[k], s.vidur[k])));
    const worst = withTerm[d.indexOf(Math.max(...d))];
    summary.push({
      kind,
      term: k,
      shapes: withTerm.length,
      median_abs_pct: median(d),
      max_abs_pct: Math.max(...d),
      max_at: label(worst),
      max_signed_pct: pct(worst.ours[k], worst.vidur[k]),
      over_10pct: d.filter((x) => x > 10).length,
    });
  }
}

console.log(`ours: ${costModelPath}; Vidur: ${csvPath} (${shapes.length} shapes); ms per iteration, 32 layers`);
console.log(header);
const listed = showAll
  ? shapes
  : [...shapes]
      .sort((a, b) => Math.abs(pct(b.ours.total, b.vidur.total)) - Math.abs(pct(a.ours.total, a.vidur.total)))
      .slice(0, 12);
for (const s of listed) console.log(row(s));
console.log("\nper kind and term: |ours − Vidur| / Vidur over the shapes where Vidur's term is > 0");
console.log(
  `${'kind'.padEnd(8)} ${'term'.padEnd(8)} ${'shapes'.padStart(6)} ${'median%'.padStart(8)} ${'max%'.padStart(7)} ${'>10%'.padStart(5)}  where (signed %)`,
);
for (const x of summary) {
  console.log(
    `${x.kind.padEnd(8)} ${x.term.padEnd(8)} ${String(x.shapes).padStart(6)} ${x.median_abs_pct.toFixed(1).padStart(8)} ${x.max_abs_pct.toFixed(1).padStart(7)} ${String(x.over_10pct).padStart(5)}  ${x.max_at} (${x.max_signed_pct.toFixed(1)})`,
  );
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ costModel: costModelPath, summary, shapes }, null, 2) + '\n');
