/**
 * `seqsch lenpred`: answer each query of a conversation file at temperatures 0.0/0.3/0.5/0.7 and write the
 * upstream `*-length.json` ({id, L_gt, L_t0.0, L_t0.3, L_t0.5, L_t0.7}, LLaMA-1 counts with BOS). Resumable
 * (a `<out>.partial.json` is kept after every batch); the output is written atomically at the end.
 */
import type { CommandModule } from 'yargs';
import { initBackend, type BackendChoice } from '../backend.js';
import { report, withBackend, withJson } from './common.js';

interface Args {
  model: string; tokenizer?: string; data: string; out: string; 'max-length': number; temperatures: string; 'batch-size': number;
  'num-data'?: number; first?: number; seed: number; backend: BackendChoice; json: boolean;
}

export const lenpredCommand: CommandModule<object, Args> = {
  command: 'lenpred',
  describe: 'record response lengths at temperatures 0.0/0.3/0.5/0.7 ({id, L_gt, L_t0.0, …}) for construct and eval',
  builder: (y) =>
    withJson(withBackend(y))
      .option('model', { type: 'string', demandOption: true, describe: 'HF checkpoint folder of the base model' })
      .option('tokenizer', { type: 'string', describe: "tokenizer ('llama' or a folder; default the model folder)" })
      .option('data', { type: 'string', demandOption: true, describe: 'FastChat conversations JSON' })
      .option('out', { type: 'string', demandOption: true, describe: 'length records JSON to write' })
      .option('max-length', { type: 'number', default: 256, describe: 'max new tokens per answer (upstream 512 for Vicuna)' })
      .option('temperatures', { type: 'string', default: '0,0.3,0.5,0.7', describe: 'comma-separated sampling temperatures' })
      .option('batch-size', { type: 'number', default: 64, describe: 'queries per generate call' })
      .option('num-data', { type: 'number', describe: 'sample this many queries (numpy permutation, --seed), as upstream' })
      .option('first', { type: 'number', describe: 'take the first N queries in file order instead' })
      .option('seed', { type: 'number', default: 1, describe: "sampling seed (upstream's EvalDataset.sample uses 1)" }) as never,
  handler: async (argv) => {
    const temperatures = argv.temperatures.split(',').map((s) => {
      const t = Number(s);
      if (!Number.isFinite(t) || t < 0) throw new Error(`--temperatures: '${s}' is not a temperature ≥ 0`);
      return t;
    });
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
};
