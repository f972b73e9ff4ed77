#!/usr/bin/env node
// Compare two results folders' results.json (e.g. a merged sweep and a single-process run of the same experiment):
// same experiment, same points in the same order, equal values everywhere except the keys named by --ignore
// (wall-clock figures such as seconds and throughput), at any depth. Exit 0 when equal; else print the first
// differences (path: a vs b) and exit 1.
//   node scripts/compare-results.mjs DIR_A DIR_B [--ignore seconds,predict_seconds,fcr_seconds,throughput]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const at = args.indexOf('--ignore');
const ignore = new Set(at >= 0 ? args.splice(at, 2)[1].split(',') : []);
if (args.length !== 2) {
  console.error('usage: node scripts/compare-results.mjs DIR_A DIR_B [--ignore key1,key2]');
  process.exit(2);
}
const load = (d) => JSON.parse(readFileSync(join(d, 'results.json'), 'utf8'));
const [a, b] = args.map(load);
const diffs = [];
let compared = 0;
function walk(x, y, path) {
  if (diffs.length >= 10) return;
  if (x && y && typeof x === 'object' && typeof y === 'object' && Array.isArray(x) === Array.isArray(y)) {
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of keys) if (!ignore.has(k)) walk(x[k], y[k], `${path}${Array.isArray(x) ? `[${k}]` : `.${k}`}`);
    return;
  }
  compared++;
  const show = (v) => (JSON.stringify(v) ?? 'undefined').slice(0, 120);
  if (!Object.is(x, y)) diffs.push(`${path}: ${show(x)} vs ${show(y)}`);
}
walk(a, b, 'results.json');
if (diffs.length) {
  console.error(`${args[0]} and ${args[1]} differ${ignore.size ? ` (ignoring ${[...ignore].join(', ')})` : ''}:\n  ${diffs.join('\n  ')}`);
  process.exit(1);
}
console.log(`same: ${a.results.length} points, ${compared} values compared${ignore.size ? ` (ignoring ${[...ignore].join(', ')})` : ''}`);
