/**
 * Issue 27, case 1: no command destroys an input. Each case of the issue (and more) is rebuilt on copies of the
 * inputs in a temporary folder and run through the CLI's mount in process (commandOf(job).handler, as `seqsch`
 * runs it) or the experiment loader; each must be refused before any work with an error naming both paths and
 * the flag or key, and every file under the folder must hold the same bytes afterwards (sha256 of each).
 */
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandOf } from '../../src/commands/mount.js';
import type { Job } from '../../src/core/job.js';
import { loadExperiment } from '../../src/experiment/config.js';
import { constructJob } from '../../src/jobs/construct.js';
import { evalJob } from '../../src/jobs/eval.js';
import { lenpredJob } from '../../src/jobs/lenpred.js';
import { logitsJob } from '../../src/jobs/logits.js';
import { serveJob } from '../../src/jobs/serve.js';
import { trainJob } from '../../src/jobs/train.js';
import { HF_FIXTURE, repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';
import { listTree, sha256 } from './helpers.js';

const tmp = tmpDirs('seqsch-rel-outputs-');

/** sha256 of every file under `dir` (symlinks followed), by relative path. */
function hashes(dir: string): Record<string, string> {
  return Object.fromEntries(
    listTree(dir)
      .filter((f) => !f.endsWith('/'))
      .map((f) => [f, sha256(join(dir, f))]),
  );
}

/** A work folder holding small copies of the inputs: 4 conversations, their lengths, the tiny model. */
function work(): { dir: string; data: string; lengths: string; model: string } {
  const dir = tmp();
  const data = join(dir, 'X.json');
  const lengths = join(dir, 'L.json');
  const conv = JSON.parse(readFileSync(repoPath('data/synthetic-v3/val.json'), 'utf8')) as { id: string }[];
  const lens = JSON.parse(readFileSync(repoPath('data/synthetic-v3/val-length.json'), 'utf8')) as { id: string }[];
  const ids = new Set(conv.slice(0, 4).map((c) => c.id));
  writeFileSync(data, JSON.stringify(conv.slice(0, 4)));
  writeFileSync(lengths, JSON.stringify(lens.filter((l) => ids.has(l.id))));
  const model = join(dir, 'tiny-v3');
  cpSync(repoPath('ckpts/tiny-v3'), model, { recursive: true });
  return { dir, data, lengths, model };
}

/** Run `seqsch <job> ARGS` through the CLI mount; the error it throws (fails the test when it does not throw). */
async function refused(job: Job, args: Record<string, unknown>): Promise<string> {
  const handler = commandOf(job).handler as (a: unknown) => Promise<void>;
  let message: string | undefined;
  try {
    await handler(args);
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toEqual(expect.any(String));
  return message!;
}

/** Refused naming every string in `names`, with every file under the work folder unchanged. */
async function expectRefused(w: { dir: string }, job: Job, args: Record<string, unknown>, names: string[]) {
  const before = hashes(w.dir);
  const m = await refused(job, args);
  for (const n of names) expect(m).toContain(n);
  expect(hashes(w.dir)).toEqual(before);
  return m;
}

test('train --model M --out M (the issue: it deleted the base model) is refused naming both', async () => {
  const w = work();
  const m = await expectRefused(
    w,
    trainJob as Job,
    {
      model: w.model,
      data: repoPath('data/synthetic-v3/train-instruct.json'),
      'num-data': 16,
      'batch-size': 4,
      'grad-accum': 1,
      epochs: 1,
      lr: 1e-3,
      out: w.model,
    },
    ['--out', '--model', w.model, 'destroy'],
  );
  expect(m).toContain(`contains the input --model ${join(w.model, 'config.json')}`);
});

test('train --mode lora into another full model folder is refused: a model is never replaced by an adapter', async () => {
  const w = work();
  const other = join(w.dir, 'other-model');
  cpSync(w.model, other, { recursive: true });
  await expectRefused(
    w,
    trainJob as Job,
    {
      model: w.model,
      data: repoPath('data/synthetic-v3/train-instruct.json'),
      'num-data': 4,
      mode: 'lora',
      out: other,
    },
    ['--out', other, 'not empty', `it holds a full result (${join(other, 'train_done.json')})`, 'LoRA adapter'],
  );
  // a folder no train run wrote (a downloaded model: no train_done.json, log or checkpoint) is refused too
  const downloaded = join(w.dir, 'downloaded');
  mkdirSync(downloaded);
  cpSync(join(HF_FIXTURE, 'model', 'config.json'), join(downloaded, 'config.json'));
  await expectRefused(w, trainJob as Job, { model: w.model, data: w.data, mode: 'full', out: downloaded }, [
    '--out',
    downloaded,
    'no train_done.json, log.csv or checkpoint',
  ]);
});

test('lenpred --data X --out X, and --out a symlink to X, are refused', async () => {
  const w = work();
  await expectRefused(w, lenpredJob as Job, { model: w.model, data: w.data, out: w.data }, [
    `--out ${w.data} is the input --data ${w.data}`,
  ]);
  const link = join(w.dir, 'link.json');
  symlinkSync(w.data, link);
  await expectRefused(w, lenpredJob as Job, { model: w.model, data: w.data, out: link }, [
    `--out ${link} is the input --data ${w.data}`,
    'both resolve to',
  ]);
});

test('construct --lengths L --out L and eval --lengths L --out L are refused', async () => {
  const w = work();
  await expectRefused(w, constructJob as Job, { data: w.data, lengths: w.lengths, out: w.lengths }, [
    `--out ${w.lengths} is the input --lengths ${w.lengths}`,
  ]);
  await expectRefused(
    w,
    evalJob as Job,
    { model: w.model, data: w.data, lengths: w.lengths, strategy: 'po', out: w.lengths },
    [`--out ${w.lengths} is the input --lengths ${w.lengths}`],
  );
});

test('serve-bench --data D --out D is refused (the CLI-only --out counts as an output)', async () => {
  const w = work();
  await expectRefused(
    w,
    serveJob as Job,
    { engine: 'sim', data: w.data, lengths: w.lengths, 'num-data': 4, out: w.data },
    [`--out ${w.data} is the input --data ${w.data}`],
  );
});

test('a file output inside another trained model (not an input) is refused: a model folder is never changed', async () => {
  const w = work();
  const other = join(w.dir, 'other-model');
  cpSync(w.model, other, { recursive: true });
  const target = join(other, 'model.safetensors');
  await expectRefused(w, lenpredJob as Job, { model: w.model, data: w.data, out: target }, [
    `--out ${target} lies inside the trained result ${other} (it holds train_done.json)`,
  ]);
});

test('an output inside an input folder (logits --output MODEL/x.safetensors) is refused', async () => {
  const w = work();
  const fixture = join(w.dir, 'hf');
  cpSync(join(HF_FIXTURE, 'model'), fixture, { recursive: true });
  const inside = join(fixture, 'logits.safetensors');
  await expectRefused(
    w,
    logitsJob as Job,
    { model: fixture, input: join(HF_FIXTURE, 'expected.safetensors'), output: inside },
    [`--output ${inside} lies inside the input --model ${fixture}`],
  );
});

test('--data naming a folder is refused naming the flag ("is a folder"), before any work', async () => {
  const w = work();
  await expectRefused(w, lenpredJob as Job, { model: w.model, data: w.dir, out: join(w.dir, 'out.json') }, [
    `--data ${w.dir} is a folder; give the file to read`,
  ]);
});

test('a YAML lenpred stage whose out: is its data: is refused at load, naming file, line and both keys', () => {
  const w = work();
  const file = join(w.dir, 'x.yaml');
  writeFileSync(
    file,
    `experiment: x\nstages:\n  - stage: lenpred\n    model: ${w.model}\n    data: ${w.data}\n    out: ${w.data}\n`,
  );
  const before = hashes(w.dir);
  expect(() => loadExperiment(file)).toThrow(
    `${file}:6: stages[0].out ${w.data} is the input stages[0].data ${w.data}: writing it would destroy that input`,
  );
  expect(hashes(w.dir)).toEqual(before);
});
