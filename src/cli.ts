/**
 * `seqsch` — one subcommand per job of src/jobs/index.ts (mounted by src/commands/mount.ts), plus the commands
 * that run no job (env, experiment, merge: src/commands/<name>.ts). This file only lists them.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { CommandModule } from 'yargs';
import { envCommand } from './commands/env.js';
import { experimentCommand } from './commands/experiment.js';
import { mergeCommand } from './commands/merge.js';
import { commandOf } from './commands/mount.js';
import { JOBS } from './jobs/index.js';

// The commands that are no job, alphabetical; all are listed sorted by name below.
const commands: CommandModule<any, any>[] = [envCommand, experimentCommand, mergeCommand];

const args = hideBin(process.argv);
const name = args.find((a) => !a.startsWith('-')); // the command, when one is named
const cli = yargs(args)
  .scriptName('seqsch')
  .usage(
    '$0 <command> [options]\n\nResponse length perception and sequence scheduling (Zheng et al. 2023) in TensorFlow.js.',
  )
  .strict()
  .demandCommand(1, 'name a command (see --help)')
  .recommendCommands()
  .wrap(Math.min(110, process.stdout.columns ?? 110))
  .fail((msg, err, y) => {
    if (err) {
      console.error(`seqsch: ${err.message}`);
      if (process.env.SEQSCH_DEBUG) console.error(err.stack);
    } else if (name === undefined) {
      y.showHelp();
      console.error(`\n${msg}`);
    } else {
      // a bad flag or value of a named command: the message, not 30 lines of help before it
      console.error(`seqsch ${name}: ${msg}\n(seqsch ${name} --help lists the options)`);
    }
    process.exit(1);
  });
for (const c of [...commands, ...JOBS.filter((j) => j.cli !== false).map(commandOf)].sort((a, b) =>
  String(a.command).localeCompare(String(b.command)),
))
  cli.command(c);
await cli.parseAsync();
