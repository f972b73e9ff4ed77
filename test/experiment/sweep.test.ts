/**
 * Sweeps split over a job array (src/experiment/shard.ts, sweep.ts, merge.ts): which points a shard runs, where
 * its index comes from, and — with local processes standing in for the array's tasks — that the shards of
 * experiments/sim-ablation.yaml merge into the folder a single run writes, byte for byte (its simulated seconds
 * come from the cost model, so nothing differs), also after one shard was killed midway and rerun alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadExperiment } from '../../src/experiment/config.js';
import { registerStage } from '../../src/experiment/registry.js';
import { runExperiment } from '../../src/experiment/runner.js';
import { experimentHash, parseShard, partPoints, shardFromEnv } from '../../src/experiment/shard.js';
import { runPart } from '../../src/experiment/sweep.js';
import { mergeParts } from '../../src/experiment/merge.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';

const tmp = tmpDirs('seqsch-sweep-');

describe('shard index and count', () => {
  test('--shard i/n', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('3/3')).toThrow('--shard 3/3: shard index 3 is outside 0…2');
    expect(() => parseShard('1of3')).toThrow('--shard 1of3: expected INDEX/COUNT');
  });
  test('Slurm array: dense range by MIN/MAX or COUNT; with --shards the task id is the index', () => {
    expect(
      shardFromEnv({
        SLURM_ARRAY_TASK_ID: '1',
        SLURM_ARRAY_TASK_MIN: '0',
        SLURM_ARRAY_TASK_MAX: '2',
        SLURM_ARRAY_TASK_COUNT: '3',
      }),
    ).toEqual({ index: 1, count: 3 });
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_MAX: '6' })).toEqual({
      index: 1,
      count: 3,
    });
    // `sbatch --array=1` reruns shard 1 alone: the array has one task, the sweep three
    expect(
      shardFromEnv(
        { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '1', SLURM_ARRAY_TASK_COUNT: '1' },
        3,
      ),
    ).toEqual({ index: 1, count: 3 });
    expect(() =>
      shardFromEnv({
        SLURM_ARRAY_TASK_ID: '2',
        SLURM_ARRAY_TASK_MIN: '0',
        SLURM_ARRAY_TASK_MAX: '4',
        SLURM_ARRAY_TASK_COUNT: '3',
      }),
    ).toThrow(/not a dense range; submit it as --array=0-2/);
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: 'x' })).toThrow(
      'SLURM_ARRAY_TASK_ID=x: expected a non-negative integer',
    );
  });
  test('Kubernetes Indexed Job: JOB_COMPLETION_INDEX needs --shards', () => {
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '2' }, 3)).toEqual({ index: 2, count: 3 });
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '2' })).toThrow(/pass --shards N/);
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '3' }, 3)).toThrow(/shard index 3 is outside 0…2/);
    expect(shardFromEnv({})).toBeNull();
    expect(() => shardFromEnv({}, 3)).toThrow(/no task index in the environment/);
  });
});

describe('assignment and identity', () => {
  const exp = loadExperiment(join(REPO_ROOT, 'experiments/sim-ablation.yaml'));
  test('round robin over the swept points: every point exactly once', () => {
    const parts = [0, 1, 2].map((index) => partPoints(exp, { kind: 'shard', index, count: 3 }));
    expect(parts[1].slice(0, 4)).toEqual([1, 4, 7, 10]);
    expect(parts.map((p) => p.length)).toEqual([18, 18, 18]);
    expect(parts.flat().sort((a, b) => a - b)).toEqual(exp.points.map((_, i) => i));
    expect(partPoints(exp, { kind: 'prepare' })).toEqual([]); // simulate writes no file another point reads
    expect(partPoints(exp, { kind: 'shard', index: 53, count: 60 })).toEqual([53]);
    expect(partPoints(exp, { kind: 'shard', index: 54, count: 60 })).toEqual([]);
  });
  test('content hash: the same for the same content, another for a changed value', () => {
    const again = loadExperiment(join(REPO_ROOT, 'experiments/sim-ablation.yaml'));
    expect(experimentHash(again)).toBe(experimentHash(exp));
    const changed = {
      ...exp,
      points: exp.points.map((p, i) => (i === 7 ? { ...p, config: { ...p.config, seed: 43 } } : p)),
    };
    expect(experimentHash(changed)).not.toBe(experimentHash(exp));
  });
});

/** `seqsch ARGS` as a local process (the array's task); resolves with its exit status and output. */
function seqsch(
  args: string[],
  onSpawn?: (pid: number) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.SLURM_ARRAY_TASK_ID; // a test run inside a job array must not shard the merge's inputs
    delete env.JOB_COMPLETION_INDEX;
    const p = spawn(process.execPath, [join(REPO_ROOT, 'bin/seqsch.js'), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('exit', (code, signal) => resolve({ code, signal, stderr }));
    onSpawn?.(p.pid!);
  });
}

