/**
 * The probe's per-step remaining-length estimate in the serving harness (issue 15, item 5): the real step engine
 * keeps each row's hidden state from the forwards it runs anyway, and `srpt` orders by the probe's estimate.
 *  - The kept state is the one the probe was trained on (probe-train.ts answerStates: the state at the position
 *    fed last, read from one teacher-forced forward of prompt + answer so far): after a prefill, the prompt's last
 *    token; after a decode step, the previous token. Compared with that forward on the embedded default
 *    (ckpts/tiny-v3), rows at different positions, the shared prefix copied in, at two layers. Tolerance 1e-4 of
 *    the largest value: the engine's cached decode and a full prefill sum in different orders (1e-6 seen).
 *  - withProbeRemaining turns the head's "tokens to emit from the fed position" into "tokens left after this call"
 *    (one less, never below 0), asking the engine for the rows' states in the harness's order.
 *  - `seqsch serve` with `probe`: srpt runs on the committed probe and every request gets the tokens it gets
 *    without it (greedy answers do not depend on order); the head's time is counted as predictor time. Refused
 *    without the real engine, without srpt, or with a probe that has no remaining head, naming the key or folder.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { loadModel, type LoadedModel } from '../../src/engines/load.js';
import { loadBenchItems } from '../../src/workload/items.js';
import type { BenchItem } from '../../src/core/query.js';
import { sharedPrefixLength } from '../../src/generation/generate.js';
import { TfjsStepEngine } from '../../src/engines/step-tfjs.js';
import { withProbeRemaining } from '../../src/serving/predictors.js';
import { constantPredictor } from '../../src/perception/predictor.js';
import type { RunningQuery } from '../../src/core/predictor.js';
import { runServe } from '../../src/serving/run.js';
import { serveSchema } from '../../src/serving/config.js';
import { LengthProbe } from '../../src/perception/probe.js';
import { repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';

const tmp = tmpDirs('seqsch-probe-remaining-');
let m: LoadedModel;
let items: BenchItem[];

beforeAll(async () => {
  await initBackend('wasm');
  m = await loadModel(repoPath('ckpts/tiny-v3'));
  items = loadBenchItems({ data: repoPath('data/synthetic-v3/val.json'), numData: 6, seed: 42 });
});
afterAll(() => m.model.dispose());

/** The state at the last position of `ids`, from one forward without a cache (what answerStates reads). */
function reference(ids: number[], layer: number): Float32Array {
  return tf.tidy(() => {
    const h = m.model.forwardWithHidden(tf.tensor2d(ids, [1, ids.length], 'int32'), { hiddenLayer: layer }).hidden; // (1, T, d)
    return tf.slice(h, [0, ids.length - 1, 0], [1, 1, -1]).dataSync() as Float32Array;
  });
}

test.each([4, 2])(
  "the engine keeps, per row, layer %i's state at the position fed last (prefill: the prompt's last token; decode: the previous token)",
  async (layer) => {
    const ids = items.map((it) => m.tokenizer.encode(it.prompt));
    const prefix = ids[0].slice(0, sharedPrefixLength(ids));
    const eng = new TfjsStepEngine(m.model, m.tokenizer, { maxBatch: 4, capacity: 128, prefix, hiddenLayer: layer });
    const d = m.model.config.hiddenSize;
    let checked = 0;
    let worst = 0;
    const check = (running: string[]) => {
      const got = eng.hiddenStates(running);
      running.forEach((id, i) => {
        const req = items.findIndex((it) => it.id === id);
        const out = eng.outputIds(id);
        // prompt + the answer up to the token fed last: after g generated tokens, the fed one was token g − 1
        const g = out.length; // rows that emitted EOS are finished and not asked for
        const want = reference([...ids[req], ...out.slice(0, g - 1)], layer);
        const scale = Math.max(...want.map(Math.abs));
        for (let k = 0; k < d; k++) worst = Math.max(worst, Math.abs(got[i * d + k] - want[k]) / scale);
        checked++;
      });
    };
    try {
      const reqs = items.map((it) => eng.request(it.id, it.prompt, 12));
      await eng.admit(reqs.slice(0, 2));
      check(eng.running());
      for (let s = 0; s < 3; s++) {
        const r = await eng.step();
        for (const u of r.updates) if (u.finished) eng.evict(u.id);
        check(eng.running());
      }
      await eng.admit(reqs.slice(2, 4)); // new rows beside rows 3 tokens in
      for (let s = 0; s < 4; s++) {
        const r = await eng.step();
        for (const u of r.updates) if (u.finished) eng.evict(u.id);
        check(eng.running());
      }
    } finally {
      eng.dispose();
    }
    expect(checked).toBeGreaterThan(10);
    expect(worst).toBeLessThan(1e-4);
    console.log(
      `layer ${layer}: ${checked} rows checked, worst difference ${worst.toExponential(2)} of the largest value`,
    );
  },
);

