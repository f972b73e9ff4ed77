/**
 * Every job of the pipeline, in pipeline order: the one list the CLI (src/commands/mount.ts) and the experiment
 * runner (src/experiment/stages.ts) mount. Job modules import only option tables at the top and load
 * their heavy code when they run, so `seqsch --help` stays fast. A new job is one module and one line here.
 */
import type { Job } from '../core/job.js';
import { lenpredJob } from './lenpred.js';
import { constructJob } from './construct.js';
import { trainJob } from './train.js';
import { evalJob } from './eval.js';
import { probeJob } from './probe.js';
import { trainPredictorJob } from './train-predictor.js';
import { predictJob } from './predict.js';
import { checkPerceptionJob } from './check-perception.js';
import { tokenizeJob } from './tokenize.js';
import { logitsJob } from './logits.js';
import { makeDataJob } from './make-data.js';
import { simulateJob } from './simulate.js';
import { benchmarkJob } from './benchmark.js';
import { calibrateJob } from './calibrate.js';
import { serveJob } from './serve.js';
import { serveCalibrateJob } from './serve-calibrate.js';
import { ggufJob } from './gguf.js';

export const JOBS: Job[] = [
  lenpredJob,
  constructJob,
  trainJob,
  evalJob,
  probeJob,
  trainPredictorJob,
  predictJob,
  simulateJob,
  benchmarkJob,
  calibrateJob,
  serveJob,
  serveCalibrateJob,
  checkPerceptionJob,
  // tools: CLI only
  tokenizeJob,
  logitsJob,
  makeDataJob,
  ggufJob,
] as Job[];
