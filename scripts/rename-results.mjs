#!/usr/bin/env node
// The serving names that issue 25 changed on purpose (one name per recorded length: `gt` is L_max in both loops),
// applied to an older serve / serve-calibrate results.json so scripts/same-behaviour.sh can compare it with a run of
// the current code. Writes DIR_OUT/results.json; the other files of the folder are not copied.
//   node scripts/rename-results.mjs DIR_IN DIR_OUT
//   - predictor 'gt' (then L_t0.0) → 'oracle'; predictor 'lmax' (L_max) → 'gt'
//   - config key gt_key (the oracle's recorded length) → oracle_key
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  console.error('usage: node scripts/rename-results.mjs DIR_IN DIR_OUT');
  process.exit(2);
}
if (resolve(from) === resolve(to)) {
  console.error(`rename-results: DIR_OUT is DIR_IN (${from}); it writes a renamed copy, never over its input`);
  process.exit(2);
}
const PREDICTOR = { gt: 'oracle', lmax: 'gt' };
const rename = (obj) => {
  if (!obj || typeof obj !== 'object') return;
  if (typeof obj.predictor === 'string' && obj.predictor in PREDICTOR) obj.predictor = PREDICTOR[obj.predictor];
  if ('gt_key' in obj) {
    const { gt_key, ...rest } = obj;
    for (const k of Object.keys(obj)) delete obj[k];
    // keep the key's place in the object's order
    for (const [k, v] of Object.entries({ ...rest, oracle_key: gt_key })) obj[k] = v;
  }
};
const results = JSON.parse(readFileSync(join(from, 'results.json'), 'utf8'));
for (const r of results.results)
  if (r.stage === 'serve' || r.stage === 'serve-calibrate') [r.config, r.record].forEach(rename);
mkdirSync(to, { recursive: true });
writeFileSync(join(to, 'results.json'), JSON.stringify(results, null, 2) + '\n');
