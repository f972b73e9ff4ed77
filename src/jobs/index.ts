/**
 * Every job of the pipeline, in pipeline order: the one list the CLI (src/commands/mount.ts) and the experiment
 * runner (src/experiment/stages/index.ts) mount. Job modules import only option tables at the top and load
 * their heavy code when they run, so `seqsch --help` stays fast. A new job is one module and one line here.
 */
import type { Job } from '../core/job.js';
import { lenpredJob } from './lenpred.js';
import { simulateJob } from './simulate.js';

export const JOBS: Job[] = [lenpredJob, simulateJob] as Job[];
