/**
 * What both mounts do with a job's paths before any work (src/commands/mount.ts for one command,
 * src/experiment/claim.ts for every point of an experiment): refuse outputs that would destroy an input or a
 * foreign folder, or that cannot be written (src/util/job-paths.ts), then lock every output for the run
 * (src/util/lock.ts). It runs nothing of the job.
 */
import type { Job } from '../core/job.js';
import { pathProblems, writableProblem, type OutputPath } from '../util/job-paths.js';
import { acquireLocks } from '../util/lock.js';

/** The problems of one point's paths (`name` spells a key as its surface does), writability included. */
export function jobPathProblems(
  job: Pick<Job, 'files' | 'writes'>,
  c: never,
  cli: Record<string, unknown>,
  name: (key: string) => string,
): string[] {
  const writes = job.writes?.(c, cli) ?? [];
  const problems = pathProblems(job.files?.(c) ?? [], writes, name);
  return [
    ...problems,
    ...writes.map((w) => writableProblem(w.path, name(w.key))).filter((p): p is string => p !== undefined),
  ];
}

/** Lock every output (`what` says which key wrote it); one release for all. Throws LockedError naming the holder. */
export function lockOutputs(writes: { out: OutputPath; what: string }[]): () => void {
  return acquireLocks(writes.map((w) => ({ path: w.out.path, what: w.what })));
}
