/**
 * Issue 16, case 3: reused stage outputs are checked. A stamp records the sha256 of every output; an output
 * edited by hand (L_t0.0 → 999 in a length record) or replaced is computed again, saying why, instead of being
 * reused with `skipped: true`. (committed-outputs.test.ts: the embedded default's stamps still vouch for its files.)
 */
import { jest } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCached, stampPath } from '../../src/jobs/reuse.js';
import { tmpDirs } from '../helpers/tmp.js';

const tmp = tmpDirs('seqsch-rel-cache-');

/** A lenpred-like stage: writes length records for its input, returns a record. */
function lengthStage(dir: string) {
  const input = join(dir, 'queries.json');
  const out = join(dir, 'queries-length.json');
  writeFileSync(input, JSON.stringify([{ id: 'a' }, { id: 'b' }]));
  let runs = 0;
  const run = () =>
    runCached({ outputs: [out], inputs: [input], config: { max_length: 256 } }, async () => {
      runs++;
      writeFileSync(
        out,
        JSON.stringify([
          { id: 'a', L_gt: 12, 'L_t0.0': 14 },
          { id: 'b', L_gt: 30, 'L_t0.0': 28 },
        ]),
      );
      return { mean_L: 21 };
    });
  return { out, run, runs: () => runs };
}

test('an output edited after its stamp was written is computed again, and the log says why', async () => {
  const s = lengthStage(tmp());
  expect(await s.run()).toEqual({ mean_L: 21, skipped: false });
  expect(await s.run()).toEqual({ mean_L: 21, skipped: true });
  writeFileSync(s.out, readFileSync(s.out, 'utf8').replace('"L_t0.0":14', '"L_t0.0":999'));
  const said: string[] = [];
  const spy = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((m: string | Uint8Array) => (said.push(String(m)), true));
  try {
    expect(await s.run()).toEqual({ mean_L: 21, skipped: false });
  } finally {
    spy.mockRestore();
  }
  expect(said.join('')).toContain(`${s.out}: computing again (${s.out} changed since`);
  expect(readFileSync(s.out, 'utf8')).not.toContain('999');
  expect(s.runs()).toBe(2);
});

test('a stamp without output hashes (or a half-written run that left the old stamp) cannot vouch for the output', async () => {
  const s = lengthStage(tmp());
  await s.run();
  const stamp = stampPath(s.out);
  const { outputs: _dropped, ...old } = JSON.parse(readFileSync(stamp, 'utf8'));
  writeFileSync(stamp, JSON.stringify(old));
  expect((await s.run()).skipped).toBe(false);
  expect((await s.run()).skipped).toBe(true);
});
