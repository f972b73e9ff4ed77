/**
 * `seqsch lenpred`: answer each query of a conversation file at temperatures 0.0/0.3/0.5/0.7 and write the
 * upstream `*-length.json` ({id, L_gt, L_t0.0, L_t0.3, L_t0.5, L_t0.7}, LLaMA-1 counts with BOS). Resumable
 * (a `<out>.partial.json` is kept after every batch); the output is written atomically at the end.
 */
import { initBackend } from '../core/backend.js';
import { BACKEND_OPTION, JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions } from '../core/options/spec.js';

/** Also the `lenpred` experiment stage's keys. */
export const lenpredOptions = defineOptions({
  model: { type: 'string', required: true, describe: 'HF checkpoint folder of the base model' },
  tokenizer: { type: 'string', describe: "tokenizer ('llama' or a folder; default the model folder)" },
  data: { type: 'string', required: true, describe: 'FastChat conversations JSON' },
  out: { type: 'string', required: true, describe: 'length records JSON to write' },
  'max-length': { type: 'number', int: true, min: 1, default: 256, describe: 'max new tokens per answer (upstream 512 for Vicuna)' },
  temperatures: { type: 'list', of: 'number', min: 0, sep: ',', minItems: 1, default: [0, 0.3, 0.5, 0.7], describe: 'comma-separated sampling temperatures' },
  'batch-size': { type: 'number', int: true, min: 1, default: 64, describe: 'queries per generate call' },
  'num-data': { type: 'number', int: true, min: 1, describe: 'sample this many queries (numpy permutation, --seed), as upstream' },
  first: { type: 'number', int: true, min: 1, describe: 'take the first N queries in file order instead' },
  seed: { type: 'number', int: true, min: 0, max: 0xffffffff, default: 1, describe: "sampling seed (upstream's EvalDataset.sample uses 1)" },
  backend: BACKEND_OPTION,
  json: JSON_OPTION,
});

export const lenpredCommand = command({
  command: 'lenpred',
  describe: 'record response lengths at temperatures 0.0/0.3/0.5/0.7 ({id, L_gt, L_t0.0, …}) for construct and eval',
  options: lenpredOptions,
  handler: async (argv) => {
    const temperatures = argv.temperatures;
    const { runLenpred } = await import('../perception/pipeline.js');
    const info = await initBackend(argv.backend);
    const s = await runLenpred({
      model: argv.model, tokenizer: argv.tokenizer, data: argv.data, out: argv.out, maxLength: argv['max-length'], temperatures,
      batchSize: argv['batch-size'], numData: argv['num-data'], first: argv.first, seed: argv.seed,
    });
    report(argv.json, { ...s, backend: info.name }, () =>
      `wrote ${s.out}: ${s.queries} queries in ${s.seconds.toFixed(1)} s (${info.name}); EOS at T=0 ${(100 * s.eos_t0).toFixed(1)}%, ` +
      `Pearson(L_t0.0, L_gt) ${s.pearson_t0_gt.toFixed(3)}, mean L_gt ${s.mean_L_gt.toFixed(1)}, mean L_max ${s.mean_L_max.toFixed(1)}`);
  },
});
