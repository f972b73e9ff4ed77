/**
 * Issue 27, case 2: concurrent runs. A second run on an output another live run holds is refused at once naming
 * the holder (pid, command, start time); a lock left by a dead process is taken over; two experiment runs started
 * together get a results folder each (the loser used to fail at its final rename with a bare ENOTEMPTY and delete
 * its results); two `train --out X` at once: the second is refused, and X's log.csv holds every step once.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, LockedError, lockFile } from '../../src/util/lock.js';
import { claimRunDir } from '../../src/experiment/claim.js';
import { HOST } from '../../src/util/leftovers.js';
import { tinyTrainArgs } from '../helpers/cli.js';
import { REPO_ROOT, repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';
import { loggedSteps, seqsch } from './helpers.js';

const tmp = tmpDirs('seqsch-rel-locks-');
const BIN = join(REPO_ROOT, 'bin/seqsch.js');

/** A live process other than this one (a `sleep`), killed after the test. */
function otherProcess(): { pid: number; stop: () => void } {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

const holder = (pid: number, host = HOST) =>
  JSON.stringify({ pid, host, command: 'seqsch train --out X', started: '2026-12-07T18:00:00.000Z' });

test('a lock of a live process is refused naming pid, command and start time; released locks are removed', () => {
  const out = join(tmp(), 'model');
  const other = otherProcess();
  try {
    writeFileSync(lockFile(out), holder(other.pid));
    let err: unknown;
    try {
      acquireLock(out, '--out');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockedError);
    expect((err as Error).message).toBe(
      `${out} (--out) is being written by pid ${other.pid} (\`seqsch train --out X\`, started 2026-12-07T18:00:00.000Z); wait for it to finish`,
    );
    expect(readFileSync(lockFile(out), 'utf8')).toBe(holder(other.pid)); // the holder's lock is untouched
  } finally {
    other.stop();
  }
});

test("a dead process's lock is taken over; re-entrant in one process; removed on release", () => {
  const out = join(tmp(), 'results.json');
  writeFileSync(lockFile(out), holder(deadPid()));
  const release = acquireLock(out, '--out');
  expect(JSON.parse(readFileSync(lockFile(out), 'utf8')).pid).toBe(process.pid);
  const again = acquireLock(out, '--out'); // the experiment locks its outputs, then its points run
  again();
  expect(existsSync(lockFile(out))).toBe(true);
  release();
  expect(existsSync(lockFile(out))).toBe(false);
});

test("another host's lock is respected (that process may run on a machine sharing the file system)", () => {
  const out = join(tmp(), 'shard');
  writeFileSync(lockFile(out), holder(deadPid(), 'some-other-node'));
  expect(() => acquireLock(out, 'the shard 0/3 folder')).toThrow(
    `on host some-other-node (\`seqsch train --out X\`, started 2026-12-07T18:00:00.000Z); wait for it to finish, or remove ${lockFile(out)} if that process is gone`,
  );
});

test('two runs in the same second get two run folders (-2 when the first holds the name)', () => {
  const root = tmp();
  const a = claimRunDir(root, 'exp-2026-12-07T18-00-00');
  const b = claimRunDir(root, 'exp-2026-12-07T18-00-00');
  expect([a.dir, b.dir]).toEqual([join(root, 'exp-2026-12-07T18-00-00'), join(root, 'exp-2026-12-07T18-00-00-2')]);
  a.release();
  b.release();
  expect(readdirSync(root)).toEqual([]);
});

test('an experiment whose output another live run holds is refused before any work, naming the holder', () => {
  const dir = tmp();
  const out = join(dir, 'train-instruct.json');
  const file = join(dir, 'x.yaml');
  writeFileSync(
    file,
    `experiment: x
stages:
  - stage: construct
    data: ${repoPath('data/synthetic-v3/train.json')}
    lengths: ${repoPath('data/synthetic-v3/train-length.json')}
    out: ${out}
`,
  );
  const release = acquireLock(out, 'test'); // this jest worker plays the first run
  try {
    const r = seqsch(['experiment', file, '--results', join(dir, 'results')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${out} (${file}: stages[0].out) is being written by pid ${process.pid}`);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, 'results'))).toBe(false);
  } finally {
    release();
  }
});

test('two identical experiments started together both finish, each in its own complete folder', async () => {
  const dir = tmp();
  const file = join(dir, 'twice.yaml');
  writeFileSync(
    file,
    `experiment: twice
stages:
  - stage: simulate
    data: ${repoPath('data/synthetic-v3/val.json')}
    lengths: ${repoPath('data/synthetic-v3/val-length.json')}
    rows:
      - { label: a, strategy: vanilla }
`,
  );
  const run = () =>
    new Promise<{ code: number | null; stderr: string }>((res) => {
      const c = spawn(process.execPath, [BIN, 'experiment', file, '--results', join(dir, 'results')], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      c.stderr.on('data', (d) => (stderr += d));
      c.on('exit', (code) => res({ code, stderr }));
    });
  const [a, b] = await Promise.all([run(), run()]);
  expect([a.code, b.code, a.stderr + b.stderr]).toEqual([0, 0, expect.not.stringContaining('ENOTEMPTY')]);
  const folders = readdirSync(join(dir, 'results')).sort();
  expect(folders).toHaveLength(2);
  for (const f of folders) {
    expect(f).toMatch(/^twice-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(-2)?$/);
    for (const name of ['config.yaml', 'results.csv', 'results.json', 'table.md', 'report.html'])
      expect(existsSync(join(dir, 'results', f, name))).toBe(true);
  }
}, 60_000);

test('two `train --out X` at once: the second is refused naming the first; log.csv holds every step once', async () => {
  const out = join(tmp(), 'lora');
  const args = [...tinyTrainArgs(8), '--mode', 'lora', '--lr', '1e-3', '--out', out];
  const first = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let firstErr = '';
  first.stderr.on('data', (d) => (firstErr += d));
  const firstDone = new Promise<number | null>((res) => first.on('exit', (c) => res(c)));
  // the first run holds the lock from before it loads anything until it exits
  for (let i = 0; i < 500 && !existsSync(lockFile(out)); i++) await new Promise((r) => setTimeout(r, 10));
  expect(existsSync(lockFile(out))).toBe(true);
  const second = seqsch(args);
  expect(second.status).toBe(1);
  expect(second.stderr).toContain(`${out} (--out) is being written by pid ${first.pid} (\`seqsch train`);
  expect(await firstDone).toBe(0);
  expect(firstErr).not.toContain('Error');
  expect(loggedSteps(join(out, 'log.csv'))).toEqual([1, 2, 3, 4]);
  expect(existsSync(lockFile(out))).toBe(false);
}, 60_000);
