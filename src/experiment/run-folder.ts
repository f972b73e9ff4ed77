/**
 * The life of a results folder: the points run in `<dir>.partial-<host>-<pid>/`, which is renamed to `<dir>` only
 * once every file is written, so a folder without `.partial` in its name is always complete. A failed run
 * removes its partial folder; each run first removes the partial folders (of any experiment) in the same
 * parent whose writer is gone (killed: same host, PID no longer running), and their `<dir>.lock` files. Paths a stage wrote into its records
 * point into the partial folder while it runs; `relocate` rewrites them to the final folder, so every path in
 * results.json exists after the run.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { HOST, removeDeadLeftovers } from '../util/leftovers.js';
import { removeDeadLocks } from '../util/lock.js';

export interface RunFolder {
  /** where the points write while the run is in progress */
  tmp: string;
  /** the folder it becomes */
  dir: string;
  /** `value` with every string that starts with tmp pointing into dir instead (records, details) */
  relocate<T>(value: T): T;
  /** rename tmp → dir (every file written) */
  commit(): void;
  /** remove tmp (the run failed) */
  abort(): void;
}

export function startRunFolder(dir: string): RunFolder {
  removeStalePartials(dirname(dir));
  const tmp = `${dir}.partial-${HOST}-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  return {
    tmp,
    dir,
    relocate: <T>(value: T): T => relocateValue(value, tmp, dir) as T,
    commit: () => renameSync(tmp, dir),
    abort: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

/** Remove `<root>/<name>.partial-[<host>-]<pid>` folders whose process is gone; returns their names. */
export function removeStalePartials(root: string): string[] {
  if (!existsSync(root)) return [];
  const prefixes = new Set(
    readdirSync(root)
      .map((n) => /^(.*\.partial-)/.exec(n)?.[1])
      .filter((p): p is string => p !== undefined),
  );
  const removed = [...[...prefixes].flatMap((p) => removeDeadLeftovers(root, p)), ...removeDeadLocks(root)];
  if (removed.length)
    process.stderr.write(
      `experiment: removed ${removed.length} partial folder(s) and lock(s) of killed runs in ${root}: ${removed.join(', ')}\n`,
    );
  return removed;
}

function relocateValue(v: unknown, from: string, to: string): unknown {
  if (typeof v === 'string') return v === from || v.startsWith(`${from}/`) ? to + v.slice(from.length) : v;
  if (Array.isArray(v)) return v.map((x) => relocateValue(x, from, to));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, relocateValue(x, from, to)]));
  return v;
}
