/**
 * `seqsch construct`: the length predictor's instruction data from queries and their lenpred records — the
 * query prompt appended to each instruction, the bucketed L_max (buckit, cell 50) as the answer (upstream
 * src/construct.py). No model is loaded.
 */
import type { CommandModule } from 'yargs';
import { report, withJson } from './common.js';

interface Args { data: string; lengths: string; out: string; cell: number; json: boolean }

export const constructCommand: CommandModule<object, Args> = {
  command: 'construct',
  describe: 'build length-prediction instruction data (query prompt → buckit(L_max)) from conversations + lenpred records',
  builder: (y) =>
    withJson(y)
      .option('data', { type: 'string', demandOption: true, describe: 'FastChat conversations JSON' })
      .option('lengths', { type: 'string', demandOption: true, describe: 'lenpred records JSON ({id, L_gt, L_t0.0, …})' })
      .option('out', { type: 'string', demandOption: true, describe: 'instruction data JSON to write (FastChat format)' })
      .option('cell', { type: 'number', default: 50, describe: 'bucket cell of the target length (tokens)' }) as never,
  handler: async (argv) => {
    const { runConstruct } = await import('../perception/pipeline.js');
    const s = runConstruct(argv);
    report(argv.json, s, () => `wrote ${s.out}: ${s.examples} examples, mean target ${s.target_mean.toFixed(1)} tokens`);
  },
};
