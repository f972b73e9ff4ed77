#!/usr/bin/env node
// Compare one validation case: Vidur's per-request results (results/<case>.csv, from run_vidur.py) against our
// simulator's serve-bench --out JSON, printing each metric side by side with the % difference (ours vs Vidur).
// Every metric is computed by the same function (metrics.mjs summarize, the definitions of metrics.py) from per-request
// (arrival, first token, finish, D) for both sides, where D = generated tokens including the one the prefill
// completes = trace response_tokens + 1 (taken from the case's trace for both sides; our records are matched to
// trace rows by their `index`). It checks that both sides saw the same arrivals and request count.
// It does not: run either simulator, or judge pass/fail beyond flagging |diff| > 10 %.
//
// Usage: node validation/vidur/compare.mjs <case> <our serve-bench --out JSON> [--json <out file>]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VIDUR_COLUMNS, readCsv as readCsvOrThrow, summarize, vidurRequests } from './metrics.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function fail(msg) {
  console.error(`compare.mjs: ${msg}`);
  process.exit(1);
}

function readCsv(path, columns) {
  try {
    return readCsvOrThrow(path, columns);
  } catch (e) {
    return fail(e.message);
  }
}

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : null;
if (args.length !== 2) fail('usage: compare.mjs <case> <our serve-bench --out JSON> [--json <out file>]');
const [caseName, oursPath] = args;

const cases = JSON.parse(readFileSync(join(here, 'cases.json'), 'utf8'));
const m = /^(.*)-(load\d+)-(\w+)$/.exec(caseName);
if (!m || !cases.traces[m[1]] || !cases.loads[m[2]] || !cases.schedulers[m[3]]) {
  fail(`unknown case ${caseName}: expected <trace>-<load>-<scheduler> from cases.json`);
}
const tracePath = join(here, 'traces', `${m[1]}-${m[2]}.csv`);
const trace = readCsv(tracePath, ['timestamp', 'prompt_tokens', 'response_tokens']);

const vidurPath = join(here, 'results', `${caseName}.csv`);
const vidurRows = readCsv(vidurPath, VIDUR_COLUMNS);
if (vidurRows.length !== trace.length) fail(`${vidurPath}: ${vidurRows.length} requests, trace has ${trace.length}`);
vidurRows.forEach((r, i) => {
  const t = trace[i];
  if (r.num_prefill_tokens !== t.prompt_tokens || r.num_decode_tokens !== t.response_tokens + 1) {
    fail(
      `${vidurPath}: row ${i + 2}: tokens (${r.num_prefill_tokens}, ${r.num_decode_tokens}) vs trace (${t.prompt_tokens}, ${t.response_tokens} + 1)`,
    );
  }
});
const vidur = vidurRequests(vidurRows);

const oursJson = JSON.parse(readFileSync(oursPath, 'utf8'));
if (!Array.isArray(oursJson.records)) fail(`${oursPath}: no records array (expected serve-bench --out layout)`);
if (oursJson.records.length !== trace.length) {
  fail(`${oursPath}: ${oursJson.records.length} records, trace ${tracePath} has ${trace.length}`);
}
let maxArrivalGap = 0;
const ours = oursJson.records.map((r, k) => {
  const i = r.index;
  if (!Number.isInteger(i) || i < 0 || i >= trace.length) fail(`${oursPath}: records[${k}].index = ${i}`);
  for (const f of ['arrival', 'firstToken', 'finish']) {
    if (!Number.isFinite(r[f])) fail(`${oursPath}: records[${k}].${f} = ${r[f]}`);
  }
  maxArrivalGap = Math.max(maxArrivalGap, Math.abs(r.arrival - trace[i].timestamp));
  return {
    arrival: r.arrival,
    firstToken: r.firstToken,
    finish: r.finish,
    prompt: trace[i].prompt_tokens,
    decode: trace[i].response_tokens + 1,
    numOutputTokens: r.numOutputTokens,
    recomputes: r.recomputes ?? 0,
  };
});
if (new Set(oursJson.records.map((r) => r.index)).size !== trace.length) fail(`${oursPath}: record indices repeat`);
if (maxArrivalGap > 1e-6) fail(`${oursPath}: arrivals differ from ${tracePath} by up to ${maxArrivalGap} s`);

const a = summarize(ours);
const b = summarize(vidur);
const rows = Object.keys(a).map((k) => {
  const diff = ((a[k] - b[k]) / b[k]) * 100;
  return { metric: k, ours: a[k], vidur: b[k], diff_pct: diff };
});
const fmt = (x) => (Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(3) : x.toPrecision(4));
console.log(`case ${caseName}: ${trace.length} requests (${tracePath}); ours ${oursPath}; Vidur ${vidurPath}`);
console.log(`${'metric'.padEnd(20)} ${'ours'.padStart(12)} ${'Vidur'.padStart(12)} ${'diff %'.padStart(8)}`);
for (const r of rows) {
  const flag = Math.abs(r.diff_pct) > 10 ? '  > 10 %' : '';
  console.log(
    `${r.metric.padEnd(20)} ${fmt(r.ours).padStart(12)} ${fmt(r.vidur).padStart(12)} ${r.diff_pct.toFixed(1).padStart(8)}${flag}`,
  );
}
const restarts = vidurRows.reduce((s, r) => s + r.num_restarts, 0);
const recomputes = ours.reduce((s, r) => s + r.recomputes, 0);
console.log(`preemptions (recompute): ours ${recomputes}, Vidur ${restarts}`);
const offCount = ours.filter((r) => r.numOutputTokens !== undefined && r.numOutputTokens !== r.decode).length;
if (offCount) console.log(`note: ${offCount} of our records have numOutputTokens != response_tokens + 1`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ case: caseName, rows, restarts, recomputes }, null, 2) + '\n');
