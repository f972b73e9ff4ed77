// scripts/probe-decode-study.ts (issue 15; run by scripts/probe-decode-study.sh). Train-only study: out-of-fold bucket distributions of the committed probe's configuration (layer 4, mean pool,
// 256-unit MLP, buckets of 16, 60 epochs), folds as the probe stage makes them; decode rules written as predictions
// files for `seqsch simulate` on the 2048 train records. Validation never read.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { firstTurn, lMax, loadConversations, loadLengths, vicunaPrompt } from '../src/data/conversation.js';
import { loadModelAndTokenizer } from '../src/perception/pipeline.js';
import { fitProbeHead, pickRows, promptStates } from '../src/perception/probe-train.js';
import { groupFolds } from '../src/perception/probe-pipeline.js';
import { LengthProbe } from '../src/perception/probe.js';
import { decodeBins } from '../src/proxy/heads.js';
import { writeJson } from '../src/util/fs.js';
import { mkdirSync } from 'node:fs';
await initBackend('wasm');
mkdirSync('results/probe-decode-study', { recursive: true });
const by = new Map(loadLengths('data/synthetic-v3/train-length.json').map((r) => [r.id, r]));
const convs = loadConversations('data/synthetic-v3/train.json').filter((c) => by.has(c.id));
const texts = convs.map((c) => firstTurn(c, 'human'));
const lm = convs.map((c) => lMax(by.get(c.id)!));
const { model, tokenizer } = await loadModelAndTokenizer('ckpts/tiny-v3');
const layer = 4, d = 192;
const f = await promptStates(model, tokenizer, texts.map(vicunaPrompt), layer, 'mean', 64);
const rows = { features: f, n: lm.length, d, targets: lm };
const folds = groupFolds(texts, 5, 0);
const head = { kind: 'buckets' as const, maxLength: 256, cell: 16, sigma: 16, decode: 'bucket50' as const };
const P: number[][] = new Array(lm.length);
for (let k = 0; k < 5; k++) {
  const inF = folds.map((x, i) => (x === k ? i : -1)).filter((i) => i >= 0);
  const rest = folds.map((x, i) => (x !== k ? i : -1)).filter((i) => i >= 0);
  const probe = new LengthProbe({ format: 'seqsch-probe-1', model: 'x', layer, pool: 'mean', inputSize: d, target: 'L_max', heads: { total: { hiddenSize: 256, head } } }, null, k);
  await fitProbeHead(probe, 'total', pickRows(rows, rest), { epochs: 60, batchSize: 64, lr: 3e-3, weightDecay: 0.01, warmupRatio: 0.05, seed: k });
  const pr = tf.tidy(() => tf.softmax(probe.outputs('total', tf.tensor2d(pickRows(rows, inF).features, [inF.length, d])))).arraySync() as number[][];
  inF.forEach((i, m) => (P[i] = pr[m]));
  probe.dispose();
}
const quant = (p: number[], q: number) => { let c = 0; for (let k = 0; k < p.length; k++) { const lo = k * 16, hi = Math.min((k + 1) * 16, 257); if (c + p[k] >= q) return lo + ((q - c) / Math.max(p[k], 1e-12)) * (hi - lo); c += p[k]; } return 256; };
const rules: Record<string, (p: number[]) => number> = {
  bucket50: (p) => decodeBins(head, p, 'bucket50'),
  median: (p) => decodeBins(head, p, 'median'),
  ...Object.fromEntries([0.3, 0.4, 0.45, 0.6, 0.7, 0.8, 0.9].map((q) => [`q${q}`, (p: number[]) => quant(p, q)])),
};
for (const [name, r] of Object.entries(rules)) writeJson(`results/probe-decode-study/oof-${name}.json`, convs.map((c, i) => ({ id: c.id, predicted: r(P[i]) })));
writeJson('results/probe-decode-study/train-recorded.json', convs);
console.log('wrote', Object.keys(rules).join(' '));
