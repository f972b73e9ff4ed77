/**
 * deploy/k8s/: no cluster here, so the manifests are checked as data (the fields an Indexed Job needs, the
 * three Jobs agreeing on image, experiment, volume and folders, the mount where the Dockerfile puts the
 * repository) and their commands are run locally in the order run.sh applies them — each pod's args with
 * JOB_COMPLETION_INDEX set as Kubernetes sets it — on the volume's folder moved to a temporary one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';

const tmp = tmpDirs('seqsch-k8s-');
const K8S = join(REPO_ROOT, 'deploy/k8s');

type Doc = any; // parsed manifests: checked field by field below
function manifest(name: string): Doc {
  const docs = parseAllDocuments(readFileSync(join(K8S, name), 'utf8'));
  expect(docs).toHaveLength(1);
  expect(docs[0].errors).toEqual([]);
  return docs[0].toJS();
}

const jobs = {
  prepare: manifest('prepare-job.yaml'),
  sweep: manifest('sweep-job.yaml'),
  merge: manifest('merge-job.yaml'),
};
const pvc = manifest('pvc.yaml');
const container = (j: Doc) => j.spec.template.spec.containers[0];

test('the Jobs: an Indexed Job whose --shards is its completions; one image, volume and mount', () => {
  const workdir = /^WORKDIR (\S+)$/m.exec(
    readFileSync(join(K8S, 'Dockerfile'), 'utf8').split('FROM node:20-bookworm-slim\n').pop()!,
  )![1];
  expect(pvc).toMatchObject({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    spec: { accessModes: ['ReadWriteMany'] },
  });
  for (const j of Object.values(jobs)) {
    expect(j).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job' });
    expect(['Never', 'OnFailure']).toContain(j.spec.template.spec.restartPolicy);
    expect(container(j).image).toBe(container(jobs.sweep).image);
    expect(container(j).volumeMounts).toEqual([{ name: 'results', mountPath: `${workdir}/results` }]);
    expect(j.spec.template.spec.volumes).toEqual([
      { name: 'results', persistentVolumeClaim: { claimName: pvc.metadata.name } },
    ]);
  }
  const s = jobs.sweep.spec;
  expect(s.completionMode).toBe('Indexed');
  expect(s.parallelism).toBe(s.completions);
  const args: string[] = container(jobs.sweep).args;
  expect(args[args.indexOf('--shards') + 1]).toBe(String(s.completions));
  expect(container(jobs.prepare).args[1]).toBe(args[1]); // the same experiment
  // run.sh waits for the Jobs by these names
  const run = readFileSync(join(K8S, 'run.sh'), 'utf8');
  for (const [file, j] of [
    ['prepare-job.yaml', jobs.prepare],
    ['sweep-job.yaml', jobs.sweep],
    ['merge-job.yaml', jobs.merge],
  ]) {
    expect(run).toContain(`step ${file} ${j.metadata.name}`);
  }
});

test('their commands, run in order with JOB_COMPLETION_INDEX, merge the sweep', () => {
  const vol = tmp();
  // the volume is mounted at <repo>/results; here it is a temporary folder
  const local = (args: string[]) => args.map((a) => a.replace(/^results\//, `${vol}/`));
  const run = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/seqsch.js'), ...local(args)], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    expect([args.join(' '), r.status, r.stderr.slice(-400)]).toEqual([args.join(' '), 0, expect.any(String)]);
  };
  run(container(jobs.prepare).args);
  for (let k = 0; k < jobs.sweep.spec.completions; k++)
    run(container(jobs.sweep).args, { JOB_COMPLETION_INDEX: String(k) });
  run(container(jobs.merge).args);
  const out = local(container(jobs.merge).args)[3];
  expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).results).toHaveLength(54);
  expect(existsSync(join(out, 'report.html'))).toBe(true);
});
