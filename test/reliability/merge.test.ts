/**
 * Issue 27, "sweeps trust their inputs", the merge side: `seqsch merge` refuses a shard whose results.json was
 * edited after the shard wrote it (a hash per results file, kept in shard.json) and shards that read different
 * bytes of an input (a lengths file changed between them), naming the shard folders and the file; a part written
 * before provenance was kept is refused; and the merge of intact parts writes the single run's provenance.json
 * byte for byte. Nothing is written when it refuses. A simulate sweep on a four-query trace, two shards.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeParts } from '../../src/experiment/merge.js';
import { runPart } from '../../src/experiment/sweep.js';
import '../../src/experiment/stages.js';
import { experimentFile, writeTinyTrace } from '../helpers/experiments.js';
import { tmpDirs } from '../helpers/tmp.js';
import { seqsch } from './helpers.js';
import { snapshot } from './snapshot.js';

const tmp = tmpDirs('seqsch-rel-merge-');
const shard = (index: number) => ({ kind: 'shard', index, count: 2 }) as const;

function sweep() {
  const d = tmp();
  const { data, lengths } = writeTinyTrace(d, [5, 6, 7, 8]);
  const yaml = experimentFile(
    d,
    'msweep',
    `  - stage: simulate\n    data: ${data}\n    lengths: ${lengths}\n    sweep: { batch_size: [1, 2, 3, 4] }\n`,
  );
  return { d, data, lengths, yaml, root: join(d, 'parts') };
}

test('intact parts merge into the single run, provenance.json included', async () => {
  const { d, yaml, root } = sweep();
  await runPart(yaml, shard(0), { resultsRoot: root });
  await runPart(yaml, shard(1), { resultsRoot: root });
  // each in its own process, as a user runs them (vega numbers its gradients per process, so report.html differs
  // between two reports written by one process)
  const merged = join(d, 'merged');
  expect(seqsch(['merge', root, '--out', merged]).status).toBe(0);
  expect(seqsch(['experiment', yaml, '--results', join(d, 'single')]).status).toBe(0);
  const single = join(d, 'single', readdirSync(join(d, 'single'))[0]);
  for (const f of ['provenance.json', 'results.json', 'results.csv', 'report.html'])
    expect([f, readFileSync(join(merged, f), 'utf8')]).toEqual([f, readFileSync(join(single, f), 'utf8')]);
});

test.each([
  ['edited', (s: string) => s.replace(/"batch_size":\s*1/, '"batch_size": 9')],
  ['emptied to {}', () => '{}'],
])('a shard results.json %s after the shard wrote it: refused naming the folder and the file', async (_, edit) => {
  const { d, data, lengths, yaml, root } = sweep();
  const s0 = await runPart(yaml, shard(0), { resultsRoot: root });
  await runPart(yaml, shard(1), { resultsRoot: root });
  const file = join(s0.dir, 'results.json');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  const before = snapshot(data, lengths, root);
  const out = join(d, 'merged');
  const r = seqsch(['merge', root, '--out', out]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(
    `results edited after their part was written:\n  ${file}: changed since its part wrote it (its sha256 in ${join(s0.dir, 'shard.json')} differs)`,
  );
  expect(snapshot(data, lengths, root, out)).toEqual({ ...before, [out]: 'absent' });
});

test('a lengths file changed between two shards: refused naming the file and both shard folders', async () => {
  const { d, data, lengths, yaml, root } = sweep();
  const s0 = await runPart(yaml, shard(0), { resultsRoot: root });
  const recs = JSON.parse(readFileSync(lengths, 'utf8'));
  recs[2]['L_t0.0'] = 30;
  writeFileSync(lengths, JSON.stringify(recs));
  const s1 = await runPart(yaml, shard(1), { resultsRoot: root });
  const before = snapshot(data, lengths, root);
  const out = join(d, 'merged');
  await expect(mergeParts([root], { out })).rejects.toThrow(
    new RegExp(
      `the parts read different inputs \\(a file changed between them; rerun the parts that read the old one\\):\\n  ${lengths}: read with different contents — ${s0.dir} \\(sha256 [0-9a-f]{12}…\\) vs ${s1.dir} \\(sha256 [0-9a-f]{12}…\\)`,
    ),
  );
  expect(snapshot(data, lengths, root, out)).toEqual({ ...before, [out]: 'absent' });
});

test('a part written before provenance was kept (format seqsch-part-1) is refused naming its shard.json', async () => {
  const { d, yaml, root } = sweep();
  const s0 = await runPart(yaml, shard(0), { resultsRoot: root });
  await runPart(yaml, shard(1), { resultsRoot: root });
  const manifest = join(s0.dir, 'shard.json');
  const m = JSON.parse(readFileSync(manifest, 'utf8'));
  delete m.provenance;
  writeFileSync(manifest, JSON.stringify({ ...m, format: 'seqsch-part-1' }));
  const before = snapshot(root);
  await expect(mergeParts([root], { out: join(d, 'merged') })).rejects.toThrow(
    `${manifest}: written before parts recorded the hashes of their inputs and results (format seqsch-part-1), so its results cannot be checked: run that part again`,
  );
  expect(snapshot(root)).toEqual(before);
});
