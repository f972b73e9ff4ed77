#!/usr/bin/env node
/**
 * Install-time build of the native addon (native/ → build/seqsch_blas.node) with node-gyp: the matmuls
 * (native/blas.cc) and the fused inference kernels (native/fused.cc).
 *
 * Products run on OpenBLAS when a probe compile finds it (cblas.h and -lopenblas; Debian: libopenblas-dev), else on
 * the addon's own packed GEMM (native/own-gemm.h), which needs only a C++ compiler; SEQSCH_OPENBLAS=0 builds without
 * OpenBLAS even where it is installed (to compare the two). An OpenBLAS build that fails is retried without it.
 * It never fails the install: when there is no compiler or no node-gyp, it prints one line saying so and exits 0,
 * and seqsch runs on plain wasm. The full compiler output goes to build/native-build.log. Set SEQSCH_BLAS_BUILD=0 to
 * skip the build.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/**
 * Whether OpenBLAS can be compiled against, linked and run: a one-product program built with the compiler node-gyp
 * will use ($CXX, else c++). Returns undefined when it can, else why not (for the build line).
 */
function probeOpenBlas() {
  if (process.env.SEQSCH_OPENBLAS === '0') return 'SEQSCH_OPENBLAS=0';
  const dir = mkdtempSync(join(tmpdir(), 'seqsch-blas-probe-'));
  try {
    const src = join(dir, 'probe.cc'),
      exe = join(dir, 'probe');
    writeFileSync(
      src,
      '#include <cblas.h>\nint main() { float a = 2, b = 3, c = 0;\n' +
        '  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);\n' +
        '  return c == 6 ? 0 : 1; }\n',
    );
    const cxx = process.env.CXX || 'c++';
    const cc = spawnSync(cxx, [src, '-o', exe, '-lopenblas'], { encoding: 'utf8', timeout: 60_000 });
    if (cc.error) return `no ${cxx}`;
    if (cc.status !== 0)
      return /cblas\.h/.test(cc.stderr) ? 'cblas.h not found' : 'libopenblas not found by the linker';
    const run = spawnSync(exe, [], { encoding: 'utf8', timeout: 60_000 });
    return run.status === 0 ? undefined : 'the probe linked against libopenblas but did not run';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One node-gyp rebuild with or without OpenBLAS; returns the combined output and whether the addon came out. */
function gypBuild(gyp, openblas) {
  const args = [...gyp.slice(1), 'rebuild', '--directory', nativeDir];
  // Use the headers of the running node when they are installed next to it (no download needed).
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  const env = { ...process.env, JOBS: '2', SEQSCH_GYP_OPENBLAS: openblas ? '1' : '0' };
  const r = spawnSync(gyp[0], args, { encoding: 'utf8', timeout: 300_000, env });
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
  const built = join(nativeDir, 'build', 'Release', 'seqsch_blas.node');
  return { out, ok: r.status === 0 && existsSync(built), built };
}

function main() {
  if (process.env.SEQSCH_BLAS_BUILD === '0')
    return say('native addon build skipped (SEQSCH_BLAS_BUILD=0); using plain wasm');
  mkdirSync(outDir, { recursive: true });
  // A binary from an earlier build must not outlive a failed rebuild (it may not match the sources).
  rmSync(target, { force: true });
  const gyp = nodeGypCommand();
  if (!gyp) return say('native addon not built: node-gyp not found; using plain wasm');
  const noBlas = probeOpenBlas();
  let build = gypBuild(gyp, noBlas === undefined);
  let log_ = build.out;
  let why = noBlas;
  if (!build.ok && noBlas === undefined) {
    // OpenBLAS passed the probe but the addon did not build with it: try the own GEMM before giving up
    why = `the OpenBLAS build failed: ${diagnose(build.out)}`;
    build = gypBuild(gyp, false);
    log_ += `\n---- retry without OpenBLAS ----\n${build.out}`;
  }
  writeFileSync(log, log_);
  const built = build.built;
  if (!build.ok) return say(`native addon not built: ${diagnose(build.out)}; using plain wasm`);
  // copy then rename: a process that has the old addon loaded keeps its (unchanged) file; writing into it would not
  copyFileSync(built, `${target}.tmp`);
  renameSync(`${target}.tmp`, target);
  // Load it in a child process: a missing libopenblas.so at run time shows up here, not in the build.
  const check = spawnSync(
    process.execPath,
    [
      '-e',
      `const a=require(${JSON.stringify(target)});const i=a.info();console.log([i.gemm,i.corename,i.ownIsa,a.fusedIsa||'none'].join('|'))`,
    ],
    { encoding: 'utf8' },
  );
  if (check.status !== 0) {
    rmSync(target, { force: true });
    return say(
      `native addon built but does not load (${(check.stderr.split('\n').find((l) => /Error/.test(l)) ?? '').trim()}); using plain wasm`,
    );
  }
  const [gemm, core, ownIsa, isa] = check.stdout.trim().split('|');
  const products = gemm === 'openblas' ? `OpenBLAS ${core}` : `own packed GEMM ${ownIsa} (OpenBLAS not used: ${why})`;
  say(`native addon built: build/seqsch_blas.node (matmuls: ${products}; fused inference kernels: ${isa})`);
}

try {
  main();
} catch (e) {
  say(`native addon not built: ${e instanceof Error ? e.message : e}; using plain wasm`);
}
process.exit(0);
