/**
 * Trainer checkpoints: outDir/checkpoint-STEP/ holds the model (or adapter) weights written by the
 * caller's callback, the optimizer state (optimizer.json + optimizer.bin) and trainer_state.json (step,
 * position in the shuffled data, loss curve, and the run's configuration to refuse a mismatched resume).
 * A checkpoint is built in a hidden temporary folder and renamed into place, so a process killed while
 * saving leaves no complete-looking half checkpoint. It does not decide when to save (see trainer.ts).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJson } from '../util/fs.js';

export const TRAINER_STATE = 'trainer_state.json';

/** One row of the loss curve (also a row of log.csv). */
export interface LogEntry {
  /** optimizer steps taken (1-based: the row of the first update has step 1) */
  step: number;
  /** fractional epoch reached after this step */
  epoch: number;
  /** mean over the step's micro-batches of each micro-batch's mean target-token loss */
  loss: number;
  /** learning rate this update used */
  lr: number;
  /** global L2 norm of the accumulated gradient before clipping */
  grad_norm: number;
  /** real (non-padding) tokens trained on so far */
  tokens: number;
  /** training wall time so far, across resumes (s) */
  seconds: number;
}

/** The settings a resumed run must share with the run that wrote the checkpoint. */
export interface RunConfig {
  examples: number;
  /** FNV-1a hash of every example's ids and label mask: a changed data set is refused */
  dataHash: string;
  params: number[][];
  batchSize: number;
  gradAccum: number;
  epochs: number;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
  maxGradNorm: number;
  seed: number;
  maxLength: number | null;
  padSide: string;
  padId: number;
}

export interface TrainerState {
  format: 'seqsch-trainer-1';
  step: number;
  totalSteps: number;
  /** where the next optimizer step starts reading: epoch and micro-batch within that epoch's shuffle */
  next: { epoch: number; microBatch: number };
  tokens: number;
  seconds: number;
  config: RunConfig;
  log_history: LogEntry[];
}

export function checkpointDir(outDir: string, step: number): string {
  return join(outDir, `checkpoint-${step}`);
}

/** Checkpoint folders in outDir that are complete (have trainer_state.json), oldest first. */
export function listCheckpoints(outDir: string): { step: number; dir: string }[] {
  if (!existsSync(outDir)) return [];
  return readdirSync(outDir)
    .map((name) => /^checkpoint-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: join(outDir, m[0]) }))
    .filter((c) => existsSync(join(c.dir, TRAINER_STATE)))
    .sort((a, b) => a.step - b.step);
}

export function latestCheckpoint(outDir: string): { step: number; dir: string } | undefined {
  return listCheckpoints(outDir).at(-1);
}

/** Remove every checkpoint-STEP/ folder (the result is in outDir itself). */
export function removeCheckpoints(outDir: string): void {
  for (const c of listCheckpoints(outDir)) rmSync(c.dir, { recursive: true, force: true });
}

/** Remove temporary folders left by a process killed while saving. */
export function removeStaleTemporaries(outDir: string): void {
  if (!existsSync(outDir)) return;
  for (const name of readdirSync(outDir)) {
    if (name.startsWith('.tmp-checkpoint-')) rmSync(join(outDir, name), { recursive: true, force: true });
  }
}

/**
 * Write a checkpoint atomically: `fill(tmp)` writes weights and optimizer state into a temporary folder,
 * then trainer_state.json is added and the folder renamed to checkpoint-STEP. Keeps the newest `keep`.
 */
export async function writeCheckpoint(
  outDir: string,
  state: TrainerState,
  fill: (dir: string) => Promise<void>,
  keep = Infinity,
): Promise<string> {
  const final = checkpointDir(outDir, state.step);
  const tmp = join(outDir, `.tmp-checkpoint-${state.step}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await fill(tmp);
  writeJson(join(tmp, TRAINER_STATE), state);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  const all = listCheckpoints(outDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) rmSync(old.dir, { recursive: true, force: true });
  return final;
}

export function readTrainerState(dir: string): TrainerState {
  const path = join(dir, TRAINER_STATE);
  const s = readJson<TrainerState>(path);
  if (s.format !== 'seqsch-trainer-1') throw new Error(`${path}: unknown format '${s.format}'`);
  return s;
}

/** Throw naming the first setting that differs between the checkpoint's run and this one. */
export function assertSameConfig(path: string, saved: RunConfig, now: RunConfig): void {
  for (const key of Object.keys(now) as (keyof RunConfig)[]) {
    const a = JSON.stringify(saved[key]);
    const b = JSON.stringify(now[key]);
    if (a !== b) {
      throw new Error(
        `${path}: cannot resume, '${key}' was ${a} in the checkpointed run and is ${b} now (use a fresh outDir)`,
      );
    }
  }
}

/** FNV-1a (32-bit) over the examples' ids and label masks. */
export function hashExamples(examples: { ids: number[]; labelMask: number[] }[]): string {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h ^= x & 0xffff;
    h = Math.imul(h, 0x01000193);
    h ^= x >>> 16;
    h = Math.imul(h, 0x01000193);
  };
  for (const ex of examples) {
    mix(ex.ids.length);
    for (const id of ex.ids) mix(id);
    for (const m of ex.labelMask) mix(m ? 1 : 0);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
