/**
 * A rerun on a finished folder trains beside it and swaps the new result in with two renames (src/training/run.ts);
 * a kill between them (or before the old folder is removed) is finished by the next job on the folder. The
 * states a kill can leave are built here directly; kill.test.ts kills real runs around them.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { settleSwap } from '../../src/training/run.js';
import { tmpDirs } from '../helpers/tmp.js';

const tmp = tmpDirs('seqsch-rel-swap-');

test('a kill between the two renames of a swap is finished by the next job on the folder', () => {
  const parent = tmp();
  const out = join(parent, 'run');
  const write = (dir: string, files: Record<string, string>) => {
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  };
  // killed after OUT → OUT.prev, before OUT.next-… → OUT: the finished new result is swapped in
  write(`${out}.prev`, { 'train_done.json': '{"old":1}' });
  write(`${out}.next-abc`, { 'train_done.json': '{"new":1}', 'log.csv': 'step\n1\n' });
  settleSwap(out);
  expect(readFileSync(join(out, 'train_done.json'), 'utf8')).toBe('{"new":1}');
  expect(readdirSync(parent)).toEqual(['run']);
  // killed after the second rename, before OUT.prev was removed: only the leftover goes
  write(`${out}.prev`, { 'train_done.json': '{"old":1}' });
  settleSwap(out);
  expect(readdirSync(parent)).toEqual(['run']);
  expect(readFileSync(join(out, 'train_done.json'), 'utf8')).toBe('{"new":1}');
});
