/**
 * Every job with a CLI side documents every flag of its option table in `seqsch <cmd> --help`, and every job with a
 * YAML side is a registered experiment stage with the table's keys: the two mounts of src/jobs/index.ts lose no
 * option on the way (issue 25: each flag / key declared in one table, shown on both surfaces).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { JOBS } from '../../src/jobs/index.js';
import { getStage } from '../../src/experiment/registry.js';
import '../../src/experiment/stages.js';
import { snake } from '../../src/core/options/spec.js';
import { REPO_ROOT } from '../helpers/paths.js';

const cliJobs = JOBS.filter((j) => j.cli !== false);
const yamlJobs = JOBS.filter((j) => j.yaml !== false);

test('the job list names each job once', () => {
  const names = JOBS.map((j) => j.name);
  expect(new Set(names).size).toBe(names.length);
  expect(cliJobs.length).toBeGreaterThan(0);
  expect(yamlJobs.length).toBeGreaterThan(0);
});

test.each(cliJobs.map((j) => [(j.command ?? j.name).split(' ')[0], j] as const))(
  'seqsch %s --help lists every flag',
  (cmd, job) => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/seqsch.js'), cmd, '--help'], {
      encoding: 'utf8',
      cwd: REPO_ROOT,
    });
    expect(r.status).toBe(0);
    const flags = Object.entries(job.options).filter(([, s]) => s.cli !== false);
    expect(flags.length).toBeGreaterThan(0);
    for (const [name, spec] of flags) {
      if (spec.positional) expect(r.stdout).toMatch(new RegExp(`[<[]${name}`));
      else expect(r.stdout).toContain(`--${name}`);
    }
    expect(r.stdout).toContain('--json');
  },
);

test.each(yamlJobs.map((j) => [j.name, j] as const))('stage %s takes every YAML key of its table', (name, job) => {
  const stage = getStage(name);
  expect(stage).toBeDefined();
  const keys = Object.keys(stage!.schema.shape);
  const expected = Object.entries(job.options)
    .filter(([, s]) => s.yaml !== false)
    .map(([k]) => snake(k));
  expect(keys).toEqual(expected);
});
