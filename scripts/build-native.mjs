#!/usr/bin/env node
/**
 * Install-time build of the optional BLAS addon (native/ → build/seqsch_blas.node) with node-gyp: OpenBLAS
 * matmuls (native/blas.cc) and the fused inference kernels (native/fused.cc).
 *
 * It never fails the install: when there is no compiler, no OpenBLAS (Debian: libopenblas-dev) or no
 * node-gyp, it prints one line saying so and exits 0, and seqsch runs on plain wasm. The full
 * compiler output goes to build/native-build.log. Set SEQSCH_BLAS_BUILD=0 to skip the build.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const outDir = join(root, 'build');
const target = join(outDir, 'seqsch_blas.node');
const log = join(outDir, 'native-build.log');
const say = (msg) => console.log(`seqsch: ${msg}`);

function nodeGypCommand() {
  // npm exports the path of its bundled node-gyp to scripts; otherwise look next to this node.
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  for (const c of candidates) if (existsSync(c)) return [process.execPath, c];
  const probe = spawnSync('node-gyp', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? ['node-gyp'] : undefined;
}

/** Why the build failed, in a few words, from the compiler output. */
function diagnose(out) {
  if (/cblas\.h: No such file|cannot find -lopenblas/.test(out))
    return 'OpenBLAS not found (Debian/Ubuntu: apt-get install libopenblas-dev)';
  if (
    /No such file or directory: '[^']*(g\+\+|c\+\+|gcc|cc|make)'|(g\+\+|c\+\+|make): (not found|command not found)|spawn (g\+\+|c\+\+|make) ENOENT/.test(
      out,
    )
  )
    return 'no C++ compiler or make (Debian/Ubuntu: apt-get install g++ make)';
  if (/node_api\.h: No such file|\bENOTFOUND\b|\bEAI_AGAIN\b|getaddrinfo/.test(out))
    return 'Node headers unavailable (node-gyp could not find or download them)';
  if (/python/i.test(out) && /not found|Could not find any Python/i.test(out)) return 'node-gyp found no python3';
  return `node-gyp failed (see build/native-build.log)`;
}

function main() {
  if (process.env.SEQSCH_BLAS_BUILD === '0')
    return say('BLAS addon build skipped (SEQSCH_BLAS_BUILD=0); using plain wasm');
  mkdirSync(outDir, { recursive: true });
  // A binary from an earlier build must not outlive a failed rebuild (it may not match the sources).
  rmSync(target, { force: true });
  const gyp = nodeGypCommand();
  if (!gyp) return say('BLAS addon not built: node-gyp not found; using plain wasm');
  const args = [...gyp.slice(1), 'rebuild', '--directory', nativeDir];
  // Use the headers of the running node when they are installed next to it (no download needed).
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  const r = spawnSync(gyp[0], args, { encoding: 'utf8', timeout: 300_000, env: { ...process.env, JOBS: '2' } });
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
  writeFileSync(log, out);
  const built = join(nativeDir, 'build', 'Release', 'seqsch_blas.node');
  if (r.status !== 0 || !existsSync(built)) return say(`BLAS addon not built: ${diagnose(out)}; using plain wasm`);
  copyFileSync(built, target);
  // Load it in a child process: a missing libopenblas.so at run time shows up here, not in the build.
  const check = spawnSync(
    process.execPath,
    [
      '-e',
      `const a=require(${JSON.stringify(target)});const i=a.info();console.log(i.corename+' '+i.threads+' '+(a.fusedIsa||'none'))`,
    ],
    { encoding: 'utf8' },
  );
  if (check.status !== 0) {
    rmSync(target, { force: true });
    return say(
      `BLAS addon built but does not load (${(check.stderr.split('\n').find((l) => /Error/.test(l)) ?? '').trim()}); using plain wasm`,
    );
  }
  const [core, threads, isa] = check.stdout.trim().split(' ');
  say(
    `BLAS addon built: build/seqsch_blas.node (OpenBLAS ${core}, ${threads} threads; fused inference kernels: ${isa})`,
  );
}

try {
  main();
} catch (e) {
  say(`BLAS addon not built: ${e instanceof Error ? e.message : e}; using plain wasm`);
}
process.exit(0);
