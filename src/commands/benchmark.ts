/**
 * `seqsch benchmark`: the paper's benchmark on a real model — sample the queries as upstream does, predict
 * lengths (vanilla | gt | po | seqsch | probe), schedule (optionally VBS), generate every batch with the tfjs LLaMA
 * (optionally FCR), time it by wall clock and print upstream's block. `--trace` writes the per-batch trace
 * that `seqsch calibrate` fits the simulator's cost model on. Its option table is also the `benchmark` stage's schema.
 */
import { BACKEND_OPTION, JSON_OPTION, report } from '../core/options/common.js';
import { initBackend } from '../core/backend.js';
import { command, defineOptions, stageConfigOf } from '../core/options/spec.js';
import { scheduleOf, scheduleOptions } from '../scheduling/options.js';
import { formatFcrLimit } from '../scheduling/schedule.js';
import { writeJson } from '../util/fs.js';

export const benchmarkOptions = defineOptions({
  data: { type: 'string', required: true, describe: 'conversations JSON (FastChat format)' },
  lengths: { type: 'string', describe: 'recorded lengths JSON ({id, L_gt, L_t0.0, …}); needed by gt' },
  ...scheduleOptions,
  model: { type: 'string', required: true, describe: 'HF LLaMA folder (config.json, safetensors, tokenizer)' },
  lora: { type: 'string', describe: 'PEFT adapter folder of the seqsch length predictor' },
  probe: { type: 'string', describe: 'hidden-state length probe folder (strategy probe; ckpts/tiny-v3-probe)' },
  temperature: { type: 'number', min: 0, default: 0 },
  backend: BACKEND_OPTION,
  trace: { type: 'string', yaml: false, describe: 'write the per-batch trace and per-query results to this JSON file' },
  json: JSON_OPTION,
});

export const benchmarkCommand = command({
  command: 'benchmark',
  describe: 'run the benchmark on a real model (tfjs LLaMA): predict, schedule, generate, FCR, metrics',
  options: benchmarkOptions,
  handler: async (args) => {
    const [{ loadBenchItems }, { benchmarkReal, loadBenchModel }, { upstreamBlock }, { progress }] = await Promise.all([
      import('../workload/items.js'), import('../benchmark/real.js'), import('../benchmark/report.js'), import('../util/progress.js')]);
    const c = stageConfigOf(benchmarkOptions, args);
    if (c.strategy === 'gt' && !c.lengths) throw new Error('--strategy gt needs --lengths (the recorded lengths it predicts)');
    const info = await initBackend(c.backend);
    const items = loadBenchItems({ data: c.data, lengths: c.lengths, numData: c.num_data, seed: c.seed });
    const loaded = await loadBenchModel(c.model, c.lora, c.probe);
    const schedule = scheduleOf(c);
    const bar = progress(`benchmark ${c.strategy}`, items.length, { s: '0' });
    let done = 0;
    const r = await benchmarkReal(items, loaded, {
      strategy: c.strategy, predictions: c.predictions, schedule, maxLength: c.max_length, groupSize: c.group_size,
      temperature: c.temperature,
      seed: c.seed,
      onBatch: (t) => {
        // FCR batches redo queries already counted; the bar counts scheduled queries
        if (t.phase === 'schedule') bar.tick(t.size, { s: (done += t.seconds).toFixed(1) });
      },
    }).finally(() => bar.stop());
    loaded.model.dispose();
    if (args.trace) {
      writeJson(args.trace, {
        model: c.model, lora: c.lora ?? null, backend: info.name, strategy: r.strategy, vbs: r.vbs, fcr: r.fcr,
        fcr_limit: formatFcrLimit(schedule), batch_size: c.batch_size, group_size: c.group_size, max_length: c.max_length,
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
    report(args.json, out, () => upstreamBlock(r, c.group_size, c.batch_size));
  },
});
