/**
 * lenpred (upstream src/lenpred.py) as a job: answer each query of a conversation file at temperatures
 * 0.0/0.3/0.5/0.7 and write the upstream `*-length.json` ({id, L_gt, L_t0.0, L_t0.3, L_t0.5, L_t0.7}, LLaMA-1
 * counts with BOS). Resumable (a `<out>.partial.json` is kept after every batch); the output is written
 * atomically at the end. The record holds the base model's instruction-following figures: EOS share at T = 0
 * and Pearson(L_t0.0, L_gt).
 */
import { defineJob } from '../core/job.js';
import { BACKEND_OPTION } from '../core/options/common.js';
import { defineOptions } from '../core/options/spec.js';

export const lenpredOptions = defineOptions({
  model: { type: 'string', required: true, describe: 'HF checkpoint folder of the base model' },
  tokenizer: { type: 'string', describe: "tokenizer ('llama' or a folder; default the model folder)" },
  data: { type: 'string', required: true, describe: 'FastChat conversations JSON' },
  out: { type: 'string', required: true, describe: 'length records JSON to write' },
  'max-length': {
    type: 'number',
    int: true,
    min: 1,
    default: 256,
    describe: 'max new tokens per answer (upstream 512 for Vicuna)',
  },
  temperatures: {
    type: 'list',
    of: 'number',
    min: 0,
    sep: ',',
    minItems: 1,
    default: [0, 0.3, 0.5, 0.7],
    describe: 'comma-separated sampling temperatures',
  },
  'batch-size': { type: 'number', int: true, min: 1, default: 64, describe: 'queries per generate call' },
  'num-data': {
    type: 'number',
    int: true,
    min: 1,
    describe: 'sample this many queries (numpy permutation, --seed), as upstream',
  },
  first: { type: 'number', int: true, min: 1, describe: 'take the first N queries in file order instead' },
  seed: {
    type: 'number',
    int: true,
    min: 0,
    max: 0xffffffff,
    default: 1,
    describe: "sampling seed (upstream's EvalDataset.sample uses 1)",
  },
  backend: BACKEND_OPTION,
});

export const lenpredJob = defineJob({
  name: 'lenpred',
  describe: 'record response lengths at temperatures 0.0/0.3/0.5/0.7 ({id, L_gt, L_t0.0, …}) for construct and eval',
  options: lenpredOptions,
  files: (c) => [
    { key: 'model', path: c.model },
    { key: 'data', path: c.data },
    ...(c.tokenizer ? [{ key: 'tokenizer', path: c.tokenizer }] : []),
  ],
  outputs: (c) => [c.out],
  writes: (c) => [{ key: 'out', path: c.out }],
  reuse: (c) => ({ outputs: [c.out], inputs: [c.model, c.data, ...(c.tokenizer ? [c.tokenizer] : [])] }),
  run: async (c) => {
    const [{ initBackend }, { runLenpred }] = await Promise.all([
      import('../core/backend.js'),
      import('../perception/pipeline.js'),
    ]);
    const info = await initBackend(c.backend);
    const s = await runLenpred({
      model: c.model,
      tokenizer: c.tokenizer,
      data: c.data,
      out: c.out,
      maxLength: c.max_length,
      temperatures: c.temperatures,
      batchSize: c.batch_size,
      numData: c.num_data,
      first: c.first,
      seed: c.seed,
    });
    return {
      record: {
        out: s.out,
        queries: s.queries,
        eos_t0: s.eos_t0,
        pearson_t0_gt: s.pearson_t0_gt,
        mean_L_gt: s.mean_L_gt,
        mean_L_max: s.mean_L_max,
        seconds: s.seconds,
      },
      text:
        `wrote ${s.out}: ${s.queries} queries in ${s.seconds.toFixed(1)} s (${info.name}); EOS at T=0 ${(100 * s.eos_t0).toFixed(1)}%, ` +
        `Pearson(L_t0.0, L_gt) ${s.pearson_t0_gt.toFixed(3)}, mean L_gt ${s.mean_L_gt.toFixed(1)}, mean L_max ${s.mean_L_max.toFixed(1)}`,
    };
  },
});