const FILES = ['config.yaml', 'results.csv', 'results.json', 'table.md', 'report.html'];

describe('sim-ablation in 3 shards (local processes) merges into what one process writes', () => {
  const root = tmp();
  const parts = join(root, 'parts');
  const file = 'experiments/sim-ablation.yaml';
  let single: string;

  test('shards 0 and 2 complete, shard 1 is killed midway; the merge names the missing shard', async () => {
    single = (await runExperiment(file, { resultsRoot: join(root, 'single') })).dir; // the relative path, as the CLI gets it
    let killed = false;
    const [s0, s1, s2] = await Promise.all([
      seqsch(['experiment', file, '--shard', '0/3', '--results', parts]),
      // killed once its half-written folder exists (after loading, before its 18 points are done)
      seqsch(['experiment', file, '--shard', '1/3', '--results', parts], (pid) => {
        const t = setInterval(() => {
          if (
            existsSync(parts) &&
            readdirSync(parts).some((n) => n.startsWith('sim-ablation-shard-1of3.partial-') && n.endsWith(`-${pid}`))
          ) {
            clearInterval(t);
            killed = process.kill(pid, 'SIGKILL');
          }
        }, 5);
      }),
      seqsch(['experiment', file, '--shard', '2/3', '--results', parts]),
    ]);
    expect([s0.code, s2.code]).toEqual([0, 0]);
    expect(killed).toBe(true);
    expect(s1.signal).toBe('SIGKILL');
    // the killed shard's partial folder stays until a later run in the same parent sweeps it (its writer is gone):
    // shard 0 or 2 may already have done so if they started after the kill
    const names = readdirSync(parts).sort();
    const partial = names.filter((n) => /^sim-ablation-shard-1of3\.partial-.+-\d+$/.test(n)); // never renamed: it does not count
    // and its folder's lock (src/util/lock.ts), which the rerun takes over since its holder is gone
    const lock = names.filter((n) => n === 'sim-ablation-shard-1of3.lock');
    expect(names.filter((n) => !partial.includes(n) && !lock.includes(n))).toEqual([
      'sim-ablation-shard-0of3',
      'sim-ablation-shard-2of3',
    ]);
    expect(partial.length).toBeLessThanOrEqual(1);

    const m = await seqsch(['merge', parts, '--out', join(root, 'merged-early')]);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain('missing 1 part(s) of sim-ablation:');
    expect(m.stderr).toContain(
      `shard 1/3: expected ${join(parts, 'sim-ablation-shard-1of3')} with 18 point(s) [gt vs L_gt (cell=25, vbs_table={"50":256,"100":128,"150":64,"200":32,"250":16,"300":16}, fcr_limit=bucket);`,
    );
    expect(m.stderr).toContain(`run \`seqsch experiment ${file} --shard 1/3 --results ${parts}\``);
    if (partial.length)
      expect(m.stderr).toMatch(
        /sim-ablation-shard-1of3\.partial-.+-\d+: half-written \(a part still running or killed midway\), not counted/,
      );
    expect(existsSync(join(root, 'merged-early'))).toBe(false);
  });

  test("rerunning only shard 1 completes the merge: every file equals the single run's", async () => {
    expect((await seqsch(['experiment', file, '--shard', '1/3', '--results', parts])).code).toBe(0);
    // the rerun swept the killed run's partial folder (same host, writer gone)
    expect(readdirSync(parts).sort()).toEqual([
      'sim-ablation-shard-0of3',
      'sim-ablation-shard-1of3',
      'sim-ablation-shard-2of3',
    ]);
    const m = await seqsch(['merge', parts, '--out', join(root, 'merged')]);
    expect(m.code).toBe(0);
    for (const f of FILES)
      expect([f, readFileSync(join(root, 'merged', f), 'utf8')]).toEqual([f, readFileSync(join(single, f), 'utf8')]);
    const r = JSON.parse(readFileSync(join(root, 'merged', 'results.json'), 'utf8'));
    expect(r.results).toHaveLength(54);
    expect(r.results[0].detail).toBeUndefined(); // like the single run: details only with --details
  });

  test('a duplicate shard and a shard of another experiment are named', async () => {
    const other = tmp();
    cpSync(join(parts, 'sim-ablation-shard-0of3'), join(other, 'sim-ablation-shard-0of3'), { recursive: true });
    await expect(
      mergeParts([parts, join(other, 'sim-ablation-shard-0of3')], { out: join(other, 'm') }),
    ).rejects.toThrow(
      `duplicate shard 0/3: ${join(parts, 'sim-ablation-shard-0of3')} and ${join(other, 'sim-ablation-shard-0of3')}; keep one`,
    );
    const manifest = join(other, 'sim-ablation-shard-0of3', 'shard.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    m.experiment.points[0].config.seed = 7;
    m.hash = experimentHash(m.experiment);
    writeFileSync(manifest, JSON.stringify(m));
    await expect(
      mergeParts(
        [
          join(other, 'sim-ablation-shard-0of3'),
          join(parts, 'sim-ablation-shard-1of3'),
          join(parts, 'sim-ablation-shard-2of3'),
        ],
        { out: join(other, 'm') },
      ),
    ).rejects.toThrow(
      /the parts come from different experiments \(content hash\):\n {2}[0-9a-f]{12}…: .*shard-0of3\n {2}[0-9a-f]{12}…: .*shard-1of3, .*shard-2of3/,
    );
    expect(existsSync(join(other, 'm'))).toBe(false);
  });
});

describe('prepared points run once, before the shards', () => {
  // a stage that writes a file other points read (like lenpred), and one that reads it (like benchmark)
  registerStage('sweep-test-write', {
    schema: z.strictObject({ out: z.string(), value: z.number() }),
    outputs: (c) => [c.out],
    run: async (c) => {
      writeFileSync(c.out, JSON.stringify(c.value));
      return { record: { wrote: c.value } };
    },
  });
  registerStage('sweep-test-read', {
    schema: z.strictObject({ in: z.string(), factor: z.number() }),
    files: (c) => [{ key: 'in', path: c.in }],
    run: async (c, ctx) => {
      writeFileSync(join(ctx.outDir, 'last.txt'), String(c.factor)); // a side file several points write
      return { record: { product: Number(readFileSync(c.in, 'utf8')) * c.factor } };
    },
  });
  registerStage('sweep-test-whole', { schema: z.strictObject({}), wholeRun: true, run: async () => ({ record: {} }) });

  test('shards refuse to run before the prepare step; prepare + shards merge into the single run', async () => {
    const d = tmp();
    const yaml = join(d, 'exp.yaml');
    writeFileSync(
      yaml,
      `experiment: prep
stages:
  - stage: sweep-test-write
    out: ${join(d, 'value.json')}
    value: 7
  - stage: sweep-test-read
    in: ${join(d, 'value.json')}
    sweep: { factor: [1, 2, 3, 4, 5] }
`,
    );
    const root = join(d, 'parts');
    await expect(runPart(yaml, { kind: 'shard', index: 0, count: 2 }, { resultsRoot: root })).rejects.toThrow(
      `${join(root, 'prep-prepare')}: not found; the shards read the outputs of 1 point(s) of sweep-test-write: run \`seqsch experiment ${yaml} --prepare --results ${root}\``,
    );
    await runPart(yaml, { kind: 'prepare' }, { resultsRoot: root });
    const s0 = await runPart(yaml, { kind: 'shard', index: 0, count: 2 }, { resultsRoot: root });
    expect(s0.points).toEqual([1, 3, 5]);
    await expect(
      mergeParts([join(root, 'prep-shard-0of2'), join(root, 'prep-prepare')], { out: join(d, 'm0') }),
    ).rejects.toThrow(
      `shard 1/2: expected ${join(root, 'prep-shard-1of2')} with 2 point(s) [sweep-test-read (factor=2); sweep-test-read (factor=4)]`,
    );
    await runPart(yaml, { kind: 'shard', index: 1, count: 2 }, { resultsRoot: root });
    const merged = await mergeParts([root], { out: join(d, 'merged') });
    expect(merged.results.map((r) => r.record)).toEqual([
      { wrote: 7 },
      { product: 7 },
      { product: 14 },
      { product: 21 },
      { product: 28 },
      { product: 35 },
    ]);
    const single = await runExperiment(yaml, { resultsRoot: join(d, 'single') });
    for (const f of [...FILES, 'last.txt'])
      expect([f, readFileSync(join(d, 'merged', f), 'utf8')]).toEqual([f, readFileSync(join(single.dir, f), 'utf8')]);
    expect(readFileSync(join(d, 'merged', 'last.txt'), 'utf8')).toBe('5'); // the last point's, as in one process
  });

  test('a stage that reads earlier points in memory cannot be split', () => {
    const d = tmp();
    const yaml = join(d, 'whole.yaml');
    writeFileSync(yaml, 'experiment: whole\nstages:\n  - stage: sweep-test-whole\n');
    expect(() => partPoints(loadExperiment(yaml), { kind: 'shard', index: 0, count: 2 })).toThrow(
      `${yaml}: stages[0] (sweep-test-whole) reads the results of the run's earlier points in memory, so this experiment cannot be split over shards; run it in one process`,
    );
  });
});

test('CLI: a bad --shard names the flag', () => {
  const r = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'bin/seqsch.js'), 'experiment', 'experiments/sim-ablation.yaml', '--shard', '4/3'],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('--shard 4/3: shard index 4 is outside 0…2');
});
