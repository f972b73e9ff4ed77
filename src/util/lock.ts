/**
 * Locks on output paths: a run that writes a folder or file (a train OUT, a lenpred output, a results or shard
 * folder) holds `<path>.lock` while it runs, so a second run on the same path is refused at once, naming the
 * holder (pid, host, command, start time), instead of both writing it (log.csv with every step twice, the loser of
 * two experiment runs failing at its final rename). Refusing rather than waiting: the holder may run for hours,
 * a wait would look like a hang, and a scheduler's retry reruns the refused job later (where it reuses what the
 * holder wrote). A lock whose holder is gone (same host, PID no longer running: `process.kill(pid, 0)`) is taken
 * over; one of another host is respected (that process may run on a machine sharing this file system), and the
 * error says which file to remove if it is not. Locks are re-entrant within a process (an experiment locks every
 * output of its points, then runs them) and removed when released, when the process exits, and on SIGINT, SIGTERM
 * or SIGHUP (then the process dies of the signal as it would have); a SIGKILL leaves them for the takeover above.
 * It does not decide what to lock: the CLI mount and the experiment runner do.
 */
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { HOST, pidAlive } from './leftovers.js';

/** Who holds a lock: written into the lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  /** the command line (node's arguments after the script), for the error a second run sees */
  command: string;
  /** ISO time the lock was taken */
  started: string;
}

/** A second run found the path locked by a live process (or one of another host). */
export class LockedError extends Error {}

export const lockFile = (path: string) => `${resolve(path).replace(/\/+$/, '')}.lock`;

/** path (resolved) → how many times this process took it */
const held = new Map<string, number>();
let exitHook = false;

const me = (): LockHolder => ({
  pid: process.pid,
  host: HOST,
  command: ['seqsch', ...process.argv.slice(2)].join(' '),
  started: new Date().toISOString(),
});

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    // only a file of this module's shape counts as a lock (another tool's *.lock is never read as one)
    return typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.started === 'string' ? h : null;
  } catch {
    return null; // gone meanwhile, or not ours
  }
}

const alive = (h: LockHolder) => h.host !== HOST || pidAlive(h.pid);

export const describeHolder = (h: LockHolder) =>
  `pid ${h.pid}${h.host !== HOST ? ` on host ${h.host}` : ''} (\`${h.command}\`, started ${h.started})`;

/** Create `file` holding `holder` only if it does not exist (link of a complete temp file: atomic, never half-written). */
function createExclusive(file: string, holder: LockHolder): boolean {
  const tmp = `${file}.tmp-${process.pid}`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(tmp, JSON.stringify(holder) + '\n');
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`${file}: could not create the lock (${(e as Error).message})`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Take the lock on `path` for this process, or throw LockedError naming the holder. `what` says what the path is
 * to the user (`--out`, `stages[4].out`, `results folder`). Returns the release function.
 */
export function acquireLock(path: string, what: string): () => void {
  const key = resolve(path);
  const file = lockFile(path);
  const taken = held.get(key);
  if (taken === undefined) {
    for (let attempt = 0; ; attempt++) {
      if (createExclusive(file, me())) break;
      const h = readHolder(file);
      if (h && h.pid === process.pid && h.host === HOST) break; // ours (released map lost): keep it
      if (h && alive(h))
        throw new LockedError(
          `${path} (${what}) is being written by ${describeHolder(h)}; wait for it to finish` +
            (h.host !== HOST
              ? `, or remove ${file} if that process is gone (it runs on another host, so this one cannot tell)`
              : ''),
        );
      if (attempt > 2) throw new LockedError(`${file}: could not take over the lock of a dead process`);
      // dead holder (or an unreadable lock): move it aside, and put it back if a live run took it meanwhile
      const aside = `${file}.stale-${process.pid}`;
      try {
        renameSync(file, aside);
      } catch {
        continue; // someone else moved it first
      }
      const moved = readHolder(aside);
      if (moved && alive(moved) && (moved.pid !== h?.pid || moved.host !== h?.host)) {
        try {
          linkSync(aside, file);
        } catch {
          /* a third run holds it now; ours fails on the next attempt */
        }
      } else if (h) process.stderr.write(`${path}: took over the lock of ${describeHolder(h)}, which is gone\n`);
      rmSync(aside, { force: true });
    }
    if (!exitHook) {
      exitHook = true;
      const removeHeld = () => {
        for (const k of held.keys()) rmSync(lockFile(k), { force: true });
      };
      process.on('exit', removeHeld);
      // Ctrl-C, a scheduler's SIGTERM at its time limit, a closed terminal: remove the locks, then die of the signal
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
        process.once(sig, () => {
          removeHeld();
          process.kill(process.pid, sig);
        });
    }
  }
  held.set(key, (taken ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (held.get(key) ?? 1) - 1;
    if (n > 0) return void held.set(key, n);
    held.delete(key);
    const h = readHolder(file);
    if (h && h.pid === process.pid && h.host === HOST) rmSync(file, { force: true });
  };
}

/** Remove the `*.lock` files in `dir` whose holder is gone (same host, PID not running); returns their names. */
export function removeDeadLocks(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.lock')) continue;
    const h = readHolder(join(dir, name));
    if (!h || alive(h)) continue; // not a lock of ours (unreadable), or its holder runs
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** Whether this process holds the lock on `path`. */
export const heldHere = (path: string) => held.has(resolve(path));

/** The lock on `path`, or null when a live process holds it (a run folder name to skip). */
export function tryLock(path: string, what: string): (() => void) | null {
  try {
    return acquireLock(path, what);
  } catch (e) {
    if (e instanceof LockedError) return null;
    throw e;
  }
}

/**
 * Lock every path (sorted, so two runs never each hold half), or none: on a refusal the locks already taken are
 * released and the error is rethrown. Returns one release for all.
 */
export function acquireLocks(paths: { path: string; what: string }[]): () => void {
  const unique = [...new Map(paths.map((p) => [resolve(p.path), p])).values()].sort((a, b) =>
    resolve(a.path) < resolve(b.path) ? -1 : 1,
  );
  const releases: (() => void)[] = [];
  try {
    for (const p of unique) releases.push(acquireLock(p.path, p.what));
  } catch (e) {
    for (const r of releases.reverse()) r();
    throw e;
  }
  return () => {
    for (const r of releases.reverse()) r();
  };
}
