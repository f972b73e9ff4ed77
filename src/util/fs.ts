/**
 * File helpers: atomic writes (a killed process never leaves a complete-looking half file) and JSON I/O with errors
 * naming the file; a file-system error of a write (ENOSPC, EACCES, EROFS, EISDIR, ENOTDIR, …) names the path and
 * what was being written instead of Node's bare `ENOSPC: no space left on device, write`.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { removeDeadTemps } from './leftovers.js';

/** `ENOSPC: no space left on device` from a Node error (its code and the system's words, without the call). */
export function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err !== 'object' || !err.code) return String((e as Error)?.message ?? e);
  const words = /^[A-Z]+: ([^,]+)/.exec(err.message)?.[1];
  return words ? `${err.code}: ${words}` : err.code;
}

/**
 * An error naming `path` and what was being done (`write the results table`) for a file-system error (one with an
 * errno code); any other error (a check of ours that already names its file) is returned as it is.
 */
export function namedFsError(path: string, doing: string, e: unknown): Error {
  if (!(e as NodeJS.ErrnoException)?.code) return e as Error;
  const err = new Error(`${path}: could not ${doing} (${errnoText(e)})`);
  (err as NodeJS.ErrnoException).code = (e as NodeJS.ErrnoException).code;
  return err;
}

/**
 * The temporary name beside `path` that an atomic write fills before `commitTemp` renames it into place; temps
 * of dead writers beside the same path (a process killed between write and rename) are removed first.
 */
export function tempPath(path: string): string {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw namedFsError(path, `create its folder ${dirname(path)}`, e);
  }
  if (existsSync(path) && statSync(path).isDirectory())
    throw new Error(`${path}: is a folder; give a file path to write`);
  removeDeadTemps(path);
  return `${path}.tmp-${process.pid}`;
}

/** Rename a finished temporary file into place; on failure the temporary file is removed and the error names `path`. */
export function commitTemp(tmp: string, path: string): void {
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`${path}: could not be written (${errnoText(e)})`);
  }
}

/**
 * Write via a temporary file in the same folder, then rename (atomic on POSIX). `what` names the content for an
 * error (`the results table`); a failed write removes the temporary file and names `path`.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, what = 'the file'): void {
  const tmp = tempPath(path);
  try {
    writeFileSync(tmp, data);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw namedFsError(path, `write ${what}`, e);
  }
  commitTemp(tmp, path);
}

export function writeJson(path: string, value: unknown, what = 'the file'): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', what);
}

/**
 * Read and parse a JSON file; errors name the file (missing, or not valid JSON). A path ending in `.gz` is
 * gunzipped first (the shipped Alpaca traces are `data/alpaca/*.json.gz`), so `.json` and `.json.gz` read alike.
 */
export function readJson<T = unknown>(path: string): T {
  if (!existsSync(path)) throw new Error(`${path}: file not found`);
  if (statSync(path).isDirectory()) throw new Error(`${path}: is a folder; expected a JSON file`);
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw namedFsError(path, 'read it', e);
  }
  let text: string;
  try {
    text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  } catch (e) {
    throw new Error(`${path}: not a valid gzip file (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}
