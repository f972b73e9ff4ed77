/**
 * Issue 27, "sweeps trust their inputs", the shard side: a shard never reads a prepared output that its stamp (or
 * train_done.json, or the prepare folder's recorded hash) no longer vouches for — a single-process run would
 * compute it again, a shard refuses, naming the file — and every run, prepare step and shard records the sha256 of
 * its config, inputs, prepared outputs and results files. Each refusal leaves every file as it was.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadExperiment } from '../../src/experiment/config.js';
import { registerStage } from '../../src/experiment/registry.js';
import { runExperiment } from '../../src/experiment/runner.js';
import { experimentHash, type PartManifest } from '../../src/experiment/shard.js';
import { runPart } from '../../src/experiment/sweep.js';
import '../../src/experiment/stages.js';
import { experimentFile, writeTinyTrace } from '../helpers/experiments.js';
import { repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';
import { sha256 } from './helpers.js';
import { snapshot } from './snapshot.js';

const tmp = tmpDirs('seqsch-rel-prov-');
const SHARD0 = { kind: 'shard', index: 0, count: 2 } as const;
const PREPARE = { kind: 'prepare' } as const;

/** construct (prepared: stamped output) + simulate swept over four batch sizes, on a four-query trace. */
function constructSweep() {
  const d = tmp();
  const { data, lengths } = writeTinyTrace(d, [5, 6, 7, 8]);
  const instruct = join(d, 'instruct.json');
  const yaml = experimentFile(
    d,
    'prov',
    `  - stage: construct
    data: ${data}
    lengths: ${lengths}
    out: ${instruct}
  - stage: simulate
    data: ${data}
    lengths: ${lengths}
    sweep: { batch_size: [1, 2, 3, 4] }
`,
  );
  return { d, data, lengths, instruct, yaml, root: join(d, 'parts') };
}

test('a prepared output edited after --prepare: the shard refuses naming it; a single run computes it again', async () => {
  const { data, lengths, instruct, yaml, root } = constructSweep();
  await runPart(yaml, PREPARE, { resultsRoot: root });
  const made = sha256(instruct);
  appendFileSync(instruct, '\n');
  const before = snapshot(data, lengths, instruct, yaml, root);
  await expect(runPart(yaml, SHARD0, { resultsRoot: root })).rejects.toThrow(
    `${instruct} changed since ${instruct}.stage.json was written\n  a prepared output of stages[0] construct "construct" (${join(root, 'prov-prepare')}); a shard does not compute it again: run \`seqsch experiment ${yaml} --prepare --results ${root}\``,
  );
  expect(snapshot(data, lengths, instruct, yaml, root)).toEqual(before); // no shard folder, no partial folder
  await runExperiment(yaml, { resultsRoot: join(root, '..', 'single') });
  expect(sha256(instruct)).toBe(made);
});

test("a prepared output whose input changed after --prepare (its stamp's key no longer matches) is refused", async () => {
  const { data, lengths, instruct, yaml, root } = constructSweep();
  await runPart(yaml, PREPARE, { resultsRoot: root });
  const recs = JSON.parse(readFileSync(lengths, 'utf8'));
  recs[0]['L_t0.3'] += 40;
  writeFileSync(lengths, JSON.stringify(recs));
  const before = snapshot(data, lengths, instruct, yaml, root);
  await expect(runPart(yaml, SHARD0, { resultsRoot: root })).rejects.toThrow(
    `${instruct}: its inputs or configuration changed since ${instruct}.stage.json was written`,
  );
  expect(snapshot(data, lengths, instruct, yaml, root)).toEqual(before);
});

