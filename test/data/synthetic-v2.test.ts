/**
 * Corpus version 2 (data/synthetic-v2, the corpus of ckpts/tiny-v2): counts as digits, countdown markers in the
 * counting families ("7. Cat" … "1. Owl"), the same length control and Vicuna-like length distribution as
 * version 1, and version 1 left byte-identical (a version-1 call with and without `version: 1` gives the same).
 */
import { mkdtempSync, copyFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeSynthetic, makeSyntheticSplits, drawTask, Rand, quantiles, answerOf, DEFAULT_MAX_LENGTH } from '../../src/data/synthetic.js';
import { ensureSyntheticData, resamplePearson, splitStats, MANIFEST_FILE, SPLITS, type SyntheticManifest } from '../../src/data/synthetic/files.js';
import { countTokens } from '../../src/tokenizer/llama.js';
import { readJson } from '../../src/util/fs.js';
import { describeShared, sharedPath, REPO_ROOT } from '../helpers/shared.js';

const V2_DIR = resolve(REPO_ROOT, 'data/synthetic-v2');

/** The count a version-2 instruction asks for: always digits after the verb. */
function askedCount(instruction: string): number {
  const m = instruction.match(/(^List|^Name|list of|^Write|\? Give|word \w+) (\d+) /);
  if (!m) throw new Error(`no digit count in ${JSON.stringify(instruction)}`);
  return Number(m[2]);
}

describe('synthetic corpus version 2: countdown markers', () => {
  const r = new Rand('length-control-v2');
  const drawn = Array.from({ length: 4000 }, () => drawTask(r, 1, 2));
  const byFamily = (name: string) => drawn.filter((d) => d.family.name === name).map((d) => ({ ...d.task, answer: d.task.respond(r) }));

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
    expect(drawn.some((d) => /\b(two|three|four|five|six|seven|eight|nine|ten)\b/.test(d.task.instruction))).toBe(false);
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

describeShared('synthetic corpus version 2: answer lengths shaped like Vicuna-7B on Alpaca, scaled to 256', ['data/alpaca/alpaca-val-10k-length.json'], () => {
  // Same bound as version 1's test (each quantile 10–99% within ±25% or ±4 tokens of Vicuna's, scaled by 256/512).
  const vicuna = readJson<{ 'L_t0.0': number }[]>(sharedPath('data/alpaca/alpaca-val-10k-length.json')).map((r) => r['L_t0.0']);
  const levels = [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

  test('val split quantiles and the share over max_length', () => {
    const { val, train } = makeSyntheticSplits({ seed: 0, pretrain: 0, version: 2 });
    const ours = quantiles(val.map((c) => countTokens(answerOf(c))), levels);
    const ref = quantiles(vicuna, levels).map((q) => (q * DEFAULT_MAX_LENGTH) / 512);
    ours.forEach((q, i) => expect(Math.abs(q - ref[i])).toBeLessThanOrEqual(Math.max(0.25 * ref[i], 4)));
    const st = splitStats(train, DEFAULT_MAX_LENGTH);
    expect(st.overMaxLength).toBeGreaterThanOrEqual(0.004);
    expect(st.overMaxLength).toBeLessThanOrEqual(0.025);
  });
});

const committed = existsSync(join(V2_DIR, MANIFEST_FILE));
(committed ? test : test.skip)('the committed data/synthetic-v2 files are what the generator makes for their manifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seqsch-synth-v2-'));
  try {
    for (const f of [MANIFEST_FILE, 'train.json', 'val.json']) copyFileSync(join(V2_DIR, f), join(dir, f));
    const m = ensureSyntheticData(dir); // regenerates pretrain.json, checks train/val byte for byte
    expect(SPLITS.every((s) => existsSync(join(dir, `${s}.json`)))).toBe(true);
    expect(m.params.version).toBe(2);
    expect(m.params).toEqual(readJson<SyntheticManifest>(join(V2_DIR, MANIFEST_FILE)).params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
