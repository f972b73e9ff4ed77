/**
 * eval (upstream src/eval.py) as a job: score a length predictor on the first N queries of a validation file —
 * seqsch = the LoRA adapter answers the query prompt; po = the base model states a length in advance (PiA) —
 * against L_max (Error / Acc-50 / Acc-100, the paper's figures) beside the best constant predictors, the bucket
 * oracle and the paper, with the answers that hold no number counted (scored as 0). The ranking view (MAE, Kendall
 * τ, Spearman ρ against L_t0.0, src/scoring/ranking.ts) is scored from the predictions file after the run or its
 * reuse, so a file reused from an earlier run gets it too; without --out (CLI) it is scored from memory.
 */
import { defineJob } from '../core/job.js';
import { BACKEND_OPTION } from '../core/options/common.js';
import { defineOptions } from '../core/options/spec.js';
import { PAPER_PERCEPTION } from '../scoring/evaluate.js';
import { predictorRecord, predictorTable, scoreFromRecord } from '../scoring/ranking.js';

/** In the stage's key order (its stamp hashes the config as written). In YAML `out` is required: the stage's output. */
export const evalOptions = defineOptions({
  model: { type: 'string', required: true, describe: 'HF checkpoint folder of the base model' },
  tokenizer: { type: 'string', describe: "tokenizer ('llama' or a folder; default the model folder)" },
  lora: { type: 'string', describe: 'PEFT adapter folder of the length predictor (seqsch)' },
  data: { type: 'string', required: true, describe: 'validation conversations JSON' },
  lengths: { type: 'string', required: true, describe: 'lenpred records of the validation queries (for L_max)' },
  out: {
    type: 'string',
    describe: 'write per-query predictions [{id, predicted, L_max, answer}]',
    yamlZod: (z) => z.string(),
  },
  'num-data': { type: 'number', int: true, min: 1, default: 1000, describe: 'score the first N queries (file order)' },
  strategy: { type: 'choice', choices: ['seqsch', 'po'] as const, default: 'seqsch' },
  'batch-size': { type: 'number', int: true, min: 1, default: 64 },
  'max-new-tokens': { type: 'number', int: true, min: 1, describe: 'default 32 (seqsch, upstream eval.py), 16 (po)' },
  backend: BACKEND_OPTION,
});

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export const evalJob = defineJob({
  name: 'eval',
  describe:
    'Error / Acc-50 / Acc-100 (against L_max), MAE vs L_t0.0, Kendall τ and Spearman ρ of the seqsch (LoRA) or po (PiA) length predictor',
  options: evalOptions,
  files: (c) => [
    { key: 'model', path: c.model },
    { key: 'data', path: c.data },
    { key: 'lengths', path: c.lengths },
    ...(c.lora && c.strategy === 'seqsch' ? [{ key: 'lora', path: c.lora }] : []),
    ...(c.tokenizer ? [{ key: 'tokenizer', path: c.tokenizer }] : []),
  ],
  outputs: (c) => [c.out],
  writes: (c) => ((c.out as string | undefined) === undefined ? [] : [{ key: 'out', path: c.out }]),
  reuse: (c) => ({
    outputs: [c.out],
    inputs: [
      c.model,
      c.data,
      c.lengths,
      ...(c.lora && c.strategy === 'seqsch' ? [c.lora] : []),
      ...(c.tokenizer ? [c.tokenizer] : []),
    ],
  }),
  run: async (c) => {
    const [{ initBackend }, { runEval }] = await Promise.all([
      import('../core/backend.js'),
      import('../perception/pipeline.js'),
    ]);
    const info = await initBackend(c.backend);
    // c.out is absent only on the CLI without --out
    const out = c.out as string | undefined;
    const s = await runEval({
      model: c.model,
      tokenizer: c.tokenizer,
      lora: c.lora,
      data: c.data,
      lengths: c.lengths,
      numData: c.num_data,
      strategy: c.strategy,
      batchSize: c.batch_size,
      maxNewTokens: c.max_new_tokens,
      out,
    });
    const k = s.constants;
    return {
      record: {
        strategy: s.strategy,
        n: s.n,
        error: s.error,
        acc50: s.acc50,
        acc100: s.acc100,
        unparseable: s.unparseable,
        const_median: k.minError.constant,
        const_error: k.minError.error,
        const_acc50_at: k.maxAcc50.constant,
        const_acc50: k.maxAcc50.acc50,
        const_acc100_at: k.maxAcc100.constant,
        const_acc100: k.maxAcc100.acc100,
        error_over_const: s.error / k.minError.error,
        oracle_bucket_error: s.bucketOracle.error,
        paper_error: PAPER_PERCEPTION.error,
        paper_acc50: PAPER_PERCEPTION.acc50,
        paper_acc100: PAPER_PERCEPTION.acc100,
        seconds: s.seconds,
        // no predictions file to score afterwards: the ranking view from memory (the same numbers)
        ...(out === undefined ? { ...predictorRecord(s), ...predictorRecord(s.bucketOracle, 'oracle_bucket_') } : {}),
      },
      text: [
        `${s.strategy} on ${s.n} queries (${s.seconds.toFixed(1)} s, ${info.name}): Error ${s.error.toFixed(1)}, Acc-50 ${pct(s.acc50)}, Acc-100 ${pct(s.acc100)}; ${s.unparseable} answers without a number (scored as 0)`,
        `ranking: MAE vs L_t0.0 ${s.maeT0.toFixed(1)}; Kendall τ-b ${s.tauT0.toFixed(3)} (L_t0.0) / ${s.tauMax.toFixed(3)} (L_max); Spearman ρ ${s.rhoT0.toFixed(3)} / ${s.rhoMax.toFixed(3)}; pairs ≥ 50 apart ordered right ${pct(s.pairsT0)}`,
        `best constants: ${k.minError.constant} (median) Error ${k.minError.error.toFixed(1)}; ${k.maxAcc50.constant} Acc-50 ${pct(k.maxAcc50.acc50)}; ${k.maxAcc100.constant} Acc-100 ${pct(k.maxAcc100.acc100)}`,
        `bucket oracle (buckit(L_max, 50), the construct target): Error ${s.bucketOracle.error.toFixed(1)}, Kendall τ-b ${s.bucketOracle.tauT0.toFixed(3)} (L_t0.0)`,
        `paper (Vicuna-7B, LoRA): Error ${PAPER_PERCEPTION.error}, Acc-50 ${pct(PAPER_PERCEPTION.acc50)}, Acc-100 ${pct(PAPER_PERCEPTION.acc100)}`,
        ...(out ? [`wrote ${out}`] : []),
      ].join('\n'),
    };
  },
  // the ranking view from the predictions file, outside the stamp: a reused file gets it, and a stamp whose record
  // predates these metrics stays as it was
  scoreOutputs: async (c) => {
    if ((c.out as string | undefined) === undefined) return {};
    const { scorePredictionsFile } = await import('../perception/pipeline.js');
    const scored = scorePredictionsFile(c.out, c.lengths);
    return { ...predictorRecord(scored.model), ...predictorRecord(scored.bucketOracle, 'oracle_bucket_') };
  },
  table: (rows) => {
    const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(1)}%` : '—');
    const r0 = rows[0].record;
    const body = rows.map(({ label, record: r }) => ({
      lead: [`${label} (${r.strategy}, ${r.n} queries${r.unparseable ? `, ${r.unparseable} without a number` : ''})`],
      score: scoreFromRecord(r),
    }));
    body.push({
      lead: ['bucket oracle: buckit(L_max, 50), the construct target'],
      score: scoreFromRecord(r0, 'oracle_bucket_'),
    });
    body.push({
      lead: [`best constant for Error: ${r0.const_median} (median of L_max; orders nothing)`],
      score: { error: r0.const_error as number },
    });
    body.push({
      lead: ['paper: Vicuna-7B + LoRA on Alpaca (Table 2)'],
      score: { error: PAPER_PERCEPTION.error, acc50: PAPER_PERCEPTION.acc50, acc100: PAPER_PERCEPTION.acc100 },
    });
    return (
      predictorTable(['Predictor'], body) +
      `\nBest constants in hindsight: Acc-50 ${pct(r0.const_acc50)} at ${r0.const_acc50_at}, Acc-100 ${pct(r0.const_acc100)} at ${r0.const_acc100_at}. ` +
      "Error / Acc-50 / Acc-100 against L_max (the paper's); MAE, Kendall τ-b, Spearman ρ and the share of pairs ≥ 50 tokens apart ordered right against L_t0.0 (the greedy answer the benchmark generates), τ and ρ also against L_max; — where undefined.\n"
    );
  },
});
