/**
 * What a killed process leaves behind, and how the next one recognises it: temporary files and folders carry
 * the writer's host and PID (`<file>.tmp-<pid>`, `<run>.partial-<host>-<pid>`), and one whose writer is gone
 * (same host, PID no longer running) is removed. Names from another host are left alone: that process may be
 * alive on a machine sharing this file system (a Slurm array).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** This host's name as it appears in temporary names (letters, digits, _ . - only). */
export const HOST = hostname().replace(/[^A-Za-z0-9_.-]+/g, '_') || 'host';

/** Whether process `pid` runs on this host (EPERM: it runs, under another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `-<pid>` or `-<host>-<pid>` at the end of a temporary name: whether its writer is gone (dead, on this host). */
export function writerGone(suffix: string): boolean {
  const m = /^(?:(.+)-)?(\d+)$/.exec(suffix);
  if (!m) return false;
  if (m[1] !== undefined && m[1] !== HOST) return false;
  return !pidAlive(Number(m[2]));
}

/** Remove the entries of `dir` named `<prefix><suffix>` whose writer is gone; returns the removed names. */
export function removeDeadLeftovers(dir: string, prefix: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix) || !writerGone(name.slice(prefix.length))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

const swept = new Set<string>();
/** Once per path and process: remove `<path>.tmp-<pid>` files of dead writers (a kill between write and rename). */
export function removeDeadTemps(path: string): void {
  if (swept.has(path)) return;
  swept.add(path);
  removeDeadLeftovers(dirname(path), `${basename(path)}.tmp-`);
}
