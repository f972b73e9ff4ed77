/**
 * `seqsch experiment FILE.yaml` (also `npm run experiment -- FILE.yaml`): validate an experiment file
 * (unknown keys, wrong types and missing data files stop it before any work, naming file, key and line),
 * run every point and write results/<experiment>-<timestamp>/. Prints table.md, or with --json a summary.
 * A sweep split over a job array runs `--prepare` once, then one `--shard k/n` per task (in a Slurm array or
 * a Kubernetes Indexed Job the index comes from the environment), then `seqsch merge` (docs/sweeps.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions } from '../core/options/spec.js';

export const experimentOptions = defineOptions({
  file: { type: 'string', positional: true, required: true, describe: 'experiment YAML (see experiments/)' },
  results: { type: 'string', default: 'results', describe: 'parent folder of the run folder' },
  details: { type: 'boolean', default: false, describe: 'keep per-query results and batch traces in results.json' },
  shard: {
    type: 'string',
    describe:
      'run shard INDEX/COUNT of the swept points (points k, k+n, … of the non-prepared points) into <results>/<experiment>-shard-<k>of<n>/; ' +
      'default: from SLURM_ARRAY_TASK_ID/_COUNT or JOB_COMPLETION_INDEX (+ --shards) when set; "none": one process',
  },
  shards: {
    type: 'number',
    int: true,
    min: 1,
    describe:
      "the sweep's shard count; the index is then the task's own SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (so --array=1 reruns shard 1)",
  },
  prepare: {
    type: 'boolean',
    default: false,
    describe:
      'run only the points whose outputs other points read (lenpred, construct, train, eval, …) into <results>/<experiment>-prepare/, once before the shards',
  },
  json: JSON_OPTION,
});

export const experimentCommand = command({
  command: 'experiment <file>',
  describe: 'run a YAML experiment (stages × sweeps × rows) and write results/<experiment>-<timestamp>/',
  options: experimentOptions,
  // `--shard -1/3`: the value, not a flag `-1` (the check then names it)
  builder: (y) => y.nargs('shard', 1),
  handler: async (argv) => {
    const t0 = performance.now();
    const { parseShard, shardFromEnv, partName } = await import('../experiment/shard.js');
    type Part = import('../experiment/shard.js').Part;
    let part: Part | null = null;
    if (argv.prepare) {
      if (argv.shard !== undefined && argv.shard !== 'none')
        throw new Error('--prepare runs before the shards: give it without --shard');
      part = { kind: 'prepare' };
    } else if (argv.shard !== undefined && argv.shard !== 'none') {
      const s = parseShard(argv.shard);
      if (argv.shards !== undefined && argv.shards !== s.count)
        throw new Error(`--shards ${argv.shards} disagrees with --shard ${argv.shard}`);
      part = { kind: 'shard', ...s };
    } else if (argv.shard === undefined) {
      const s = shardFromEnv(process.env, argv.shards);
      if (s) part = { kind: 'shard', ...s };
    }
    const { dir, experiment, results } = part
      ? await (
          await import('../experiment/sweep.js')
        ).runPart(argv.file, part, { resultsRoot: argv.results, details: argv.details })
      : await (
          await import('../experiment/runner.js')
        ).runExperiment(argv.file, { resultsRoot: argv.results, details: argv.details });
    const seconds = (performance.now() - t0) / 1000;
    const what = part
      ? `${partName(part)}: ${results.length} of ${experiment.points.length} points`
      : `${results.length} points`;
    report(
      argv.json,
      {
        experiment: experiment.name,
        dir,
        part,
        points: results.length,
        seconds,
        results: results.map((r) => ({ stage: r.stage, label: r.label, swept: r.swept, ...r.record })),
      },
      () => `${readFileSync(join(dir, 'table.md'), 'utf8')}\nwrote ${dir}/ (${what}, ${seconds.toFixed(1)} s)`,
    );
  },
});
