/**
 * `seqsch construct`: the length predictor's instruction data from queries and their lenpred records — the
 * query prompt appended to each instruction, the bucketed L_max (buckit, cell 50) as the answer (upstream
 * src/construct.py). No model is loaded.
 */
import { JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions } from '../core/options/spec.js';

/** Also the `construct` experiment stage's keys. */
export const constructOptions = defineOptions({
  data: { type: 'string', required: true, describe: 'FastChat conversations JSON' },
  lengths: { type: 'string', required: true, describe: 'lenpred records JSON ({id, L_gt, L_t0.0, …})' },
  out: { type: 'string', required: true, describe: 'instruction data JSON to write (FastChat format)' },
  cell: { type: 'number', int: true, min: 1, default: 50, describe: 'bucket cell of the target length (tokens)' },
  json: JSON_OPTION,
});

export const constructCommand = command({
  command: 'construct',
  describe: 'build length-prediction instruction data (query prompt → buckit(L_max)) from conversations + lenpred records',
  options: constructOptions,
  handler: async (argv) => {
    const { runConstruct } = await import('../perception/pipeline.js');
    const s = runConstruct(argv);
    report(argv.json, s, () => `wrote ${s.out}: ${s.examples} examples, mean target ${s.target_mean.toFixed(1)} tokens`);
  },
});
