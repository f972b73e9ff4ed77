/**
 * `seqsch eval`: score a length predictor on the first N queries of a validation file (upstream src/eval.py):
 * seqsch = the LoRA adapter answers the query prompt; po = the base model states a length in advance (PiA).
 * Prints Error / Acc-50 / Acc-100 and the ranking metrics (src/scoring/ranking.ts) beside the best constant predictors on the same queries and the count of
 * answers with no number (scored as 0); optionally writes the per-query predictions for the simulator.
 */
import { initBackend } from '../core/backend.js';
import { BACKEND_OPTION, JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions } from '../core/options/spec.js';

/** Also the `eval` experiment stage's keys (there `out` is required: the stage's output is the predictions file). */
export const evalOptions = defineOptions({
  model: { type: 'string', required: true, describe: 'HF checkpoint folder of the base model' },
  tokenizer: { type: 'string', describe: "tokenizer ('llama' or a folder; default the model folder)" },
  lora: { type: 'string', describe: 'PEFT adapter folder of the length predictor (seqsch)' },
  data: { type: 'string', required: true, describe: 'validation conversations JSON' },
  lengths: { type: 'string', required: true, describe: 'lenpred records of the validation queries (for L_max)' },
  out: { type: 'string', describe: 'write per-query predictions [{id, predicted, L_max, answer}]', yamlZod: (z) => z.string() },
  'num-data': { type: 'number', int: true, min: 1, default: 1000, describe: 'score the first N queries (file order)' },
  strategy: { type: 'choice', choices: ['seqsch', 'po'] as const, default: 'seqsch' },
  'batch-size': { type: 'number', int: true, min: 1, default: 64 },
  'max-new-tokens': { type: 'number', int: true, min: 1, describe: 'default 32 (seqsch, upstream eval.py), 16 (po)' },
  backend: BACKEND_OPTION,
  json: JSON_OPTION,
});

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export const evalCommand = command({
  command: 'eval',
  describe: 'Error / Acc-50 / Acc-100 (against L_max), MAE vs L_t0.0, Kendall τ and Spearman ρ of the seqsch (LoRA) or po (PiA) length predictor',
  options: evalOptions,
  handler: async (argv) => {
    const { PAPER_PERCEPTION, runEval } = await import('../perception/pipeline.js');
    const info = await initBackend(argv.backend);
    const s = await runEval({
      model: argv.model, tokenizer: argv.tokenizer, lora: argv.lora, data: argv.data, lengths: argv.lengths, numData: argv['num-data'],
      strategy: argv.strategy, batchSize: argv['batch-size'], maxNewTokens: argv['max-new-tokens'], out: argv.out,
    });
    const c = s.constants;
    report(argv.json, { ...s, backend: info.name, paper: PAPER_PERCEPTION }, () => [
      `${s.strategy} on ${s.n} queries (${s.seconds.toFixed(1)} s, ${info.name}): Error ${s.error.toFixed(1)}, Acc-50 ${pct(s.acc50)}, Acc-100 ${pct(s.acc100)}; ${s.unparseable} answers without a number (scored as 0)`,
      `ranking: MAE vs L_t0.0 ${s.maeT0.toFixed(1)}; Kendall τ-b ${s.tauT0.toFixed(3)} (L_t0.0) / ${s.tauMax.toFixed(3)} (L_max); Spearman ρ ${s.rhoT0.toFixed(3)} / ${s.rhoMax.toFixed(3)}; pairs ≥ 50 apart ordered right ${pct(s.pairsT0)}`,
      `best constants: ${c.minError.constant} (median) Error ${c.minError.error.toFixed(1)}; ${c.maxAcc50.constant} Acc-50 ${pct(c.maxAcc50.acc50)}; ${c.maxAcc100.constant} Acc-100 ${pct(c.maxAcc100.acc100)}`,
      `bucket oracle (buckit(L_max, 50), the construct target): Error ${s.bucketOracle.error.toFixed(1)}, Kendall τ-b ${s.bucketOracle.tauT0.toFixed(3)} (L_t0.0)`,
      `paper (Vicuna-7B, LoRA): Error ${PAPER_PERCEPTION.error}, Acc-50 ${pct(PAPER_PERCEPTION.acc50)}, Acc-100 ${pct(PAPER_PERCEPTION.acc100)}`,
      ...(argv.out ? [`wrote ${argv.out}`] : []),
    ].join('\n'));
  },
});
