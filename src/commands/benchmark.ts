/**
 * `seqsch benchmark`: the paper's benchmark on a real model — sample the queries as upstream does, predict
 * lengths (vanilla | gt | po | seqsch), schedule (optionally VBS), generate every batch with the tfjs LLaMA
 * (optionally FCR), time it by wall clock and print upstream's block. `--trace` writes the per-batch trace
 * that `seqsch calibrate` fits the simulator's cost model on.
 */
import type { CommandModule } from 'yargs';
import { withBackend, withJson, report } from './common.js';
import type { BackendChoice } from '../backend.js';
import { initBackend } from '../backend.js';
import { loadBenchItems } from '../benchmark/items.js';
import { benchmarkReal, loadBenchModel } from '../benchmark/real.js';
import { upstreamBlock } from '../benchmark/report.js';
import { STRATEGIES, type StrategyName } from '../perception/predictor.js';
import { DEFAULT_SCHEDULE, formatFcrLimit, parseFcrLimit } from '../scheduling/schedule.js';
import { progress } from '../util/progress.js';
import { writeJson } from '../util/fs.js';

interface Args {
  model: string;
  lora?: string;
  data: string;
  lengths?: string;
  predictions?: string;
  strategy: StrategyName;
  vbs: boolean;
  fcr: boolean;
  'num-data'?: number;
  seed: number;
  'batch-size': number;
  'group-size': number;
  'max-length': number;
  temperature: number;
  cell: number;
  'fcr-limit': string;
  trace?: string;
  backend: BackendChoice;
  json: boolean;
}

export const benchmarkCommand: CommandModule<object, Args> = {
  command: 'benchmark',
  describe: 'run the benchmark on a real model (tfjs LLaMA): predict, schedule, generate, FCR, metrics',
  builder: (y) =>
    withJson(withBackend(
      y
        .option('model', { type: 'string', demandOption: true, describe: 'HF LLaMA folder (config.json, safetensors, tokenizer)' })
        .option('lora', { type: 'string', describe: 'PEFT adapter folder of the seqsch length predictor' })
        .option('data', { type: 'string', demandOption: true, describe: 'conversations JSON (FastChat format)' })
        .option('lengths', { type: 'string', describe: 'recorded lengths JSON ({id, L_gt, L_t0.0, …}); needed by gt' })
        .option('predictions', { type: 'string', describe: 'predicted lengths JSON ([{id, predicted}]) for po/seqsch' })
        .option('strategy', { choices: STRATEGIES, default: 'vanilla' as StrategyName })
        .option('vbs', { type: 'boolean', default: false, describe: 'variable batch size' })
        .option('fcr', { type: 'boolean', default: false, describe: 'failure collection and recomputation' })
        .option('num-data', { type: 'number', describe: 'sample this many queries (numpy permutation)' })
        .option('seed', { type: 'number', default: 42 })
        .option('batch-size', { type: 'number', default: DEFAULT_SCHEDULE.batchSize })
        .option('group-size', { type: 'number', default: 256 })
        .option('max-length', { type: 'number', default: 512, describe: 'max new tokens' })
        .option('temperature', { type: 'number', default: 0 })
        .option('cell', { type: 'number', default: DEFAULT_SCHEDULE.cell, describe: 'VBS bucket cell (tokens)' })
        .option('fcr-limit', { type: 'string', default: 'bucket', describe: 'FCR batch limit: bucket | x<factor> | +<tokens>' })
        .option('trace', { type: 'string', describe: 'write the per-batch trace and per-query results to this JSON file' }),
    )) as never,
  handler: async (argv) => {
    const info = await initBackend(argv.backend);
    if (argv.strategy === 'gt' && !argv.lengths) throw new Error('--strategy gt needs --lengths (the recorded lengths it predicts)');
    const items = loadBenchItems({ data: argv.data, lengths: argv.lengths, numData: argv['num-data'], seed: argv.seed });
    const loaded = await loadBenchModel(argv.model, argv.lora);
    const fcrLimit = parseFcrLimit(argv['fcr-limit']);
    const schedule = {
      ...DEFAULT_SCHEDULE,
      batchSize: argv['batch-size'],
      vbs: argv.vbs,
      cell: argv.cell,
      fcr: argv.fcr && fcrLimit !== null,
      fcrLimit: fcrLimit ?? DEFAULT_SCHEDULE.fcrLimit,
    };
    const bar = progress(`benchmark ${argv.strategy}`, items.length, { s: '0' });
    let done = 0;
    const r = await benchmarkReal(items, loaded, {
      strategy: argv.strategy,
      predictions: argv.predictions,
      schedule,
      maxLength: argv['max-length'],
      groupSize: argv['group-size'],
      temperature: argv.temperature,
      seed: argv.seed,
      onBatch: (t) => {
        // FCR batches redo queries already counted; the bar counts scheduled queries
        if (t.phase === 'schedule') bar.tick(t.size, { s: (done += t.seconds).toFixed(1) });
      },
    }).finally(() => bar.stop());
    loaded.model.dispose();
    if (argv.trace) {
      writeJson(argv.trace, {
        model: argv.model, lora: argv.lora ?? null, backend: info.name, strategy: r.strategy, vbs: r.vbs, fcr: r.fcr,
        fcr_limit: formatFcrLimit(schedule), batch_size: argv['batch-size'], group_size: argv['group-size'], max_length: argv['max-length'],
        seconds: r.seconds, predict_seconds: r.predict_seconds, trace: r.trace, items: r.items,
      });
    }
    const out = {
      strategy: r.strategy, vbs: r.vbs, fcr: r.fcr, num_samples: r.num_samples,
      average_length: r.average_length, effective_token_ratio: r.effective_token_ratio, failure_ratio: r.failure_ratio,
      // simulated_seconds: null — nothing simulated here; the key is kept so both commands' summaries line up
      num_batches: r.num_batches, decode_steps: r.decode_steps, simulated_seconds: null, throughput: r.throughput,
      seconds: r.seconds, predict_seconds: r.predict_seconds, backend: info.name,
    };
    report(argv.json, out, () => upstreamBlock(r, argv['group-size'], argv['batch-size']));
  },
};
