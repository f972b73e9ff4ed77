/**
 * The proxy predictor on the real Alpaca split (data/alpaca): no validation query (by id or instruction text) is
 * in what training reads; a tiny training run lowers the loss; a trained folder saves and loads to the same
 * predictions, an ensemble's bin probabilities are its members' mean; and `seqsch predict`'s `[{id, predicted}]` file goes through the simulator unchanged (every
 * simulated query carries exactly our prediction for its id).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { excludeLeaks, instructionKey, loadQueries, splitHoldout } from '../../src/proxy/data.js';
import { loadProxyModel } from '../../src/proxy/model.js';
import { predictorScore } from '../../src/scoring/ranking.js';
import { encodeAll, predictLengths, predictOutputs } from '../../src/proxy/predict.js';
import { trainPredictor, type TrainPredictorOptions } from '../../src/proxy/train.js';
import { loadBenchItems } from '../../src/workload/items.js';
import { simulate } from '../../src/benchmark/simulate.js';
import { DEFAULT_SCHEDULE } from '../../src/scheduling/schedule.js';
import { readJson, writeJson } from '../../src/util/fs.js';
import { loadConversations } from '../../src/data/conversation.js';
import { ALPACA } from '../helpers/paths.js';

test('excludeLeaks drops by id and by instruction text (case and spaces folded), keeps the rest', () => {
  const tpl = (instr: string) =>
    `Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n${instr}\n\n### Response:`;
  const train = [
    { id: '1', text: tpl('Name a color.') },
    { id: '2', text: tpl('Write  a POEM.') },
    { id: '3', text: tpl('Add 2 and 3.') },
  ];
  const val = [
    { id: '1', text: tpl('Something else.') },
    { id: '9', text: tpl('write a poem.') },
  ];
  const { kept, dropped } = excludeLeaks(train, val);
  expect(kept.map((q) => q.id)).toEqual(['3']);
  expect(dropped).toBe(2);
  const s = splitHoldout([...Array(10).keys()], 0.3, 1);
  expect(s.held).toHaveLength(3);
  expect([...s.fit, ...s.held].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
});

describe('proxy predictor on the Alpaca split', () => {
  let dir: string;
  const opts = (): TrainPredictorOptions => ({
    data: ALPACA.trainData,
    lengths: ALPACA.trainLengths,
    exclude: [ALPACA.valData, join(dir, 'planted.json')],
    outDir: join(dir, 'model'),
    encoder: 'bow',
    hiddenSize: 16,
    numLayers: 1,
    numHeads: 1,
    intermediateSize: 32,
    maxTokens: 64,
    head: { kind: 'buckets', maxLength: 512, cell: 32, sigma: 16, decode: 'median' },
    epochs: 4,
    batchSize: 32,
    lr: 1e-2,
    weightDecay: 0,
    warmupRatio: 0,
    holdout: 0.2,
    seed: 3,
    selectBy: 'error',
    numData: 320,
    members: 2,
  });
  beforeAll(async () => {
    await initBackend('wasm');
    dir = mkdtempSync(join(tmpdir(), 'seqsch-proxy-'));
    // an excluded file that shares 3 training instructions under new ids and 2 training ids with new texts
    const convs = loadConversations(ALPACA.trainData).slice(0, 5);
    writeJson(
      join(dir, 'planted.json'),
      convs.map((c, i) =>
        i < 3
          ? {
              id: `planted-${i}`,
              conversations: c.conversations.map((t) => ({
                ...t,
                value: t.value.replace(
                  /(### Instruction:\n)([^\n]*)/,
                  (_, h, instr) => `${h}  ${instr.toUpperCase()} `,
                ),
              })),
            }
          : { id: c.id, conversations: [{ from: 'human', value: `an unrelated query ${i}` }] },
      ),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('no validation query is in the training data, by id or by instruction text', () => {
    const val = loadQueries(ALPACA.valData);
    const train = loadQueries(ALPACA.trainData);
    const { kept } = excludeLeaks(train, val);
    const valIds = new Set(val.map((q) => q.id));
    const valTexts = new Set(val.map((q) => instructionKey(q.text)));
    expect(kept.length).toBeGreaterThan(9000); // the split is disjoint: nothing (or next to nothing) is dropped
    expect(kept.filter((q) => valIds.has(q.id) || valTexts.has(instructionKey(q.text)))).toEqual([]);
    expect(valTexts.size).toBeGreaterThan(9000); // the keys are real instructions, not one shared template
  });

  test('a tiny run drops planted leaks, lowers the loss, and its saved folder predicts the simulator-ready file', async () => {
    const s = await trainPredictor(opts());
    expect(s.droppedAsLeaks).toBe(5); // the planted five; the real val split shares nothing with train
    expect(s.trainQueries + s.heldOutQueries).toBe(315);
    expect(s.curve).toHaveLength(8); // 2 members × 4 epochs
    for (const member of [0, 1]) {
      const c = s.curve.filter((e) => e.member === member);
      // soft-label cross-entropy over 17 bins starts near log(17) ≈ 2.83 with outputs ≈ 0
      expect(c[0].loss).toBeGreaterThan(2.3);
      expect(c[3].loss).toBeLessThan(c[0].loss - 0.15);
    }

    // predictions for the simulator's own sample of val (numpy permutation, seed 42)
    const queries = loadQueries(ALPACA.valData, { numData: 48, sampleSeed: 42 });
    const model = loadProxyModel(join(dir, 'model'));
    const { lengths } = await predictLengths(
      model,
      queries.map((q) => q.text),
    );
    // the ensemble's bin probabilities are the mean of its members' (members saved as whole folders)
    const enc = encodeAll(
      model,
      queries.map((q) => q.text),
    );
    const softmaxRows = (x: Float32Array, A: number) =>
      Array.from({ length: x.length / A }, (_, i) => {
        const row = Array.from(x.subarray(i * A, (i + 1) * A));
        const m = Math.max(...row);
        const e = row.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / z);
      });
    const A = 17;
    const pe = softmaxRows(await predictOutputs(model, enc), A);
    const members = [0, 1].map((k) => loadProxyModel(join(dir, 'model', `member-${k}`)));
    const pm = await Promise.all(members.map(async (m) => softmaxRows(await predictOutputs(m, enc), A)));
    for (let i = 0; i < pe.length; i++)
      for (let k = 0; k < A; k++) expect(pe[i][k]).toBeCloseTo((pm[0][i][k] + pm[1][i][k]) / 2, 6); // float32 softmax/log round trip
    members.forEach((m) => m.dispose());
    // save → load: the loaded folder reproduces the held-out metrics measured on the in-memory model
    const kept = excludeLeaks(
      loadQueries(ALPACA.trainData, { lengths: ALPACA.trainLengths, numData: 320 }),
      loadQueries(join(dir, 'planted.json')),
    ).kept;
    const held = splitHoldout(kept, 0.2, 3).held;
    const heldPred = await predictLengths(
      model,
      held.map((q) => q.text),
    );
    expect(
      predictorScore(
        heldPred.lengths,
        held.map((q) => q.target!),
        held.map((q) => q.lT0!),
      ),
    ).toEqual(s.heldOut);
    model.dispose();
    const file = join(dir, 'pred.json');
    writeJson(
      file,
      queries.map((q, i) => ({ id: q.id, predicted: lengths[i] })),
    );
    expect(
      readJson<{ id: string; predicted: number }[]>(file).every(
        (p) => typeof p.id === 'string' && Number.isFinite(p.predicted),
      ),
    ).toBe(true);

    const items = loadBenchItems({ data: ALPACA.valData, lengths: ALPACA.valLengths, numData: 48, seed: 42 });
    expect(items.map((it) => it.id)).toEqual(queries.map((q) => q.id));
    const r = await simulate(items, {
      strategy: 'seqsch',
      predictions: file,
      schedule: { ...DEFAULT_SCHEDULE, batchSize: 16 },
      maxLength: 512,
      groupSize: 16,
      realLengths: 'L_t0.0',
      recordedMaxLength: 512,
    });
    const ours = new Map(queries.map((q, i) => [q.id, lengths[i]]));
    const first = r.items.filter((it) => !it.recomputed);
    expect(first).toHaveLength(48);
    for (const it of first) expect(it.predicted).toBe(ours.get(it.id));
  }, 60_000);
});
