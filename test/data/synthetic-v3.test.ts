/**
 * Corpus version 3 (data/synthetic-v3, the corpus of ckpts/tiny-v3): version 2 with "Count from a to b" answered
 * as "a of b, …, b of b." and "Count down from b to a" as "b to a, …, a to a." over half the drawn span; every
 * other family's draws and text are version 2's, and the length distribution stays Vicuna-like.
 */
import { resolve } from 'node:path';
import { makeSyntheticSplits, makeSynthetic, drawTask, Rand } from '../../src/data/synthetic.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { describeVicunaShape, testCommittedCorpus } from '../helpers/corpus.js';

const V3_DIR = resolve(REPO_ROOT, 'data/synthetic-v3');

describe('synthetic corpus version 3: counting restates the end in every item', () => {
  const r2 = new Rand('length-control-v3');
  const r3 = new Rand('length-control-v3');
  const pairs = Array.from({ length: 3000 }, () => {
    const v2 = drawTask(r2, 1, 2);
    const v3 = drawTask(r3, 1, 3);
    // answers drawn from the same state as well, so the streams stay in step
    return { v2: { ...v2, answer: v2.task.respond(r2) }, v3: { ...v3, answer: v3.task.respond(r3) } };
  });

  test('"Count from a to b." → "a of b, a+1 of b, …, b of b."; down → "b to a, …, a to a."', () => {
    const counts = pairs.filter((p) => p.v3.family.name === 'count').map((p) => p.v3);
    expect(counts.length).toBeGreaterThan(200);
    let down = 0;
    for (const { task, answer } of counts) {
      const up = task.instruction.match(/^Count from (\d+) to (\d+)\.$/);
      const dn = task.instruction.match(/^Count down from (\d+) to (\d+)\.$/);
      expect(up || dn).toBeTruthy();
      const [x, y] = (up ?? dn)!.slice(1, 3).map(Number);
      const nums = up
        ? Array.from({ length: y - x + 1 }, (_, i) => x + i)
        : Array.from({ length: x - y + 1 }, (_, i) => x - i);
      expect(nums.length).toBe(task.count);
      expect(answer).toBe(`${nums.map((k) => (up ? `${k} of ${y}` : `${k} to ${y}`)).join(', ')}.`);
      if (dn) down++;
    }
    expect(down).toBeGreaterThan(30);
  });

  test("the span is half of version 2's draw (at least 2); every other family is version 2 byte for byte", () => {
    for (const { v2, v3 } of pairs) {
      expect(v3.family.name).toBe(v2.family.name);
      if (v3.family.name === 'count') expect(v3.task.count).toBe(Math.max(2, Math.round(v2.task.count! / 2)));
      else expect([v3.task.instruction, v3.answer]).toEqual([v2.task.instruction, v2.answer]);
    }
  });
});

describe('pretrain family weights (data/synthetic-v3-count)', () => {
  test('val and train stay the corpus mixture; pretrain gets the count family ×5', () => {
    const base = makeSyntheticSplits({ seed: 0, train: 300, val: 200, pretrain: 3000, version: 3 });
    const heavy = makeSyntheticSplits({
      seed: 0,
      train: 300,
      val: 200,
      pretrain: 3000,
      version: 3,
      pretrainWeights: { count: 5 },
    });
    expect(heavy.val).toEqual(base.val);
    expect(heavy.train).toEqual(base.train);
    const share = (cs: typeof base.pretrain) =>
      cs.filter((c) => /^Count /.test(c.conversations[0].value)).length / cs.length;
    // count weight 12 of 94 → 12.8%; ×5: 60 of 142 → 42.3% (binomial sd ~0.9% at n 3000, so ±3% is > 3 sd)
    expect(share(base.pretrain)).toBeCloseTo(12 / 94, 1);
    expect(Math.abs(share(heavy.pretrain) - 60 / 142)).toBeLessThan(0.03);
    const valIns = new Set(heavy.val.map((c) => c.conversations[0].value));
    expect(heavy.pretrain.some((c) => valIns.has(c.conversations[0].value))).toBe(false);
  });

  test('an unknown family or a negative weight is an error naming it', () => {
    expect(() => makeSynthetic({ n: 1, seed: 0, weights: { counting: 2 } })).toThrow(
      /unknown family "counting".*count/,
    );
    expect(() => makeSynthetic({ n: 1, seed: 0, weights: { count: -1 } })).toThrow(
      /"count" must be a finite number ≥ 0, got -1/,
    );
  });
});

describeVicunaShape(3);
testCommittedCorpus(V3_DIR, 'data/synthetic-v3', (params) => expect(params.version).toBe(3));