test('hiddenStates needs the engine option, and a layer the model has', () => {
  const eng = new TfjsStepEngine(m.model, m.tokenizer, { maxBatch: 1, capacity: 16 });
  try {
    expect(() => eng.hiddenStates(['x'])).toThrow(/hiddenLayer/);
  } finally {
    eng.dispose();
  }
  expect(() => new TfjsStepEngine(m.model, m.tokenizer, { maxBatch: 1, capacity: 16, hiddenLayer: 5 })).toThrow(
    /hiddenLayer must be an integer in \[0, 4\].*got 5/,
  );
});

test("withProbeRemaining: the head's estimate less the token just emitted, at least 0, rows in the harness's order", async () => {
  const asked: string[][] = [];
  const head = { remainingTokens: (h: Float32Array) => Array.from(h) }; // d = 1: the "state" is the estimate
  const states = (ids: string[]) => {
    asked.push(ids);
    return Float32Array.from(ids.map((id) => ({ a: 40, b: 0.5, c: 1 })[id]!));
  };
  const p = withProbeRemaining(constantPredictor(7), head, states);
  const row = (id: string): RunningQuery => ({ id, item: items[0], generated: 3, predicted: 10 });
  const r = await p.remaining!([row('b'), row('a'), row('c')]);
  expect(asked).toEqual([['b', 'a', 'c']]);
  expect(r.remaining).toEqual([0, 39, 0]);
  expect(r.charged).toBe(false);
  expect(p.name).toBe('constant+probe');
  expect((await p.predict([items[0]])).lengths).toEqual([7]); // arrival predictions are the base predictor's
});

test('withProbeRemaining averages the predicted end positions, refines every k tokens, and leaves a paused row as it was', async () => {
  let est: Record<string, number> = { a: 21 }; // d = 1: the "state" is the head's estimate
  let asked = 0;
  const head = { remainingTokens: (h: Float32Array) => Array.from(h) };
  const states = (ids: string[]) => {
    asked++;
    return Float32Array.from(ids.map((id) => est[id]));
  };
  const p = withProbeRemaining(constantPredictor(7), head, states, { every: 4 });
  const at = (generated: number): RunningQuery[] => [{ id: 'a', item: items[0], generated, predicted: 7 }];
  expect((await p.remaining!(at(2))).remaining).toEqual([20]); // ends at 2 + 21 − 1 = 22
  est = { a: 9 };
  expect((await p.remaining!(at(5))).remaining).toEqual([17]); // 3 tokens since: not refined, 22 − 5
  expect(asked).toBe(1);
  expect((await p.remaining!(at(6))).remaining).toEqual([12]); // refined: ends at 6 + 9 − 1 = 14; mean end (22 + 14) / 2 = 18
  est = { a: 100 };
  expect((await p.remaining!(at(6))).remaining).toEqual([12]); // paused: no new token, no new estimate
  expect(asked).toBe(2);
  est = { a: 0.5 };
  expect((await p.remaining!(at(30))).remaining).toEqual([0]); // mean end (22 + 14 + 29.5) / 3 < 30: never below 0
  expect(() => withProbeRemaining(constantPredictor(7), head, states, { every: 0 })).toThrow(
    /interval must be an integer ≥ 1.*got 0/,
  );
});

