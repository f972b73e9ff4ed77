/**
 * scripts/serve-median.ts on a hand-made results.json: medians of each row's repeated runs per point, the ratio to
 * FCFS's median, the per-run ratios, and the summary over points — numbers worked out by hand below.
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

const rec = (mean: number) => ({
  latency_mean: mean,
  latency_p50: mean / 2,
  latency_p99: mean * 3,
  queueing_delay_mean: mean / 4,
  tpot_mean: 0.0007,
});
const row = (seed: number, label: string, mean: number) => ({
  stageIndex: 0,
  label,
  swept: { arrival_seed: seed },
  record: rec(mean),
});

function run(results: object[]) {
  const dir = mkdtempSync(join(tmpdir(), 'serve-median-'));
  try {
    writeFileSync(join(dir, 'results.json'), JSON.stringify({ results }));
    return spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/serve-median.ts'), dir], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('scripts/serve-median.ts', () => {
  test('medians over runs, ratios to FCFS per point and per run, and the summary over points', () => {
    const r = run([
      // seed 1: fcfs 0.10 / 0.30 / 0.12 → median 0.12; sjf 0.06 / 0.0888 / 0.12 → median 0.0888 → 0.74
      row(1, 'fcfs run 1', 0.1),
      row(1, 'sjf run 1', 0.06),
      row(1, 'fcfs run 2', 0.3),
      row(1, 'sjf run 2', 0.0888),
      row(1, 'fcfs run 3', 0.12),
      row(1, 'sjf run 3', 0.12),
      // seed 2: fcfs 0.05 / 0.05 / 0.05; sjf 0.06 / 0.04 / 0.055 → median 0.055 → 1.10
      row(2, 'fcfs run 1', 0.05),
      row(2, 'sjf run 1', 0.06),
      row(2, 'fcfs run 2', 0.05),
      row(2, 'sjf run 2', 0.04),
      row(2, 'fcfs run 3', 0.05),
      row(2, 'sjf run 3', 0.055),
      row(2, 'offline capacity', 1), // not "run k": ignored
    ]);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    const cells = (prefix: string) =>
      lines
        .find((l) => l.startsWith(prefix))
        ?.split('|')
        .map((c) => c.trim());
    expect(cells('| arrival_seed=1 | sjf |')!.slice(3, 7)).toEqual(['3', '0.089', '0.74', '0.60 / 0.30 / 1.00']);
    expect(cells('| arrival_seed=2 | sjf |')!.slice(3, 7)).toEqual(['3', '0.055', '1.10', '1.20 / 0.80 / 1.10']);
    expect(cells('| arrival_seed=1 | fcfs |')!.slice(4, 6)).toEqual(['0.120', '1.00']);
    // summary: median of 0.74 and 1.10 = 0.92, range 0.74–1.10, 1 of 2 at or below FCFS
    expect(cells('| sjf | 2 |')!.slice(3, 6)).toEqual(['0.92', '0.74–1.10', '1 of 2']);
  });

  test('a file without repeated rows is refused naming it', () => {
    const r = run([row(1, 'fcfs', 0.1)]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/results\.json: no rows labelled "<row> run <k>"/);
  });
});
