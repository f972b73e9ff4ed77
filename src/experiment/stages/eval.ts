/**
 * The `eval` experiment stage: `seqsch eval` as one point — the seqsch (LoRA) or po (PiA) length predictor scored
 * on the first N validation queries against L_max, beside the best constant predictors and the paper's
 * figures — skipped when its predictions file exists for the same inputs and config.
 */
import { z } from 'zod';
import { registerStage } from '../registry.js';
import { initBackend } from '../../backend.js';
import { evalOptions } from '../../commands/eval.js';
import { stageFields } from '../../options/zod.js';
import { runCached } from '../stage-cache.js';
import { PAPER_PERCEPTION, runEval } from '../../perception/pipeline.js';

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
    return {
      record: await runCached({ outputs: [c.out], inputs, config: c }, async () => {
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
      }),
    };
  },
});
