/**
 * No validation query enters the length probe's training (issue 15's acceptance): a train record that shares an
 * id or an instruction text (case and whitespace folded, the proxy trainer's rule) with any query of the
 * validation file is dropped before the layer sweep, the folds, the fits and the remaining head's answers. Checked
 * on hand-made splits, and end to end on the embedded default (ckpts/tiny-v3): three validation queries planted in a
 * train file of 24 records (the same id; a new id with the instruction re-cased and re-spaced; a new id with the
 * same text) are dropped, and the probe is fitted on the other 24.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { loadConversations, loadLengths, type Conversation } from '../../src/data/conversation.js';
import { runProbeJob, withoutLeaks, type Split } from '../../src/perception/probe-pipeline.js';
import { repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';

const tmp = tmpDirs('seqsch-probe-leaks-');
const conv = (id: string, text: string): Conversation => ({
  id,
  conversations: [
    { from: 'human', value: text },
    { from: 'gpt', value: 'ok' },
  ],
});

test('withoutLeaks drops train records sharing an id or a folded instruction with any validation query', () => {
  const dir = tmp();
  const valData = join(dir, 'val.json');
  writeFileSync(valData, JSON.stringify([conv('v1', 'Name a red fruit.'), conv('v2', 'Count to three.')]));
  const split: Split = {
    texts: ['Name a blue fruit.', 'name  a RED fruit.', 'Something else.', 'Count to three.'],
    prompts: ['p0', 'p1', 'p2', 'p3'],
    ids: ['t0', 't1', 'v1', 't3'],
    lMax: [10, 11, 12, 13],
    lT0: [5, 6, 7, 8],
  };
  const { split: kept, dropped } = withoutLeaks(split, valData);
  expect(dropped).toBe(3); // t1 by its folded text, v1 by its id, t3 by its text
  expect(kept).toEqual({ texts: ['Name a blue fruit.'], prompts: ['p0'], ids: ['t0'], lMax: [10], lT0: [5] });
  expect(() =>
    withoutLeaks({ ...split, ids: ['v1'], texts: ['x'], prompts: ['p'], lMax: [1], lT0: [1] }, valData),
  ).toThrow(/every train record is also a query of .*val\.json/);
});

test('the probe job fits only train records that are not validation queries', async () => {
  await initBackend('wasm');
  const dir = tmp();
  const recs = new Map(loadLengths(repoPath('data/synthetic-v3/train-length.json')).map((r) => [r.id, r]));
  const train = loadConversations(repoPath('data/synthetic-v3/train.json'))
    .filter((c) => recs.has(c.id))
    .slice(0, 24);
  const val = loadConversations(repoPath('data/synthetic-v3/val.json'));
  const valRecs = new Map(loadLengths(repoPath('data/synthetic-v3/val-length.json')).map((r) => [r.id, r]));
  const text = (c: Conversation) => c.conversations[0].value;
  const planted = [
    val[0], // the same id and text
    conv('planted-1', `  ${text(val[1]).toUpperCase()} `), // new id, the instruction re-cased and re-spaced
    conv('planted-2', text(val[2])), // new id, the same text
  ];
  const lengths = [
    ...train.map((c) => recs.get(c.id)!),
    { ...valRecs.get(val[0].id)! },
    { ...valRecs.get(val[1].id)!, id: 'planted-1' },
    { ...valRecs.get(val[2].id)!, id: 'planted-2' },
  ];
  writeFileSync(join(dir, 'train.json'), JSON.stringify([...train.slice(0, 12), ...planted, ...train.slice(12)]));
  writeFileSync(join(dir, 'train-length.json'), JSON.stringify(lengths));
  const s = await runProbeJob({
    model: repoPath('ckpts/tiny-v3'),
    data: join(dir, 'train.json'),
    lengths: join(dir, 'train-length.json'),
    valData: repoPath('data/synthetic-v3/val.json'),
    valLengths: repoPath('data/synthetic-v3/val-length.json'),
    numVal: 8,
    out: join(dir, 'probe'),
    predictions: join(dir, 'val-probe.json'),
    layers: [2],
    pool: 'mean',
    target: 'L_max',
    head: { kind: 'buckets', maxLength: 256, cell: 16, sigma: 16, decode: 'median' },
    hiddenSize: 8,
    fit: { epochs: 1, batchSize: 8, lr: 1e-3, weightDecay: 0, warmupRatio: 0, seed: 0 },
    folds: 2,
    remainingQueries: 2,
    positionsPerAnswer: 2,
    remainingVal: 2,
    maxNewTokens: 8,
    batchSize: 8,
  });
  expect(s.droppedAsLeaks).toBe(3);
  expect(s.trainRecords).toBe(24);
});
