// scripts/probe-decode-study.ts (issue 15; run by scripts/probe-decode-study.sh). Train-only study: out-of-fold bucket
// distributions of the committed probe's configuration (layer 4, mean pool, 256-unit MLP, buckets of 16, 60 epochs),
// repeated over several fold splits and fit seeds (repetition r: folds of whole instruction texts drawn with seed r,
// as the probe stage draws them with its seed; fit seeds 100·r + fold), each decode rule written as a predictions file
// for `seqsch simulate` on the 2048 train records. Validation never read.
//   npx tsx scripts/probe-decode-study.ts [repetitions, default 6]
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend.js';
import { firstTurn, lMax, loadConversations, loadLengths, vicunaPrompt } from '../src/data/conversation.js';
import { loadModelAndTokenizer } from '../src/perception/pipeline.js';
import { fitProbeHead, pickRows, promptStates } from '../src/perception/probe-train.js';
import { groupFolds } from '../src/perception/probe-pipeline.js';
import { LengthProbe } from '../src/perception/probe.js';
import { decodeBins } from '../src/scoring/heads.js';
import type { DecodeRule } from '../src/scoring/kinds.js';
import { writeJson } from '../src/util/fs.js';
import { mkdirSync } from 'node:fs';

export const STUDY_RULES: DecodeRule[] = ['bucket50', 'median', 'q0.3', 'q0.35', 'q0.4', 'q0.45', 'q0.6'];
const reps = Number(process.argv[2] ?? 6);
if (!(Number.isInteger(reps) && reps >= 1))
  throw new Error(`probe-decode-study: repetitions must be an integer ≥ 1, got ${process.argv[2]}`);
const dir = 'results/probe-decode-study';
await initBackend('wasm');
mkdirSync(dir, { recursive: true });
const by = new Map(loadLengths('data/synthetic-v3/train-length.json').map((r) => [r.id, r]));
const convs = loadConversations('data/synthetic-v3/train.json').filter((c) => by.has(c.id));
const texts = convs.map((c) => firstTurn(c, 'human'));
const lm = convs.map((c) => lMax(by.get(c.id)!));
const { model, tokenizer } = await loadModelAndTokenizer('ckpts/tiny-v3');
const layer = 4,
  d = model.config.hiddenSize;
const rows = {
  features: await promptStates(model, tokenizer, texts.map(vicunaPrompt), layer, 'mean', 64),
  n: lm.length,
  d,
  targets: lm,
};
const head = { kind: 'buckets' as const, maxLength: 256, cell: 16, sigma: 16, decode: 'bucket50' as const };
for (let rep = 0; rep < reps; rep++) {
  const folds = groupFolds(texts, 5, rep);
  const P: number[][] = new Array(lm.length);
  for (let k = 0; k < 5; k++) {
    const inF = folds.map((x, i) => (x === k ? i : -1)).filter((i) => i >= 0);
    const rest = folds.map((x, i) => (x !== k ? i : -1)).filter((i) => i >= 0);
    const seed = 100 * rep + k;
    const probe = new LengthProbe(
      {
        format: 'seqsch-probe-1',
        model: 'x',
        layer,
        pool: 'mean',
        inputSize: d,
        target: 'L_max',
        heads: { total: { hiddenSize: 256, head } },
      },
      null,
      seed,
    );
    await fitProbeHead(probe, 'total', pickRows(rows, rest), {
      epochs: 60,
      batchSize: 64,
      lr: 3e-3,
      weightDecay: 0.01,
      warmupRatio: 0.05,
      seed,
    });
    const pr = tf
      .tidy(() => tf.softmax(probe.outputs('total', tf.tensor2d(pickRows(rows, inF).features, [inF.length, d]))))
      .arraySync() as number[][];
    inF.forEach((i, m) => (P[i] = pr[m]));
    probe.dispose();
  }
  for (const rule of STUDY_RULES)
    writeJson(
      `${dir}/oof-r${rep}-${rule}.json`,
      convs.map((c, i) => ({ id: c.id, predicted: decodeBins(head, P[i], rule) })),
    );
  console.log(`repetition ${rep}: wrote ${STUDY_RULES.join(' ')}`);
}
writeJson(`${dir}/train-recorded.json`, convs);
