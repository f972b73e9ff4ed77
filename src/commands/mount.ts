/**
 * The CLI's mount of the jobs: each job with a CLI side becomes `seqsch <name>`, its flags the job's option table
 * (kebab-case), checked by the table (the words the YAML side uses too), then the job's cross-key check naming
 * `--flags`, then its paths (src/jobs/guard.ts: no output destroys an input, each output locked for the run).
 * It prints the job's text, or with `--json` its record (plus the keys scored from its outputs) as the
 * last line. Nothing here declares an option of a job.
 */
import type { CommandModule } from 'yargs';
import type { Job } from '../core/job.js';
import { JSON_OPTION } from '../core/options/common.js';
import { command, stageConfigOf } from '../core/options/spec.js';
import { memoCache } from '../util/memo.js';
import { jobPathProblems, lockOutputs } from '../jobs/guard.js';

export function commandOf(job: Job): CommandModule {
  const options = { ...job.options, json: JSON_OPTION };
  return command({
    command: job.command ?? job.name,
    describe: job.describe,
    options,
    builder: job.examples ? (y) => job.examples!.reduce((b, [cmd, what]) => b.example(cmd, what), y) : undefined,
    handler: async (args) => {
      const c = stageConfigOf(job.options, args) as never;
      const flag = (k: string) => `--${k.replace(/_/g, '-')}`;
      const problem = job.check?.(c, flag);
      if (problem) throw new Error(problem);
      const cli = Object.fromEntries(
        Object.entries(job.options)
          .filter(([, s]) => s.yaml === false)
          .map(([k]) => [k, args[k as keyof typeof args]]),
      );
      // before any work: no output may destroy an input or a foreign folder, each can be written, and is ours alone
      const problems = jobPathProblems(job, c, cli, flag);
      if (problems.length) throw new Error(problems.join('\n'));
      const release = lockOutputs((job.writes?.(c, cli) ?? []).map((out) => ({ out, what: flag(out.key) })));
      let r;
      try {
        r = await job.run(c, { cache: memoCache(), cli });
      } finally {
        release();
      }
      const record = job.scoreOutputs ? { ...r.record, ...(await job.scoreOutputs(c)) } : r.record;
      if (args.json) console.log(JSON.stringify(record));
      else if (r.text !== '') console.log(r.text ?? JSON.stringify(record, null, 2));
    },
  });
}
