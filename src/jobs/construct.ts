/**
 * construct (upstream src/construct.py) as a job: the length predictor's instruction data from queries and their
 * lenpred records — the query prompt appended to each instruction, the bucketed L_max (buckit, cell 50) as the
 * answer. No model is loaded. In an experiment the point is reused when its output exists for the same inputs and
 * config. The record: {out, examples, target_mean (tokens), seconds}.
 */
import { defineJob } from '../core/job.js';
import { defineOptions } from '../core/options/spec.js';

export const constructOptions = defineOptions({
  data: { type: 'string', required: true, describe: 'FastChat conversations JSON' },
  lengths: { type: 'string', required: true, describe: 'lenpred records JSON ({id, L_gt, L_t0.0, …})' },
  out: { type: 'string', required: true, describe: 'instruction data JSON to write (FastChat format)' },
  cell: { type: 'number', int: true, min: 1, default: 50, describe: 'bucket cell of the target length (tokens)' },
});

export const constructJob = defineJob({
  name: 'construct',
  describe:
    'build length-prediction instruction data (query prompt → buckit(L_max)) from conversations + lenpred records',
  options: constructOptions,
  files: (c) => [
    { key: 'data', path: c.data },
    { key: 'lengths', path: c.lengths },
  ],
  outputs: (c) => [c.out],
  writes: (c) => [{ key: 'out', path: c.out }],
  reuse: (c) => ({ outputs: [c.out], inputs: [c.data, c.lengths] }),
  run: async (c) => {
    const t0 = performance.now();
    const { runConstruct } = await import('../perception/pipeline.js');
    const s = runConstruct(c);
    return {
      record: { ...s, seconds: (performance.now() - t0) / 1000 },
      text: `wrote ${s.out}: ${s.examples} examples, mean target ${s.target_mean.toFixed(1)} tokens`,
    };
  },
});
