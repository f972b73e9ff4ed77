/**
 * The committed perception outputs of the embedded default (length records, constructed data, predictions, the
 * LoRA length predictor, the hidden-state length probe) match their stamps and train_done.json — configuration key and output hashes — so the
 * main job (experiments/seqsch.yaml) reuses every one of them, as it did before outputs were hashed.
 */
import { loadExperiment } from '../../src/experiment/config.js';
import { stageKey, staleReason, stampPath } from '../../src/jobs/reuse.js';
import { finishedJob, trainJobHash } from '../../src/training/run.js';
import { trainJobOf, type TrainConfig } from '../../src/jobs/train.js';
import { probeInputs, probeOutputs } from '../../src/jobs/probe.js';
import { REPO_ROOT } from '../helpers/paths.js';

test('the committed perception outputs of experiments/seqsch.yaml match their stamps: the main job reuses them', () => {
  const cwd = process.cwd();
  process.chdir(REPO_ROOT); // the experiment's paths are relative to the repository
  try {
    const exp = loadExperiment('experiments/seqsch.yaml');
    const checked: string[] = [];
    for (const p of exp.points) {
      const c = p.config as Record<string, unknown> & { out: string };
      if (p.stage === 'train') {
        const why: string[] = [];
        expect([finishedJob(c.out, trainJobHash(trainJobOf(c as unknown as TrainConfig)).hash, why), why]).toEqual([
          expect.anything(),
          [],
        ]);
      } else if (['lenpred', 'construct', 'eval'].includes(p.stage)) {
        const inputs = {
          lenpred: ['model', 'data'],
          construct: ['data', 'lengths'],
          eval: ['model', 'data', 'lengths', ...(c.strategy === 'seqsch' ? ['lora'] : [])],
        }[p.stage]!;
        const { key } = stageKey(
          c,
          inputs.map((k) => c[k] as string),
        );
        expect([c.out, staleReason(stampPath(c.out), key, [c.out])]).toEqual([c.out, null]);
      } else if (p.stage === 'probe') {
        const cp = c as never;
        const outs = probeOutputs(cp);
        expect([c.out, staleReason(stampPath(outs[0]), stageKey(cp, probeInputs(cp)).key, outs)]).toEqual([
          c.out,
          null,
        ]);
      } else continue;
      checked.push(c.out);
    }
    expect(checked.length).toBe(7);
    expect(checked).toContain('ckpts/tiny-v3-lenpred');
    expect(checked).toContain('ckpts/tiny-v3-probe');
  } finally {
    process.chdir(cwd);
  }
});
