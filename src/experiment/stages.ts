/**
 * The experiment runner's mount of the jobs: every job of src/jobs/index.ts that has a YAML side becomes the stage
 * of its name — its keys the snake_case entries of the job's option table, its cross-key check run when the file
 * is loaded, its outputs reused when their inputs and config are unchanged (src/jobs/reuse.ts), then the keys it
 * scores from its outputs appended (reused or not). Importing this module registers them; a new job is one line
 * in src/jobs/index.ts, not here.
 */
import { z } from 'zod';
import { registerStage } from './registry.js';
import { stageFields } from '../core/options/zod.js';
import { JOBS } from '../jobs/index.js';
import { runCached, staleOutputs } from '../jobs/reuse.js';
import type { JobResult } from '../core/job.js';

for (const job of JOBS) {
  if (job.yaml === false) continue;
  registerStage(job.name, {
    schema: z.strictObject(stageFields(job.options)),
    check: job.check,
    files: job.files,
    outputs: job.outputs,
    writes: job.writes,
    outputsStale: job.reuse ? async (c) => staleOutputs({ ...job.reuse!(c as never), config: c }) : job.outputsStale,
    wholeRun: job.wholeRun,
    table: job.table,
    run: async (c, ctx) => {
      const jobCtx = { ...ctx, cli: {} };
      let r: JobResult;
      if (job.reuse) {
        // a reused point keeps its record; its detail and text are not stored
        r = { record: await runCached({ ...job.reuse(c), config: c }, async () => (await job.run(c, jobCtx)).record) };
      } else r = await job.run(c, jobCtx);
      return job.scoreOutputs ? { ...r, record: { ...r.record, ...(await job.scoreOutputs(c)) } } : r;
    },
  });
}
