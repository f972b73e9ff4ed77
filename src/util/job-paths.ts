/**
 * The paths a job reads and writes, checked before any work (both mounts call `pathProblems`; the experiment
 * runner and the CLI call `writableProblem` on every output): an output that equals, contains or lies inside an
 * input (compared as real paths: symlinks resolved, also for outputs that do not exist yet) would destroy that
 * input, so it is refused naming both paths and both keys; a folder output that exists, is not empty and is not
 * this job's own earlier output (its `owns` check) is refused, so a model folder is never replaced by a different
 * kind of artifact; a file output inside a finished train result (a model or adapter folder), a file output that is
 * a folder, and a file input that is a folder, are refused naming the key.
 * Writability is probed by creating (and removing) an entry where the output will go, which finds a read-only file
 * system even for root; free space is compared with an estimate where the caller knows one. It reads the file
 * system only to check; it never writes an output.
 */
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmdirSync, statfsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { errnoText } from './fs.js';

/** An input of a job, by key (the job contract's `files`). */
export interface InputPath {
  key: string;
  path: string;
}

/** An output of a job, by key; `folder` when the output is a folder the job fills. */
export interface OutputPath {
  key: string;
  path: string;
  folder?: FolderOwner;
}

/** Whether an existing, non-empty folder is this job's own earlier output (which it may rewrite or resume). */
export interface FolderOwner {
  /** what the job writes there, for the error (`a LoRA adapter (train --mode lora)`) */
  what: string;
  /** true, or why the folder is not this job's (`holds a full model (train_done.json mode full)`) */
  owns(dir: string): true | string;
}

/** The file a finished train result holds (src/training/defaults.ts DONE_FILE; util cannot import training). */
const TRAINED_MARKER = 'train_done.json';

/** The nearest folder above `path` (a real path) that holds a finished train result, if any. */
function trainedAncestor(path: string): string | undefined {
  for (let d = dirname(path); ; d = dirname(d)) {
    if (existsSync(join(d, TRAINED_MARKER))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/** Input keys that name folders (a model, an adapter, a probe, a tokenizer, a synthetic corpus); every other input is a file. */
const FOLDER_KEYS = new Set(['model', 'lora', 'probe', 'tokenizer', 'synthetic']);

/** The real path of `p`: symlinks of its deepest existing ancestor resolved, the rest (not created yet) appended. */
export function realPath(p: string): string {
  let head = resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...rest.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return resolve(p);
      rest.push(basename(head));
      head = up;
    }
  }
}

const inside = (child: string, parent: string) => child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * What is wrong with a job's paths, one line per problem (empty: nothing); `name(key)` spells a key as the surface
 * does (`--out`, `stages[2].out`). Inputs that do not exist are not this function's business (the mounts check
 * them), nor are outputs written by an earlier stage of the same experiment.
 */
export function pathProblems(inputs: InputPath[], outputs: OutputPath[], name: (key: string) => string): string[] {
  const problems: string[] = [];
  for (const i of inputs)
    if (!FOLDER_KEYS.has(i.key) && isDir(i.path))
      problems.push(`${name(i.key)} ${i.path} is a folder; give the file to read`);
  for (const o of outputs) {
    const out = realPath(o.path);
    const before = problems.length;
    for (const i of inputs) {
      const inp = realPath(i.path);
      const how = out === inp ? 'is' : inside(inp, out) ? 'contains ' : inside(out, inp) ? 'lies inside ' : null;
      if (how === null) continue;
      const link = out !== resolve(o.path) || inp !== resolve(i.path) ? ` (both resolve to ${out})` : '';
      problems.push(
        how === 'is'
          ? `${name(o.key)} ${o.path} is the input ${name(i.key)} ${i.path}${link}: writing it would destroy that input; give another output path`
          : `${name(o.key)} ${o.path} ${how}the input ${name(i.key)} ${i.path}${link}: writing it would destroy that input; give an output path outside it`,
      );
    }
    if (o.folder) {
      if (existsSync(o.path) && !isDir(o.path))
        problems.push(`${name(o.key)} ${o.path}: is a file; ${o.folder.what} is a folder`);
      else if (isDir(o.path) && readdirSync(o.path).length > 0) {
        const own = o.folder.owns(o.path);
        if (own !== true)
          problems.push(
            `${name(o.key)} ${o.path}: the folder is not empty and is not an earlier output of this command (${own}); ` +
              `writing ${o.folder.what} there would replace it: give a new or empty folder`,
          );
      }
    } else if (isDir(o.path)) problems.push(`${name(o.key)} ${o.path} is a folder; give a file path to write`);
    else if (problems.length === before) {
      // not an input, yet inside a model or adapter: no job writes a single file into a train result
      const result = trainedAncestor(out);
      if (result)
        problems.push(
          `${name(o.key)} ${o.path} lies inside the trained result ${result} (it holds ${TRAINED_MARKER}): writing there would change that model or adapter; give a path outside it`,
        );
    }
  }
  return [...new Set(problems)];
}

/** The deepest existing ancestor of `p` (p itself when it exists). */
function existingAncestor(p: string): string {
  let head = resolve(p);
  while (!existsSync(head) && dirname(head) !== head) head = dirname(head);
  return head;
}

/**
 * Why `path` (`what`, e.g. `--out`) cannot be written, or undefined: an ancestor that is a file (ENOTDIR), or a
 * folder where creating an entry fails (read-only file system, no permission, no space or inodes). The probe entry
 * is created in the folder the output goes into (or its deepest existing ancestor) and removed at once.
 */
export function writableProblem(path: string, what: string): string | undefined {
  const folder = isDir(path) ? path : existingAncestor(dirname(resolve(path)));
  if (!isDir(folder)) return `${what} ${path}: cannot be created: ${folder} is a file, not a folder (ENOTDIR)`;
  try {
    rmdirSync(mkdtempSync(join(folder, '.seqsch-write-probe-')));
  } catch (e) {
    return `${what} ${path}: cannot write in ${folder} (${errnoText(e)})`;
  }
  return undefined;
}

/** Free bytes for an unprivileged writer on the file system holding `path` (or its deepest existing ancestor). */
export function freeBytes(path: string): number {
  const s = statfsSync(existingAncestor(path));
  return s.bavail * s.bsize;
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(b < 2 ** 20 ? 2 : 0)} MB`;

/** Throw, naming `path` and `what`, when its file system has less than `bytes` free. */
export function requireFreeSpace(path: string, bytes: number, what: string): void {
  const free = freeBytes(path);
  if (free < bytes)
    throw new Error(
      `${path}: ${what} needs about ${mb(bytes)} but its file system has ${mb(free)} free (ENOSPC before the work starts); free some space or write elsewhere`,
    );
}

/** A folder owner that recognises its earlier output by a file it always writes (`probe_config.json`). */
export const markedBy = (marker: string, what: string): FolderOwner => ({
  what,
  owns: (dir) =>
    existsSync(join(dir, marker)) ||
    `it holds no ${marker}: ${readdirSync(dir).slice(0, 4).join(', ')}${readdirSync(dir).length > 4 ? ', …' : ''}`,
});

/** The output a CLI-only flag names (`--trace FILE`), none when it is not given. */
export const cliOutput = (cli: Record<string, unknown>, key: string): OutputPath[] =>
  typeof cli[key] === 'string' ? [{ key, path: cli[key] as string }] : [];
