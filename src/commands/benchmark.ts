/**
 * `seqsch benchmark`: the paper's benchmark on a real model — sample the queries as upstream does, predict
 * lengths (vanilla | gt | po | seqsch), schedule (optionally VBS), generate every batch with the tfjs LLaMA
 * (optionally FCR), time it by wall clock and print upstream's block. `--trace` writes the per-batch trace
 * that `seqsch calibrate` fits the simulator's cost model on.
 */
import type { CommandModule } from 'yargs';
import { withBackend, withJson, report } from './common.js';
import { initBackend, type BackendChoice } from '../backend.js';
import { withScheduleOptions, scheduleParams, type ScheduleArgs } from './schedule-options.js';
import { formatFcrLimit } from '../scheduling/schedule.js';
import { writeJson } from '../util/fs.js';

interface Args extends ScheduleArgs {
  model: string;
  lora?: string;
  data: string;
  lengths?: string;
  temperature: number;
  backend: BackendChoice;
  json: boolean;
}

export const benchmarkCommand: CommandModule<object, Args> = {
  command: 'benchmark',
  describe: 'run the benchmark on a real model (tfjs LLaMA): predict, schedule, generate, FCR, metrics',
  builder: (y) =>
    withJson(withBackend(
      withScheduleOptions(y
        .option('model', { type: 'string', demandOption: true, describe: 'HF LLaMA folder (config.json, safetensors, tokenizer)' })
        .option('lora', { type: 'string', describe: 'PEFT adapter folder of the seqsch length predictor' })
        .option('data', { type: 'string', demandOption: true, describe: 'conversations JSON (FastChat format)' })
        .option('lengths', { type: 'string', describe: 'recorded lengths JSON ({id, L_gt, L_t0.0, …}); needed by gt' }))
        .option('temperature', { type: 'number', default: 0 }),
    )) as never,
  handler: async (argv) => {
    const [{ loadBenchItems }, { benchmarkReal, loadBenchModel }, { upstreamBlock }, { progress }] = await Promise.all([
      import('../benchmark/items.js'), import('../benchmark/real.js'), import('../benchmark/report.js'), import('../util/progress.js')]);
    const info = await initBackend(argv.backend);
    if (argv.strategy === 'gt' && !argv.lengths) throw new Error('--strategy gt needs --lengths (the recorded lengths it predicts)');
    const items = loadBenchItems({ data: argv.data, lengths: argv.lengths, numData: argv['num-data'], seed: argv.seed });
    const loaded = await loadBenchModel(argv.model, argv.lora);
    const params = scheduleParams(argv);
    const bar = progress(`benchmark ${argv.strategy}`, items.length, { s: '0' });
    let done = 0;
    const r = await benchmarkReal(items, loaded, {
      ...params,
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
        fcr_limit: formatFcrLimit(params.schedule), batch_size: argv['batch-size'], group_size: argv['group-size'], max_length: argv['max-length'],
        seconds: r.seconds, predict_seconds: r.predict_seconds, fcr_seconds: r.fcr_seconds, trace: r.trace, items: r.items,
      });
    }
    const out = {
      strategy: r.strategy, vbs: r.vbs, fcr: r.fcr, num_samples: r.num_samples,
      average_length: r.average_length, effective_token_ratio: r.effective_token_ratio, failure_ratio: r.failure_ratio,
      // simulated_seconds: null — nothing simulated here; the key is kept so both commands' summaries line up
      num_batches: r.num_batches, decode_steps: r.decode_steps, simulated_seconds: null, throughput: r.throughput,
      seconds: r.seconds, predict_seconds: r.predict_seconds, fcr_seconds: r.fcr_seconds, backend: info.name,
    };
    report(argv.json, out, () => upstreamBlock(r, argv['group-size'], argv['batch-size']));
  },
};
