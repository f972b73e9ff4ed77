/**
 * The `construct` experiment stage: `seqsch construct` as one point (conversations + lenpred records →
 * length-prediction instruction data), skipped when its output exists for the same inputs and config.
 */
import { z } from 'zod';
import { registerStage } from '../registry.js';
import { runCached } from '../../jobs/reuse.js';
import { runConstruct } from '../../perception/pipeline.js';
import { constructOptions } from '../../commands/construct.js';
import { stageFields } from '../../core/options/zod.js';

export const constructSchema = z.strictObject(stageFields(constructOptions));

registerStage('construct', {
  schema: constructSchema,
  files: (c) => [{ key: 'data', path: c.data }, { key: 'lengths', path: c.lengths }],
  outputs: (c) => [c.out],
  run: async (c) => {
    const t0 = performance.now();
    return {
      record: await runCached({ outputs: [c.out], inputs: [c.data, c.lengths], config: c }, async () => ({
        ...runConstruct(c),
        seconds: (performance.now() - t0) / 1000,
      })),
    };
  },
});
