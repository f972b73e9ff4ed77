/**
 * The `lenpred` experiment stage: `seqsch lenpred` as one point (model + conversations → `*-length.json`), skipped
 * when its output exists for the same inputs and config (stage-cache.ts). The record holds the base model's
 * instruction-following figures: EOS share at T = 0 and Pearson(L_t0.0, L_gt). Its keys are `seqsch lenpred`'s option table.
 */
import { z } from 'zod';
import { registerStage } from '../registry.js';
import { initBackend } from '../../core/backend.js';
import { lenpredOptions } from '../../commands/lenpred.js';
import { stageFields } from '../../core/options/zod.js';
import { runCached } from '../stage-cache.js';
import { runLenpred } from '../../perception/pipeline.js';

export const lenpredSchema = z.strictObject(stageFields(lenpredOptions));

registerStage('lenpred', {
  schema: lenpredSchema,
  files: (c) => [{ key: 'model', path: c.model }, { key: 'data', path: c.data }, ...(c.tokenizer ? [{ key: 'tokenizer', path: c.tokenizer }] : [])],
  outputs: (c) => [c.out],
  run: async (c) => ({
    record: await runCached({ outputs: [c.out], inputs: [c.model, c.data, ...(c.tokenizer ? [c.tokenizer] : [])], config: c }, async () => {
      await initBackend(c.backend);
      const s = await runLenpred({
        model: c.model, tokenizer: c.tokenizer, data: c.data, out: c.out, maxLength: c.max_length, temperatures: c.temperatures,
        batchSize: c.batch_size, numData: c.num_data, first: c.first, seed: c.seed,
      });
      return { out: s.out, queries: s.queries, eos_t0: s.eos_t0, pearson_t0_gt: s.pearson_t0_gt, mean_L_gt: s.mean_L_gt, mean_L_max: s.mean_L_max, seconds: s.seconds };
    }),
  }),
});
