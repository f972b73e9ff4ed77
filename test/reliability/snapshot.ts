/**
 * "Nothing on disk changed": the sha256 of every file under some paths (files, or folders walked), taken before
 * and after a refused command and compared whole, so an input edited, a file added or one removed all show.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from './helpers.js';

/** path → sha256 (or 'absent') for every file under `paths`. */
export function snapshot(...paths: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    if (!existsSync(p)) out[p] = 'absent';
    else if (statSync(p).isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n));
    else out[p] = sha256(p);
  };
  paths.forEach(walk);
  return out;
}
