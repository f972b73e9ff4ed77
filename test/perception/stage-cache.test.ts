/**
 * The pipeline stages' skip rule: a stage reruns unless its outputs exist and the stamp beside the main output
 * holds the same config and the same input bytes (folders hashed file by file).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPath, runCached } from '../../src/jobs/reuse.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'stage-cache-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('skips with the same inputs and config; reruns when an input, the config or an output changes', async () => {
  const input = join(dir, 'in.json');
  const out = join(dir, 'out.json');
  writeFileSync(input, '[1]');
  let runs = 0;
  const stage = (config: unknown) =>
    runCached({ outputs: [out], inputs: [input], config }, async () => {
      runs++;
      writeFileSync(out, 'x');
      return { value: runs };
    });
  expect(await stage({ n: 1 })).toEqual({ value: 1, skipped: false });
  expect(await stage({ n: 1 })).toEqual({ value: 1, skipped: true }); // the stored record comes back
  expect(await stage({ n: 2 })).toEqual({ value: 2, skipped: false }); // config changed
  writeFileSync(input, '[2]');
  expect(await stage({ n: 2 })).toEqual({ value: 3, skipped: false }); // input bytes changed
  rmSync(out);
  expect(await stage({ n: 2 })).toEqual({ value: 4, skipped: false }); // output missing
  expect(runs).toBe(4);
});

test('a folder hashes its files by name and bytes; stamps, temporaries and training side files are ignored', () => {
  const m = join(dir, 'model');
  mkdirSync(m);
  writeFileSync(join(m, 'a.bin'), 'aa');
  const h1 = hashPath(m);
  writeFileSync(join(m, 'x.stage.json'), '{}');
  writeFileSync(join(m, 'b.json.tmp-123'), 'partial');
  writeFileSync(join(m, 'README.md'), 'card');
  writeFileSync(join(m, 'log.csv'), 'step,loss');
  mkdirSync(join(m, 'checkpoint-5'));
  writeFileSync(join(m, 'checkpoint-5', 'w.bin'), 'w');
  expect(hashPath(m)).toBe(h1);
  writeFileSync(join(m, 'a.bin'), 'ab');
  expect(hashPath(m)).not.toBe(h1);
  expect(() => hashPath(join(dir, 'missing'))).toThrow(/missing: input not found/);
});
