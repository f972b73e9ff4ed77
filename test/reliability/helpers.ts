/**
 * Shared by the reliability tests: run `seqsch` as a user would (bin/seqsch.js in a child process), expect it to
 * refuse its flags, kill a child with SIGKILL once a condition on the file system holds, and small file checks.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

const BIN = join(REPO_ROOT, 'bin/seqsch.js');

/** `seqsch ARGS` to completion: exit status, stdout, stderr. */
export function seqsch(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `seqsch ARGS`, expects exit 1 and an error line naming `flag` (stderr shown when none does); that line. */
export function refusedLine(args: string[], flag: string): string {
  const r = seqsch(args);
  expect(r.status).toBe(1);
  const line = lines(r.stderr).find((l) => l.includes(flag));
  expect([line, r.stderr]).toEqual([expect.any(String), r.stderr]);
  return line!;
}

/**
 * Start `seqsch ARGS` and SIGKILL it as soon as `when()` holds (polled every 10 ms). Resolves 'killed', or
 * 'exited' when it ended first (with its stderr, for the assertion message).
 */
export async function killWhen(
  args: string[],
  when: () => boolean,
): Promise<{ outcome: 'killed' | 'exited'; status: number | null; stderr: string }> {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let killed = false;
  const timer = setInterval(() => {
    if (!killed && when()) {
      killed = true;
      child.kill('SIGKILL');
    }
  }, 10);
  const status = await new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  clearInterval(timer);
  return { outcome: killed ? 'killed' : 'exited', status, stderr };
}

export const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Every file and folder name under `dir`, recursively (relative paths). */
export function listTree(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    const rel = p.slice(base.length + 1);
    return statSync(p).isDirectory() ? [rel + '/', ...listTree(p, base)] : [rel];
  });
}

/** Rows of a log.csv (header left out), as step numbers. */
export function loggedSteps(csv: string): number[] {
  if (!existsSync(csv)) return [];
  return readFileSync(csv, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((r) => Number(r.split(',')[0]));
}

/** Lines of `text` that hold something (for "a short error, not 30 lines of help"). */
export const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
