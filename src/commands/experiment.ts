/**
 * `seqsch experiment FILE.yaml` (also `npm run experiment -- FILE.yaml`): validate an experiment file
 * (unknown keys, wrong types and missing data files stop it before any work, naming file, key and line),
 * run every point and write results/<experiment>-<timestamp>/. Prints table.md, or with --json a summary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_OPTION, report } from './common.js';
import { command, defineOptions } from '../options/spec.js';

export const experimentOptions = defineOptions({
  file: { type: 'string', positional: true, required: true, describe: 'experiment YAML (see experiments/)' },
  results: { type: 'string', default: 'results', describe: 'parent folder of the run folder' },
  details: { type: 'boolean', default: false, describe: 'keep per-query results and batch traces in results.json' },
  json: JSON_OPTION,
});

export const experimentCommand = command({
  command: 'experiment <file>',
  describe: 'run a YAML experiment (stages × sweeps × rows) and write results/<experiment>-<timestamp>/',
  options: experimentOptions,
  handler: async (argv) => {
    const t0 = performance.now();
    const { runExperiment } = await import('../experiment/runner.js');
    const { dir, experiment, results } = await runExperiment(argv.file, { resultsRoot: argv.results, details: argv.details });
    const seconds = (performance.now() - t0) / 1000;
    report(
      argv.json,
      { experiment: experiment.name, dir, points: results.length, seconds, results: results.map((r) => ({ stage: r.stage, label: r.label, swept: r.swept, ...r.record })) },
      () => `${readFileSync(join(dir, 'table.md'), 'utf8')}\nwrote ${dir}/ (${results.length} points, ${seconds.toFixed(1)} s)`,
    );
  },
});
