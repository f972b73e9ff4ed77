/**
 * The generator's corpus version 2 (`make-data --corpus-version 2`; version 3, the current corpus, is version 2
 * with one family changed): counts as digits, countdown markers in the counting families ("7. Cat" … "1. Owl"),
 * the same length control and Vicuna-like length distribution as version 1, and version 1 left byte-identical (a
 * version-1 call with and without `version: 1` gives the same). Its committed files (data/synthetic-v2, the corpus
 * of ckpts/tiny-v2) were retired in issue 25.
 */
import { makeSynthetic, DEFAULT_MAX_LENGTH } from '../../src/data/synthetic.js';
import { resamplePearson } from '../../src/data/synthetic/files.js';
import { describeVicunaShape, drawnTasks } from '../helpers/corpus.js';

/** The count a version-2 instruction asks for: always digits after the verb. */
function askedCount(instruction: string): number {
  const m = instruction.match(/(^List|^Name|list of|^Write|\? Give|word \w+) (\d+) /);
  if (!m) throw new Error(`no digit count in ${JSON.stringify(instruction)}`);
  return Number(m[2]);
}

describe('synthetic corpus version 2: countdown markers', () => {
  const { drawn, byFamily } = drawnTasks('length-control-v2', 2);

  test('list: lines "N. …" down to "1. …", N as asked in digits', () => {
    const xs = byFamily('list');
    expect(xs.length).toBeGreaterThan(100);
    for (const x of xs) {
      const n = askedCount(x.instruction);
      expect(n).toBe(x.count);
      const lines = x.answer.split('\n');
      expect(lines.length).toBe(n);
      lines.forEach((l, i) => expect(l.startsWith(`${n - i}. `)).toBe(true));
    }
  });

  test('steps: "Step N:" down to "Step 1:"', () => {
    for (const x of byFamily('steps')) {
      const n = askedCount(x.instruction);
      const lines = x.answer.split('\n');
      expect(lines.length).toBe(n);
      lines.forEach((l, i) => expect(l.startsWith(`Step ${n - i}: `)).toBe(true));
    }
  });

  test('sentences: "N. …" down to "1. …", one sentence each', () => {
    for (const x of byFamily('sentences')) {
      const n = askedCount(x.instruction);
      const parts = x.answer.split(/(?<=\.) (?=\d+\. )/);
      expect(parts.length).toBe(n);
      parts.forEach((p, i) => expect(p).toMatch(new RegExp(`^${n - i}\\. [A-Z][^.]*\\.$`)));
    }
  });

  test('repeat: "N word, …, 1 word"; count keeps its form', () => {
    for (const x of byFamily('repeat')) {
      const w = x.instruction.match(/word (\w+)/)![1];
      const n = askedCount(x.instruction);
      expect(x.answer).toBe(Array.from({ length: n }, (_, i) => `${n - i} ${w}`).join(', '));
    }
    for (const x of byFamily('count')) expect(x.answer).toMatch(/^\d+(, \d+)*\.$/);
  });

  test('no number words in version 2 instructions', () => {
    expect(drawn.some((d) => /\b(two|three|four|five|six|seven|eight|nine|ten)\b/.test(d.task.instruction))).toBe(
      false,
    );
  });

  test('the answer length is mostly set by the instruction: Pearson between two resampled answers ≥ 0.9', () => {
    expect(resamplePearson(2000, 'test', DEFAULT_MAX_LENGTH, 2)).toBeGreaterThanOrEqual(0.9);
  });

  test('version 1 is the default and unchanged by the option; version 2 is a different draw', () => {
    const v1 = makeSynthetic({ n: 50, seed: 3, stream: 'val' });
    expect(makeSynthetic({ n: 50, seed: 3, stream: 'val', version: 1 })).toEqual(v1);
    expect(makeSynthetic({ n: 50, seed: 3, stream: 'val', version: 2 })).not.toEqual(v1);
    expect(() => makeSynthetic({ n: 1, seed: 3, version: 4 as never })).toThrow(/version must be 1, 2 or 3, got 4/);
  });
});

describeVicunaShape(2);
