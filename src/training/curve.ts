/**
 * The loss curve as a CSV file (outDir/log.csv: step, epoch, loss, lr, grad_norm, tokens, seconds),
 * appended one row per optimizer step so that it survives a killed process. On resume it is rewritten
 * from the checkpoint's history, dropping rows the killed run logged after its last checkpoint.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../util/fs.js';
import type { LogEntry } from './checkpoint.js';

export const CURVE_CSV = 'log.csv';
export const CURVE_COLUMNS: (keyof LogEntry)[] = ['step', 'epoch', 'loss', 'lr', 'grad_norm', 'tokens', 'seconds'];

export function curvePath(outDir: string): string {
  return join(outDir, CURVE_CSV);
}

/** Start log.csv with a header and the given rows (replacing what was there). */
export function resetCurve(outDir: string, rows: LogEntry[]): void {
  writeFileAtomic(curvePath(outDir), stringify(rows, { header: true, columns: CURVE_COLUMNS }));
}

export function appendCurve(outDir: string, row: LogEntry): void {
  const path = curvePath(outDir);
  if (!existsSync(path)) resetCurve(outDir, []);
  appendFileSync(path, stringify([row], { columns: CURVE_COLUMNS }));
}
