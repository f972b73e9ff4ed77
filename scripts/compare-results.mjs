#!/usr/bin/env node
// Compare two results folders' results.json (e.g. a merged sweep and a single-process run of the same experiment,
// or a run before and after a refactor): same experiment, same points in the same order, equal values everywhere
// except the keys named by --ignore (wall-clock figures such as seconds and throughput), at any depth, and the keys
// named by --ignore-when inside the result points that match its condition. A string naming a path inside the
// compared folder itself (e.g. a cost model written there) is compared relative to it ("<run>/…"), so two runs
// of one experiment do not differ by their folders' names. Exit 0 when equal; else print the first differences
// (path: a vs b) and every differing key with its count, and exit 1. Does not say which side is right.
//   node scripts/compare-results.mjs DIR_A DIR_B [--ignore seconds,throughput] \
//     [--ignore-when 'stage=serve&engine=tfjs:makespan,latency_mean' ...]
// A condition is FIELD=VALUE pairs joined by '&'; FIELD is looked up on the point, then its config, then its record.
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

const args = process.argv.slice(2);
const ignore = new Set();
/** @type {{ when: [string, string][], keys: Set<string> }[]} */
const scoped = [];
for (let i = 0; i < args.length;) {
  if (args[i] === '--ignore' || args[i] === '--ignore-when') {
    const [flag, value] = args.splice(i, 2);
    if (value === undefined) usage();
    if (flag === '--ignore') for (const k of value.split(',')) ignore.add(k);
    else {
      const at = value.lastIndexOf(':');
      if (at < 0) usage();
      const when = value
        .slice(0, at)
        .split('&')
        .map((c) => c.split('='));
      if (when.some((c) => c.length !== 2)) usage();
      scoped.push({ when, keys: new Set(value.slice(at + 1).split(',')) });
    }
  } else i++;
}
if (args.length !== 2) usage();

function usage() {
  console.error(
    'usage: node scripts/compare-results.mjs DIR_A DIR_B [--ignore key1,key2] [--ignore-when F=V[&F=V]:key1,key2]',
  );
  process.exit(2);
}

/** results.json with every string that names a path inside `dir` rewritten as "<run>/…". */
function load(dir) {
  const name = basename(resolve(dir));
  const inside = new RegExp(`^(?:.*/)?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|$)`);
  return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'), (_k, v) =>
    typeof v === 'string' ? v.replace(inside, '<run>') : v,
  );
}

/** The keys to skip inside one result point: the --ignore-when lists whose condition the point meets. */
function pointIgnores(point) {
  const field = (f) => point?.[f] ?? point?.config?.[f] ?? point?.record?.[f];
  const keys = new Set();
  for (const s of scoped) if (s.when.every(([f, v]) => String(field(f)) === v)) for (const k of s.keys) keys.add(k);
  return keys;
}

const [a, b] = args.map(load);
const diffs = [];
const byKey = new Map(); // differing key name → count
let compared = 0;
function walk(x, y, path, skip, key) {
  if (x && y && typeof x === 'object' && typeof y === 'object' && Array.isArray(x) === Array.isArray(y)) {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (ignore.has(k) || skip.has(k)) continue;
      const child = Array.isArray(x) ? `${path}[${k}]` : `${path}.${k}`;
      // a point of results.results brings its own --ignore-when keys
      const inner = path === 'results.json.results' ? pointIgnores(x[k]) : skip;
      walk(x[k], y[k], child, inner, Array.isArray(x) ? key : k);
    }
    return;
  }
  compared++;
  if (Object.is(x, y)) return;
  byKey.set(key, (byKey.get(key) ?? 0) + 1);
  const show = (v) => (JSON.stringify(v) ?? 'undefined').slice(0, 120);
  if (diffs.length < 10) diffs.push(`${path}: ${show(x)} vs ${show(y)}`);
}
walk(a, b, 'results.json', new Set(), '(top)');
const ignoring = [
  ignore.size ? `ignoring ${[...ignore].join(', ')}` : '',
  scoped.length ? `${scoped.length} scoped ignore lists` : '',
]
  .filter(Boolean)
  .join('; ');
if (byKey.size) {
  const keys = [...byKey].map(([k, n]) => `${k} ×${n}`).join(', ');
  console.error(`${args[0]} and ${args[1]} differ${ignoring ? ` (${ignoring})` : ''}:\n  ${diffs.join('\n  ')}`);
  console.error(`differing keys: ${keys}`);
  process.exit(1);
}
console.log(`same: ${a.results.length} points, ${compared} values compared${ignoring ? ` (${ignoring})` : ''}`);
