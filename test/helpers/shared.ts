/**
 * ../shared holds reference data (HF fixtures, Alpaca traces). Tests that need it run only where it
 * exists and otherwise skip with a visible message — never a silent pass.
 */
import { existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = process.env.SEQSCH_SHARED ?? resolve(REPO_ROOT, '../shared');

export function sharedPath(...parts: string[]): string {
  return resolve(SHARED, ...parts);
}

/** `describe` when every listed ../shared path exists, else `describe.skip` plus a console warning. */
export function describeShared(name: string, paths: string[], fn: () => void): void {
  const missing = paths.filter((p) => !existsSync(sharedPath(p)));
  if (missing.length === 0) {
    describe(name, fn);
  } else {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED "${name}": ../shared is missing ${missing.join(', ')}`);
    describe.skip(name, fn);
  }
}
