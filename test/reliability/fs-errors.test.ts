/**
 * Issue 27, case 7: file-system errors name the path, and what cannot work is found before the work. ENOSPC is
 * real, from the kernel: the atomic writers fill `<path>.tmp-<pid>` first, and a symlink of that name to /dev/full
 * (Linux) makes every write there fail with ENOSPC. This machine runs as root, so EACCES cannot be made; a target
 * under a file (ENOTDIR) is the unwritable output used, through the same probe that reports EROFS/EACCES. Also: a
 * shard results.json of `{}` or `null`, a YAML unknown key of a row (once, at its line), `--max-batch 100000` on
 * the real engine (refused with what it needs before allocating), and free space for training.
 */
import { existsSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadExperiment } from '../../src/experiment/config.js';
import { mergeParts } from '../../src/experiment/merge.js';
import { runExperiment } from '../../src/experiment/runner.js';
import { runPart } from '../../src/experiment/sweep.js';
import { engineMemory, WASM_HEAP_BYTES } from '../../src/engines/memory-check.js';
import { trainDiskBytes, trainOptions } from '../../src/jobs/train.js';
import { configFromHF } from '../../src/model/config.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import { parseArgs, stageConfigOf } from '../../src/core/options/spec.js';
import { writeFileAtomic, writeJson } from '../../src/util/fs.js';
import { requireFreeSpace, writableProblem } from '../../src/util/job-paths.js';
import { repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';
import { refusedLine } from './helpers.js';

const tmp = tmpDirs('seqsch-rel-fs-');
const full = existsSync('/dev/full') ? test : test.skip;

/** Make the next atomic write of `path` by this process hit ENOSPC (its temporary name → /dev/full). */
const noSpaceFor = (path: string) => symlinkSync('/dev/full', `${path}.tmp-${process.pid}`);

full('ENOSPC while writing results or a safetensors file names the file and what was written', () => {
  const dir = tmp();
  const results = join(dir, 'results.json');
  noSpaceFor(results);
  expect(() => writeJson(results, { results: [] }, 'the results')).toThrow(
    `${results}: could not write the results (ENOSPC: no space left on device)`,
  );
  const table = join(dir, 'results.csv');
  noSpaceFor(table);
  expect(() => writeFileAtomic(table, 'a,b\n', 'the results table')).toThrow(
    `${table}: could not write the results table (ENOSPC: no space left on device)`,
  );
  const weights = join(dir, 'model.safetensors');
  noSpaceFor(weights);
  expect(() =>
    writeSafetensors(weights, [['w', { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }]]),
  ).toThrow(`${weights}: could not write the safetensors file (ENOSPC: no space left on device)`);
  expect(readdirSync(dir)).toEqual([]); // no target, no temporary left
});

test('an output under a file is found before any work (ENOTDIR), on the CLI and in an experiment', async () => {
  const dir = tmp();
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  expect(writableProblem(join(file, 'sub', 'out.json'), '--out')).toBe(
    `--out ${join(file, 'sub', 'out.json')}: cannot be created: ${file} is a file, not a folder (ENOTDIR)`,
  );
  expect(writableProblem(join(dir, 'new', 'out.json'), '--out')).toBeUndefined();
  expect(readdirSync(dir)).toEqual(['a-file']); // the probe leaves nothing

  const yaml = join(dir, 'x.yaml');
  writeFileSync(
    yaml,
    `experiment: x
stages:
  - stage: construct
    data: ${repoPath('data/synthetic-v3/train.json')}
    lengths: ${repoPath('data/synthetic-v3/train-length.json')}
    out: ${join(file, 'instruct.json')}
`,
  );
  await expect(runExperiment(yaml, { resultsRoot: join(dir, 'results') })).rejects.toThrow(
    `${yaml}: stages[0].out ${join(file, 'instruct.json')}: cannot be created: ${file} is a file, not a folder (ENOTDIR)`,
  );
  expect(existsSync(join(dir, 'results'))).toBe(false); // refused before the run folder was made
});

test('a shard results.json of {} or null fails naming the file', async () => {
  const dir = tmp();
  const yaml = join(dir, 's.yaml');
  writeFileSync(
    yaml,
    `experiment: s
stages:
  - stage: simulate
    data: ${repoPath('data/synthetic-v3/val.json')}
    lengths: ${repoPath('data/synthetic-v3/val-length.json')}
    num_data: 64
`,
  );
  const { dir: shard } = await runPart(yaml, { kind: 'shard', index: 0, count: 1 }, { resultsRoot: dir });
  const results = join(shard, 'results.json');
  const kept = readFileSync(results, 'utf8');
  for (const text of ['{}', 'null', '{"results": [null]}']) {
    writeFileSync(results, text);
    await expect(mergeParts([shard], { out: join(dir, `merged-${text.length}`) })).rejects.toThrow(results);
  }
  writeFileSync(results, kept);
  writeFileSync(join(shard, 'shard.json'), 'null');
  await expect(mergeParts([shard], { out: join(dir, 'merged') })).rejects.toThrow(
    `${join(shard, 'shard.json')}: expected a JSON object, got null`,
  );
}, 30_000);

test('a YAML unknown key of a row is reported once, at its own line', () => {
  const yaml = join(tmp(), 'uk.yaml');
  writeFileSync(
    yaml,
    `experiment: uk
stages:
  - stage: simulate
    data: ${repoPath('data/synthetic-v3/val.json')}
    lengths: ${repoPath('data/synthetic-v3/val-length.json')}
    rows:
      - { label: a, strategy: vanilla, nope: 2 }
`,
  );
  let message = '';
  try {
    loadExperiment(yaml);
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message.split('\n')).toEqual([
    'invalid experiment config:',
    `  ${yaml}:7: stages[0].rows[0].nope: unknown key`,
  ]);
});

test('memory of the real engine: the KV estimate by hand for tiny-v3, and --max-batch 100000 refused before allocating', () => {
  const c = configFromHF(JSON.parse(readFileSync(repoPath('ckpts/tiny-v3/config.json'), 'utf8')));
  const m = engineMemory(c, 100000, 512, 1000, 'wasm');
  expect(m.kvBytes).toBe(100000 * 512 * 4 * 2 * 3 * 64 * 4); // rows × positions × layers × K,V × KV heads × head dim × 4 B
  expect(m.weightBytes).toBe(4000);
  expect(m.activationBytes).toBe(100000 * (4 * 192 + 2 * 512 + 891) * 4);
  expect(m.limitBytes).toBeLessThanOrEqual(WASM_HEAP_BYTES);
  expect(engineMemory(c, m.maxRows, 512, 1000, 'wasm').totalBytes).toBeLessThanOrEqual(m.limitBytes);
  expect(engineMemory(c, m.maxRows + 1, 512, 1000, 'wasm').totalBytes).toBeGreaterThan(m.limitBytes);

  const line = refusedLine(
    [
      'serve-bench',
      '--engine',
      'tfjs',
      '--backend',
      'wasm',
      '--model',
      repoPath('ckpts/tiny-v3'),
      '--data',
      repoPath('data/synthetic-v3/val.json'),
      '--lengths',
      repoPath('data/synthetic-v3/val-length.json'),
      '--num-data',
      '8',
      '--max-length',
      '16',
      '--max-batch',
      '100000',
    ],
    '--max-batch',
  );
  expect(line).toMatch(/100000 rows × \d+ positions need about [\d.]+ GiB .* lower the max batch \(--max-batch/);
}, 30_000);

test('free space: a need above what the file system has is refused naming the folder; the train estimate', () => {
  const dir = tmp();
  expect(() => requireFreeSpace(join(dir, 'out'), 2 ** 60, 'training (checkpoints and result)')).toThrow(
    new RegExp(
      `^${join(dir, 'out')}: training \\(checkpoints and result\\) needs about \\d+ MB but its file system has`,
    ),
  );
  expect(() => requireFreeSpace(join(dir, 'out'), 1, 'x')).not.toThrow();
  const c = stageConfigOf(
    trainOptions,
    parseArgs(trainOptions, {
      model: 'm',
      data: 'd',
      out: 'o',
      mode: 'lora',
      epochs: 1,
      'batch-size': 4,
      'grad-accum': 1,
      'save-every': 1,
    }),
  );
  const model = configFromHF(JSON.parse(readFileSync(repoPath('ckpts/tiny-v3/config.json'), 'utf8')));
  // 8 examples in batches of 4: 2 steps, a checkpoint each; LoRA r 8 on q,v: 4 layers × 2 × 8 × (192 + 192) = 24 576
  expect(trainDiskBytes(c, model, 8)).toBe(24576 * 4 * (3 * 2 + 1));
  // 12 examples, save every 2: steps 2 and 3 (the last)
  expect(trainDiskBytes({ ...c, save_every: 2 }, model, 12)).toBe(24576 * 4 * (3 * 2 + 1));
});
