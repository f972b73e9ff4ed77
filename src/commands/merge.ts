/**
 * `seqsch merge SHARD_DIR...`: the parts of a sweep (the `--prepare` folder and the `--shard k/n` folders, or a
 * folder holding them) back into the results folder one process would have written. Stops before writing,
 * naming the folders, when parts come from different experiments or a part is missing, duplicated or half-written.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions } from '../core/options/spec.js';

export const mergeOptions = defineOptions({
  dirs: {
    type: 'list',
    of: 'string',
    positional: true,
    required: true,
    describe: 'part folders (<experiment>-prepare, <experiment>-shard-<k>of<n>) or a folder holding them',
  },
  out: { type: 'string', describe: 'the merged folder (default <results>/<experiment>-<timestamp>); must not exist' },
  results: {
    type: 'string',
    default: 'results',
    describe: 'parent folder of the merged folder when --out is not given',
  },
  details: {
    type: 'boolean',
    describe:
      'keep per-query results and batch traces in results.json (default: when the shards were run with --details)',
  },
  json: JSON_OPTION,
});

export const mergeCommand = command({
  command: 'merge <dirs..>',
  describe: 'merge the shard folders of a sweep (seqsch experiment --prepare / --shard k/n) into one results folder',
  options: mergeOptions,
  handler: async (argv) => {
    const { mergeParts } = await import('../experiment/merge.js');
    const r = await mergeParts(argv.dirs, { out: argv.out, resultsRoot: argv.results, details: argv.details });
    for (const n of r.notes) console.error(n);
    report(
      argv.json,
      {
        experiment: r.experiment.name,
        dir: r.dir,
        parts: r.parts,
        points: r.results.length,
        results: r.results.map((x) => ({ stage: x.stage, label: x.label, swept: x.swept, ...x.record })),
      },
      () =>
        `${readFileSync(join(r.dir, 'table.md'), 'utf8')}\nwrote ${r.dir}/ (${r.results.length} points from ${r.parts.length} parts)`,
    );
  },
});
