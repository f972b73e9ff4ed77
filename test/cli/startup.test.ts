/**
 * The CLI answers `--help` without loading tfjs, the model code, the tokenizers, vega or zod: every command
 * module imports only option constants at top level and loads the rest inside its handler. A resolve hook
 * records every package an ES import asks for while `seqsch --help` and `seqsch <cmd> --help` run. (How fast
 * that is gets measured by `npm run bench:cli`, not here.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/paths.js';

const HEAVY = /@tensorflow|@xenova|llama-tokenizer-js|vega|zod|cli-progress|csv-stringify/;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'seqsch-startup-'));
  writeFileSync(
    join(dir, 'hook.mjs'),
    `export async function resolve(spec, ctx, next) {
  if (!spec.startsWith('.') && !spec.startsWith('file:') && !spec.startsWith('node:')) process.stderr.write('IMPORT ' + spec + '\\n');
  return next(spec, ctx);
}\n`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)});\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The bare package names ES imports asked for while `seqsch ARGS` ran, and its stdout. */
function run(args: string): { pkgs: string[]; stdout: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', join(dir, 'register.mjs'), join(REPO_ROOT, 'bin/seqsch.js'), ...args.split(' ')],
    { encoding: 'utf8', cwd: REPO_ROOT },
  );
  expect(r.status).toBe(0);
  return {
    pkgs: r.stderr
      .split('\n')
      .filter((l) => l.startsWith('IMPORT '))
      .map((l) => l.slice(7)),
    stdout: r.stdout,
  };
}

test.each(['--help', 'simulate --help', 'train --help', 'benchmark --help', 'merge --help', 'serve-bench --help'])(
  'seqsch %s imports yargs and no heavy package',
  (args) => {
    const { pkgs, stdout } = run(args);
    expect(stdout).toContain('seqsch');
    expect(pkgs).toContain('yargs'); // the hook sees bare imports: an empty list would mean it saw nothing
    expect(pkgs.filter((p) => HEAVY.test(p))).toEqual([]);
  },
);

test('a command that needs them still loads them (the handler imports lazily)', () => {
  const { pkgs, stdout } = run('env --backend cpu --json');
  expect(JSON.parse(stdout.trim().split('\n').pop()!).backend).toBe('cpu');
  expect(pkgs.some((p) => p.startsWith('@tensorflow/'))).toBe(true);
});
