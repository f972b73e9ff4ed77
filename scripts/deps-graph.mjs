#!/usr/bin/env node
// docs/architecture.svg: the folders of src/ as boxes, one row per layer of scripts/layers.cjs (lowest at the bottom),
// an arrow where a folder imports another — after Graphviz's transitive reduction (tred), so an import that a path
// of arrows already implies is not drawn again — from dependency-cruiser's graph. Needs Graphviz's `dot` and `tred`
// (Debian: graphviz); run `npm run deps:graph` after moving code between folders.
//   node scripts/deps-graph.mjs [--out docs/architecture.svg]
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : 'docs/architecture.svg';
const { LAYERS } = createRequire(import.meta.url)('./layers.cjs');
const json = execFileSync('npx', ['depcruise', 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], {
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});
const folder = (p) => (p.match(/^src\/([^/]+)\//) ?? [null, 'entry points'])[1];
const edges = new Map();
for (const m of JSON.parse(json).modules) {
  if (!m.source.startsWith('src/')) continue;
  for (const d of m.dependencies) {
    if (!d.resolved.startsWith('src/')) continue;
    const [a, b] = [folder(m.source), folder(d.resolved)];
    if (a !== b) edges.set(`${a}\t${b}`, (edges.get(`${a}\t${b}`) ?? 0) + 1);
  }
}
const rows = [['entry points'], ...[...LAYERS].reverse()];
const graph = [
  'digraph imports {',
  ...[...edges.keys()].map((k) => `  "${k.split('\t')[0]}" -> "${k.split('\t')[1]}";`),
  '}',
];
const reduced = execFileSync('tred', { input: graph.join('\n'), encoding: 'utf8' })
  .split('\n')
  .map((l) => l.match(/^\s*("[^"]+"|\w+)\s*->\s*("[^"]+"|\w+)/))
  .filter((m) => m)
  .map((m) => `${m[1]} -> ${m[2]}`);
const dot = [
  'digraph layers {',
  '  rankdir=TB; newrank=true; nodesep=0.3; ranksep=0.35;',
  '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#5a6a8a", fontname="Helvetica", fontsize=11];',
  '  edge [color="#7080a0", arrowsize=0.6];',
  ...rows.map((fs) => `  { rank=same; ${fs.map((f) => `"${f}"`).join('; ')}; }`),
  // invisible spine: keeps the rows in layer order even where no import joins two neighbouring rows
  ...rows.slice(1).map((fs, i) => `  "${rows[i][0]}" -> "${fs[0]}" [style=invis, weight=10];`),
  ...reduced.map((e) => `  ${e};`),
  '}',
].join('\n');
const svg = execFileSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' });
writeFileSync(out, svg);
console.log(
  `${out}: ${rows.flat().length} folders, ${edges.size} folder-to-folder imports, ${reduced.length} drawn after tred`,
);
