import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { loadExperiment, ConfigError } from '../../src/experiment/config.js';
import { runExperiment } from '../../src/experiment/runner.js';
import { registerStage } from '../../src/experiment/registry.js';
import { writeTinyTrace } from '../helpers/experiments.js';

// A tiny trace: 6 queries, recorded lengths chosen so vanilla and gt differ.
const dir = mkdtempSync(join(tmpdir(), 'seqsch-exp-'));
const real = [12, 3, 40, 7, 25, 9];
const { data, lengths } = writeTinyTrace(dir, real);

function yamlFile(name: string, body: string): string {
  const f = join(dir, name);
  writeFileSync(f, body);
  return f;
}
const header = (extra = '') => `experiment: tiny
stages:
  - stage: simulate
    data: ${data}
    lengths: ${lengths}
    batch_size: 2
    group_size: 6
    max_length: 64
${extra}`;

describe('experiment config validation (before any work)', () => {
  test('unknown key: names file, line and key path', () => {
    const f = yamlFile('unknown.yaml', header('    bucket_cell: 25\n'));
    expect(() => loadExperiment(f)).toThrow(ConfigError);
    expect(() => loadExperiment(f)).toThrow(`${f}:9: stages[0].bucket_cell: unknown key`);
  });
  test('wrong type in a row: names the row key and its line', () => {
    const f = yamlFile(
      'type.yaml',
      header('    rows:\n      - { label: a, strategy: gt }\n      - { label: b, vbs: "yes" }\n'),
    );
    expect(() => loadExperiment(f)).toThrow(new RegExp(`${f}:11: stages\\[0\\]\\.rows\\[1\\]\\.vbs: .*boolean`));
  });
  test('bad sweep value and unknown sweep key', () => {
    const f = yamlFile('sweep.yaml', header('    sweep:\n      fcr_limit: [bucket, double]\n      cel: [1]\n'));
    let msg = '';
    try {
      loadExperiment(f);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain(`${f}:10: stages[0].sweep.fcr_limit[1]: expected bucket, off`);
    expect(msg).toContain(`${f}:11: stages[0].sweep.cel: unknown key`);
  });
  test('unknown stage and unknown top-level key', () => {
    const f = yamlFile('stage.yaml', 'experiment: x\nowner: me\nstages:\n  - stage: simulat\n');
    expect(() => loadExperiment(f)).toThrow(/:2: owner: unknown key/);
    const g = yamlFile('stage2.yaml', 'experiment: x\nstages:\n  - stage: simulat\n');
    expect(() => loadExperiment(g)).toThrow(/:3: stages\[0\]\.stage: unknown stage "simulat"/);
  });
  test('missing data file stops the run, naming key, file and line', () => {
    const f = yamlFile('missing.yaml', header().replace(lengths, join(dir, 'nope.json')));
    expect(() => loadExperiment(f)).toThrow(`${f}:5: stages[0].lengths: file not found: ${join(dir, 'nope.json')}`);
  });
  test('rows × sweep grid expands in order with defaults filled', () => {
    const f = yamlFile(
      'grid.yaml',
      header(
        '    sweep:\n      cell: [25, 50]\n    rows:\n      - { label: v, strategy: vanilla }\n      - { label: g, strategy: gt, vbs: true }\n',
      ),
    );
    const e = loadExperiment(f);
    expect(e.points.map((p) => [p.label, p.swept.cell])).toEqual([
      ['v', 25],
      ['g', 25],
      ['v', 50],
      ['g', 50],
    ]);
    expect(e.points[1].config).toMatchObject({
      strategy: 'gt',
      vbs: true,
      fcr: false,
      seed: 42,
      real_lengths: 'L_t0.0',
    });
  });
});

describe('experiment run', () => {
  test('writes config, csv, json and table.md; identical numbers on re-run', async () => {
    const f = yamlFile(
      'run.yaml',
      header(
        '    rows:\n      - { label: vanilla, strategy: vanilla }\n      - { label: gt+VBS+FCR, strategy: gt, vbs: true, fcr: true }\n',
      ),
    );
    const root = join(dir, 'results');
    const a = await runExperiment(f, { resultsRoot: root, now: new Date('2024-01-02T03:04:05Z') });
    const b = await runExperiment(f, { resultsRoot: root, now: new Date('2024-01-02T03:04:05Z') });
    expect(a.dir).toBe(join(root, 'tiny-2024-01-02T03-04-05'));
    expect(b.dir).toBe(join(root, 'tiny-2024-01-02T03-04-05-2'));
    expect(readdirSync(a.dir).sort()).toEqual([
      'config.yaml',
      'provenance.json',
      'report.html',
      'results.csv',
      'results.json',
      'table.md',
    ]);
    expect(readdirSync(root).some((n) => n.includes('partial'))).toBe(false);
    const ja = JSON.parse(readFileSync(join(a.dir, 'results.json'), 'utf8'));
    const jb = JSON.parse(readFileSync(join(b.dir, 'results.json'), 'utf8'));
    expect(ja.results).toEqual(jb.results);
    // vanilla, one group of 6 in input order, batches of 2 at 64: steps max(12,3)=12, max(40,7)=40, max(25,9)=25
    const v = ja.results[0].record;
    expect(v.average_length).toBeCloseTo((2 * 13 + 2 * 41 + 2 * 26) / 6, 12);
    expect(v.effective_token_ratio).toBeCloseTo(real.reduce((s, x) => s + x, 0) / (2 * 13 + 2 * 41 + 2 * 26), 12);
    const csv = readFileSync(join(a.dir, 'results.csv'), 'utf8').split('\n');
    expect(csv[0]).toContain('stage,label,strategy,vbs,fcr');
    expect(csv[1].startsWith('simulate,vanilla,vanilla,false,false')).toBe(true);
    const md = readFileSync(join(a.dir, 'table.md'), 'utf8');
    expect(md).toContain(
      '| Strategy | Throughput (samples/s) | Average length (tokens) | Effective token ratio (%) | Failure ratio (%) |',
    );
    expect(md).toMatch(/\| vanilla \| [\d.]+ \| 26\.67 \| /);
    expect(existsSync(join(a.dir, 'config.yaml'))).toBe(true);
  });

  test('stages plug in by name with their own schema', async () => {
    registerStage('echo-test', {
      schema: z.strictObject({ x: z.number(), y: z.number().default(1) }),
      run: async (c) => ({ record: { product: c.x * c.y } }),
    });
    const f = yamlFile(
      'echo.yaml',
      'experiment: echo\nstages:\n  - stage: echo-test\n    y: 3\n    sweep: { x: [1, 2] }\n',
    );
    const r = await runExperiment(f, { resultsRoot: join(dir, 'results') });
    expect(r.results.map((p) => p.record.product)).toEqual([3, 6]);
    const bad = yamlFile('echo-bad.yaml', 'experiment: echo\nstages:\n  - stage: echo-test\n    x: one\n');
    expect(() => loadExperiment(bad)).toThrow(/echo-bad.yaml:4: stages\[0\]\.x: .*number/);
  });
});
