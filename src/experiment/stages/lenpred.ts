/**
 * The `lenpred` experiment stage: `seqsch lenpred` as one point (model + conversations → `*-length.json`), skipped
 * when its output exists for the same inputs and config (stage-cache.ts). The record holds the base model's
 * instruction-following figures: EOS share at T = 0 and Pearson(L_t0.0, L_gt).
 */
import { z } from 'zod';
import { registerStage } from '../registry.js';
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../../backend.js';
import { runCached } from '../stage-cache.js';
import { runLenpred } from '../../perception/pipeline.js';

const posInt = z.number().int().positive();

export const lenpredSchema = z.strictObject({
  model: z.string(),
  tokenizer: z.string().optional(),
  data: z.string(),
  out: z.string(),
  max_length: posInt.default(256),
  temperatures: z.array(z.number().min(0)).min(1).default([0, 0.3, 0.5, 0.7]),
  batch_size: posInt.default(64),
  /** sample this many queries (numpy permutation with seed); exclusive with first */
  num_data: posInt.optional(),
  /** the first this many queries in file order */
  first: posInt.optional(),
  seed: z.number().int().min(0).max(0xffffffff).default(1),
  /** tfjs backend the stage runs on (the wasm default is the acceptance setting: 2 CPU cores) */
  backend: z.enum(BACKEND_CHOICES as [string, ...string[]]).default('wasm'),
});

registerStage('lenpred', {
  schema: lenpredSchema,
  files: (c) => [{ key: 'model', path: c.model }, { key: 'data', path: c.data }, ...(c.tokenizer ? [{ key: 'tokenizer', path: c.tokenizer }] : [])],
  outputs: (c) => [c.out],
  run: async (c) => ({
    record: await runCached({ outputs: [c.out], inputs: [c.model, c.data, ...(c.tokenizer ? [c.tokenizer] : [])], config: c }, async () => {
      await initBackend(c.backend as BackendChoice);
      const s = await runLenpred({
        model: c.model, tokenizer: c.tokenizer, data: c.data, out: c.out, maxLength: c.max_length, temperatures: c.temperatures,
        batchSize: c.batch_size, numData: c.num_data, first: c.first, seed: c.seed,
      });
      return { out: s.out, queries: s.queries, eos_t0: s.eos_t0, pearson_t0_gt: s.pearson_t0_gt, mean_L_gt: s.mean_L_gt, mean_L_max: s.mean_L_max, seconds: s.seconds };
    }),
  }),
});
