/**
 * The `eval` experiment stage: `seqsch eval` as one point — the seqsch (LoRA) or po (PiA) length predictor scored
 * on the first N validation queries against L_max (the paper's figures) and by its ranking (src/scoring/ranking.ts),
 * beside the best constant predictors and the paper — skipped when its predictions file exists for the same inputs
 * and config (the ranking is then scored from the reused file).
 */
import { z } from 'zod';
import { registerStage } from '../registry.js';
import { initBackend } from '../../core/backend.js';
import { evalOptions } from '../../commands/eval.js';
import { stageFields } from '../../core/options/zod.js';
import { runCached } from '../../jobs/reuse.js';
import { PAPER_PERCEPTION, runEval, scorePredictionsFile } from '../../perception/pipeline.js';
import { predictorRecord, predictorTable, scoreFromRecord } from '../../scoring/ranking.js';

export const evalSchema = z.strictObject(stageFields(evalOptions));

registerStage('eval', {
  schema: evalSchema,
  files: (c) => [
    { key: 'model', path: c.model }, { key: 'data', path: c.data }, { key: 'lengths', path: c.lengths },
    ...(c.lora && c.strategy === 'seqsch' ? [{ key: 'lora', path: c.lora }] : []),
    ...(c.tokenizer ? [{ key: 'tokenizer', path: c.tokenizer }] : []),
  ],
  outputs: (c) => [c.out],
  run: async (c) => {
    const inputs = [c.model, c.data, c.lengths, ...(c.lora && c.strategy === 'seqsch' ? [c.lora] : []), ...(c.tokenizer ? [c.tokenizer] : [])];
    const record = await runCached({ outputs: [c.out], inputs, config: c }, async () => {
      await initBackend(c.backend);
      const s = await runEval({
        model: c.model, tokenizer: c.tokenizer, lora: c.lora, data: c.data, lengths: c.lengths, numData: c.num_data,
        strategy: c.strategy, batchSize: c.batch_size, maxNewTokens: c.max_new_tokens, out: c.out,
      });
      const k = s.constants;
      return {
        strategy: s.strategy, n: s.n, error: s.error, acc50: s.acc50, acc100: s.acc100, unparseable: s.unparseable,
        const_median: k.minError.constant, const_error: k.minError.error,
        const_acc50_at: k.maxAcc50.constant, const_acc50: k.maxAcc50.acc50,
        const_acc100_at: k.maxAcc100.constant, const_acc100: k.maxAcc100.acc100,
        error_over_const: s.error / k.minError.error,
        oracle_bucket_error: s.bucketOracle.error,
        paper_error: PAPER_PERCEPTION.error, paper_acc50: PAPER_PERCEPTION.acc50, paper_acc100: PAPER_PERCEPTION.acc100,
        seconds: s.seconds,
      };
    });
    // the ranking view, scored from the predictions file outside the stamp: a reused file gets it too, and the
    // stamp (whose record predates these metrics) stays as it was
    const scored = scorePredictionsFile(c.out, c.lengths);
    return { record: { ...record, ...predictorRecord(scored.model), ...predictorRecord(scored.bucketOracle, 'oracle_bucket_') } };
  },
  table: (rows) => {
    const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(1)}%` : '—');
    const r0 = rows[0].record;
    const body = rows.map(({ label, record: r }) => ({ lead: [`${label} (${r.strategy}, ${r.n} queries${r.unparseable ? `, ${r.unparseable} without a number` : ''})`], score: scoreFromRecord(r) }));
    body.push({ lead: ['bucket oracle: buckit(L_max, 50), the construct target'], score: scoreFromRecord(r0, 'oracle_bucket_') });
    body.push({ lead: [`best constant for Error: ${r0.const_median} (median of L_max; orders nothing)`], score: { error: r0.const_error as number } });
    body.push({ lead: ['paper: Vicuna-7B + LoRA on Alpaca (Table 2)'], score: { error: PAPER_PERCEPTION.error, acc50: PAPER_PERCEPTION.acc50, acc100: PAPER_PERCEPTION.acc100 } });
    return predictorTable(['Predictor'], body) +
      `\nBest constants in hindsight: Acc-50 ${pct(r0.const_acc50)} at ${r0.const_acc50_at}, Acc-100 ${pct(r0.const_acc100)} at ${r0.const_acc100_at}. ` +
      'Error / Acc-50 / Acc-100 against L_max (the paper\'s); MAE, Kendall τ-b, Spearman ρ and the share of pairs ≥ 50 tokens apart ordered right against L_t0.0 (the greedy answer the benchmark generates), τ and ρ also against L_max; — where undefined.\n';
  },
});