describe('a stage without a stamp: the prepare folder recorded its output hash', () => {
  registerStage('prov-test-write', {
    schema: z.strictObject({ out: z.string(), value: z.number() }),
    outputs: (c) => [c.out],
    run: async (c) => {
      writeFileSync(c.out, JSON.stringify(c.value));
      return { record: { wrote: c.value } };
    },
  });
  registerStage('prov-test-read', {
    schema: z.strictObject({ in: z.string(), factor: z.number() }),
    files: (c) => [{ key: 'in', path: c.in }],
    run: async (c) => ({ record: { product: Number(readFileSync(c.in, 'utf8')) * c.factor } }),
  });
  registerStage('prov-test-tamper', {
    schema: z.strictObject({ in: z.string() }),
    files: (c) => [{ key: 'in', path: c.in }],
    run: async (c) => {
      writeFileSync(c.in, '9'); // another process editing an input while the run reads it
      return { record: {} };
    },
  });
  test('a file the run writes itself may change during it; another input may not, and is named', async () => {
    const d = tmp();
    const value = join(d, 'value.json');
    const stages = (v: number) =>
      `  - stage: prov-test-write\n    out: ${value}\n    value: ${v}\n  - stage: prov-test-read\n    in: ${value}\n    factor: 2\n`;
    await runExperiment(experimentFile(d, 'own', stages(7)), { resultsRoot: join(d, 'r') });
    const second = await runExperiment(experimentFile(d, 'own', stages(8)), { resultsRoot: join(d, 'r') }); // rewrites value.json
    expect(second.results[1].record).toEqual({ product: 16 });
    const other = join(d, 'other.json');
    writeFileSync(other, '1');
    const yaml = experimentFile(d, 'tamper', `  - stage: prov-test-tamper\n    in: ${other}\n`);
    await expect(runExperiment(yaml, { resultsRoot: join(d, 'r') })).rejects.toThrow(
      `${yaml}: ${other}: changed while the run was reading it (sha256 before and after differ); run it again`,
    );
  });

  test('edited after --prepare: refused naming the file and the prepare folder', async () => {
    const d = tmp();
    const value = join(d, 'value.json');
    const yaml = experimentFile(
      d,
      'unstamped',
      `  - stage: prov-test-write\n    out: ${value}\n    value: 7\n  - stage: prov-test-read\n    in: ${value}\n    sweep: { factor: [1, 2, 3] }\n`,
    );
    const root = join(d, 'parts');
    await runPart(yaml, PREPARE, { resultsRoot: root });
    writeFileSync(value, '8');
    const before = snapshot(value, yaml, root);
    await expect(runPart(yaml, SHARD0, { resultsRoot: root })).rejects.toThrow(
      `${value}: changed since the prepare step wrote it (its sha256 in ${join(root, 'unstamped-prepare', 'shard.json')} differs)`,
    );
    expect(snapshot(value, yaml, root)).toEqual(before);
  });
});

test('a trained adapter edited after --prepare: refused naming the file and its train_done.json', async () => {
  const d = tmp();
  const out = join(d, 'lora');
  const { data, lengths } = writeTinyTrace(d, [5, 6]);
  const yaml = experimentFile(
    d,
    'trained',
    `  - stage: train
    model: ${repoPath('ckpts/tiny-v3')}
    data: ${repoPath('data/synthetic-v3/train-instruct.json')}
    num_data: 4
    batch_size: 2
    grad_accum: 1
    epochs: 1
    lr: 0.001
    backend: wasm
    out: ${out}
  - stage: simulate
    data: ${data}
    lengths: ${lengths}
    sweep: { batch_size: [1, 2] }
`,
  );
  const root = join(d, 'parts');
  await runPart(yaml, PREPARE, { resultsRoot: root });
  const cfg = join(out, 'adapter_config.json');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('"lora_alpha": 16', '"lora_alpha": 32'));
  const before = snapshot(out, data, lengths, root);
  await expect(runPart(yaml, SHARD0, { resultsRoot: root })).rejects.toThrow(
    `${cfg} changed since ${join(out, 'train_done.json')} was written`,
  );
  expect(snapshot(out, data, lengths, root)).toEqual(before);
}, 60_000);

test('each run, prepare step and shard records the sha256 of its config, inputs, prepared outputs and results', async () => {
  const { data, lengths, instruct, yaml, root } = constructSweep();
  const exp = loadExperiment(yaml);
  const single = await runExperiment(yaml, { resultsRoot: join(root, '..', 'single') });
  const prov = JSON.parse(readFileSync(join(single.dir, 'provenance.json'), 'utf8'));
  expect(prov.config).toBe(experimentHash(exp));
  expect(prov.inputs).toEqual({ [data]: sha256(data), [lengths]: sha256(lengths) });
  expect(Object.keys(prov.results).sort()).toEqual([
    'config.yaml',
    'report.html',
    'results.csv',
    'results.json',
    'table.md',
  ]);
  for (const [f, h] of Object.entries(prov.results)) expect([f, sha256(join(single.dir, f))]).toEqual([f, h]);

  await runPart(yaml, PREPARE, { resultsRoot: root });
  const s0 = await runPart(yaml, SHARD0, { resultsRoot: root });
  const m = JSON.parse(readFileSync(join(s0.dir, 'shard.json'), 'utf8')) as PartManifest;
  expect(m.format).toBe('seqsch-part-2');
  expect(m.provenance.config).toBe(experimentHash(exp));
  expect(m.provenance.inputs).toEqual({ [data]: sha256(data), [lengths]: sha256(lengths) });
  expect(m.provenance.prepared).toEqual({ [instruct]: sha256(instruct) });
  expect(m.provenance.results['results.json']).toBe(sha256(join(s0.dir, 'results.json')));
  expect(existsSync(join(s0.dir, 'provenance.json'))).toBe(false); // a part keeps it in shard.json
});
