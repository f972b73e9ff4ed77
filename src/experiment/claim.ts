/**
 * What a run or a part of a sweep claims before any point runs: every output its points write can be written
 * (a read-only or missing-under-a-file target is found now, not after hours of work: src/util/job-paths.ts), and
 * is locked for the run with its results folder (src/util/lock.ts), so a second run of the same experiment at the
 * same time is refused naming the holder instead of writing the same files. It runs no point.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Experiment } from './config.js';
import { getStage } from './registry.js';
import { writableProblem } from '../util/job-paths.js';
import { acquireLocks, heldHere, tryLock } from '../util/lock.js';

/**
 * Check and lock the outputs of the points at `indices`, and check `folder` (the results root, or a part's folder)
 * can be written, locking it too when `lock` (a part folder; a full run's folder is claimed by claimRunDir); one
 * release for all.
 */
export function claimOutputs(
  exp: Experiment,
  indices: number[],
  folder: { path: string; what: string; lock: boolean },
): () => void {
  const problems: string[] = [];
  const locks: { path: string; what: string }[] = folder.lock ? [{ path: folder.path, what: folder.what }] : [];
  for (const i of indices) {
    const p = exp.points[i];
    for (const o of getStage(p.stage)?.writes?.(p.config as never, {}) ?? []) {
      const what = `${exp.file}: stages[${p.stageIndex}].${o.key}`;
      const problem = writableProblem(o.path, what);
      if (problem) problems.push(problem);
      locks.push({ path: o.path, what });
    }
  }
  const rootProblem = writableProblem(folder.path, folder.what);
  if (rootProblem) problems.unshift(rootProblem);
  if (problems.length) throw new Error([...new Set(problems)].join('\n'));
  return acquireLocks(locks);
}

/**
 * A new run folder `<root>/<name>-<stamp>` (`-2`, `-3`, … when it exists or another run holds its lock), locked for
 * this run: two runs started in the same second get two folders, never one each believing it is theirs.
 */
export function claimRunDir(root: string, base: string): { dir: string; release: () => void } {
  for (let k = 1; ; k++) {
    const dir = join(root, k === 1 ? base : `${base}-${k}`);
    if (existsSync(dir) || heldHere(dir)) continue; // heldHere: two runs in one process (tests, notebooks)
    const release = tryLock(dir, 'results folder');
    if (!release) continue;
    if (!existsSync(dir)) return { dir, release };
    release();
  }
}