const serveConfig = (extra: Record<string, unknown>) =>
  serveSchema.parse({
    engine: 'tfjs',
    model: repoPath('ckpts/tiny-v3'),
    data: repoPath('data/synthetic-v3/val.json'),
    lengths: repoPath('data/synthetic-v3/val-length.json'),
    num_data: 12,
    seed: 42,
    max_length: 48,
    max_batch: 3,
    policy: 'srpt',
    predictor: 'oracle',
    ...extra,
  });

test('serve with a probe: srpt reads its per-step estimate; every answer is the one served without it', async () => {
  const probe = repoPath('ckpts/tiny-v3-probe');
  const cache = new Map<string, unknown>();
  const ctx = {
    cache: <T>(k: string, make: () => T): T =>
      cache.has(k) ? (cache.get(k) as T) : (cache.set(k, make()), cache.get(k) as T),
  };
  const withProbe = await runServe(serveConfig({ probe }), ctx);
  const without = await runServe(serveConfig({}), ctx);
  const tokens = (r: typeof withProbe) => Object.fromEntries(r.result.records.map((x) => [x.id, x.numOutputTokens]));
  expect(withProbe.result.records.every((x) => Number.isFinite(x.finish))).toBe(true);
  expect(tokens(withProbe)).toEqual(tokens(without));
  expect(without.result.predictorSeconds).toBe(0); // the oracle is free
  expect(withProbe.result.predictorSeconds).toBeGreaterThan(0); // the head ran after decode steps
});

test('serve refuses a probe without the real engine or srpt, and a probe without a remaining head, naming the key or folder', async () => {
  const probe = repoPath('ckpts/tiny-v3-probe');
  await expect(runServe(serveConfig({ probe, engine: 'sim' }))).rejects.toThrow(
    /`probe` reads the serving model's hidden states: `engine` tfjs only/,
  );
  await expect(runServe(serveConfig({ probe, policy: 'sjf' }))).rejects.toThrow(
    /`probe` refines remaining lengths, which only `policy` srpt orders by \(got sjf\)/,
  );
  const dir = tmp();
  const totalOnly = LengthProbe.load(probe);
  const cfg = { ...totalOnly.config, heads: { total: totalOnly.config.heads.total! } };
  const p = new LengthProbe(cfg, null);
  p.save(dir);
  p.dispose();
  totalOnly.dispose();
  await expect(runServe(serveConfig({ probe: dir }))).rejects.toThrow(
    new RegExp(`${dir}: the probe has no 'remaining' head`),
  );
  // a decode rule that is none is refused when the probe is loaded, naming the file and the key
  const f = join(dir, 'probe_config.json');
  writeFileSync(f, readFileSync(f, 'utf8').replace(/"decode": "[^"]*"/, '"decode": "q7"'));
  expect(() => LengthProbe.load(dir)).toThrow(`${f}: heads.total.head.decode: decode rule "q7" is not one of`);
});

test('a probe trained for another hidden size or a deeper model is refused where it would be used, naming the place', () => {
  const probe = LengthProbe.load(repoPath('ckpts/tiny-v3-probe')); // layer 4, hidden size 192
  try {
    expect(() => probe.checkFits({ hiddenSize: 192, numLayers: 4 }, 'here')).not.toThrow();
    expect(() => probe.checkFits({ hiddenSize: 256, numLayers: 4 }, 'ckpts/x')).toThrow(
      'ckpts/x: the probe reads layer 4 of hidden size 192, but the serving model has 4 layers of hidden size 256',
    );
    expect(() => probe.checkFits({ hiddenSize: 192, numLayers: 3 }, 'strategy probe')).toThrow(
      'strategy probe: the probe reads layer 4 of hidden size 192, but the serving model has 3 layers of hidden size 192',
    );
  } finally {
    probe.dispose();
  }
});
