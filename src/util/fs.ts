/** File helpers: atomic writes (a killed process never leaves a complete-looking half file) and JSON I/O with errors naming the file. */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { removeDeadTemps } from './leftovers.js';

/**
 * The temporary name beside `path` that an atomic write fills before `commitTemp` renames it into place; temps
 * of dead writers beside the same path (a process killed between write and rename) are removed first.
 */
export function tempPath(path: string): string {
  mkdirSync(dirname(path), { recursive: true });
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
    throw new Error(`${path}: could not be written (${(e as Error).message})`);
  }
}

/** Write via a temporary file in the same folder, then rename (atomic on POSIX). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = tempPath(path);
  try {
    writeFileSync(tmp, data);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  commitTemp(tmp, path);
}

export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Read and parse a JSON file; errors name the file (missing, or not valid JSON). A path ending in `.gz` is
 * gunzipped first (the shipped Alpaca traces are `data/alpaca/*.json.gz`), so `.json` and `.json.gz` read alike.
 */
export function readJson<T = unknown>(path: string): T {
  if (!existsSync(path)) throw new Error(`${path}: file not found`);
  const raw = readFileSync(path);
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
