/**
 * Checks shared by the tests of every synthetic corpus version: the committed files equal what the generator
 * makes for their manifest, the val split's answer lengths are shaped like Vicuna-7B's on Alpaca, and a draw of
 * tasks to check each family's length control on.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  makeSyntheticSplits,
  drawTask,
  Rand,
  quantiles,
  answerOf,
  DEFAULT_MAX_LENGTH,
  type CorpusVersion,
} from '../../src/data/synthetic.js';
import {
  ensureSyntheticData,
  splitStats,
  MANIFEST_FILE,
  SPLITS,
  type SyntheticManifest,
} from '../../src/data/synthetic/files.js';
import { countTokens } from '../../src/tokenizer/llama.js';
import { readJson } from '../../src/util/fs.js';
import { ALPACA } from './paths.js';
import { tmpDirs } from './tmp.js';

/** A test (skipped when `dir` holds no manifest) that regenerates pretrain.json in a copy and checks train/val byte for byte. */
export function testCommittedCorpus(
  dir: string,
  name: string,
  check?: (params: SyntheticManifest['params']) => void,
): void {
  const tmp = tmpDirs('seqsch-synth-');
  test(`the committed ${name} files are what the generator makes for their manifest`, () => {
    const copy = tmp();
    for (const f of [MANIFEST_FILE, 'train.json', 'val.json']) copyFileSync(join(dir, f), join(copy, f));
    const m = ensureSyntheticData(copy); // regenerates pretrain.json, checks train/val byte for byte
    expect(SPLITS.every((s) => existsSync(join(copy, `${s}.json`)))).toBe(true);
    const params = readJson<SyntheticManifest>(join(dir, MANIFEST_FILE)).params;
    expect(m.params).toEqual(params);
    check?.(params);
  });
}

/**
 * The val split's answer-length quantiles (10–99%) within ±25% or ±4 tokens of Vicuna-7B's L_t0.0 on Alpaca val,
 * scaled by 256/512, and 0.4–2.5% of train answers over max_length (Vicuna: ~1% cut at 512).
 */
export function describeVicunaShape(version: CorpusVersion): void {
  describe(`synthetic corpus version ${version}: answer lengths shaped like Vicuna-7B on Alpaca, scaled to 256`, () => {
    test('val split quantiles and the share over max_length', () => {
      const vicuna = readJson<{ 'L_t0.0': number }[]>(ALPACA.valLengths).map((r) => r['L_t0.0']);
      const levels = [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];
      const { val, train } = makeSyntheticSplits({ seed: 0, pretrain: 0, version });
      const ours = quantiles(
        val.map((c) => countTokens(answerOf(c))),
        levels,
      );
      const ref = quantiles(vicuna, levels).map((q) => (q * DEFAULT_MAX_LENGTH) / 512);
      ours.forEach((q, i) => expect(Math.abs(q - ref[i])).toBeLessThanOrEqual(Math.max(0.25 * ref[i], 4)));
      const st = splitStats(train, DEFAULT_MAX_LENGTH);
      expect(st.overMaxLength).toBeGreaterThanOrEqual(0.004);
      expect(st.overMaxLength).toBeLessThanOrEqual(0.025);
    });
  });
}

/**
 * 4000 tasks of corpus `version` drawn at scale 1 from the stream `seed`, and `byFamily(name)`: one family's tasks,
 * each with its answer, drawn from the same stream when called (so the answers follow the order of the calls).
 */
export function drawnTasks(seed: string, version: CorpusVersion = 1) {
  const r = new Rand(seed);
  const drawn = Array.from({ length: 4000 }, () => drawTask(r, 1, version));
  const byFamily = (name: string) =>
    drawn.filter((d) => d.family.name === name).map((d) => ({ ...d.task, answer: d.task.respond(r) }));
  return { drawn, byFamily };
}
