/**
 * `seqsch experiment FILE.yaml` (also `npm run experiment -- FILE.yaml`): validate an experiment file
 * (unknown keys, wrong types and missing data files stop it before any work, naming file, key and line),
 * run every point and write results/<experiment>-<timestamp>/. Prints table.md, or with --json a summary.
 */
import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withJson, report } from './common.js';

interface Args {
  file: string;
  results: string;
  details: boolean;
  json: boolean;
}

export const experimentCommand: CommandModule<object, Args> = {
  command: 'experiment <file>',
  describe: 'run a YAML experiment (stages × sweeps × rows) and write results/<experiment>-<timestamp>/',
  builder: (y) =>
    withJson(
      y
        .positional('file', { type: 'string', demandOption: true, describe: 'experiment YAML (see experiments/)' })
        .option('results', { type: 'string', default: 'results', describe: 'parent folder of the run folder' })
        .option('details', { type: 'boolean', default: false, describe: 'keep per-query results and batch traces in results.json' }),
    ) as never,
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
};
