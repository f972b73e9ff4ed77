/**
 * `npm run bench:peer`: our CPU engine against PyTorch and llama.cpp, side by side, on the same checkpoints.
 *
 * One peer is bench/peer/llama.py, a small PyTorch LLaMA of this project's own that loads the same HF
 * safetensors. It runs only where a python3 with torch is importable (Debian: apt-get install python3-torch;
 * SEQSCH_PYTHON picks the interpreter). The other is llama.cpp through node-llama-cpp 3.21.1
 * (bench/peer/llamacpp/run.ts; installed on demand by `npm run bench:peer:install`), on F32 and Q8_0 GGUFs that our
 * own writer (src/model/gguf) makes of each checkpoint. With neither peer the benchmark prints one line and exits 0.
 *
 * 1. Correctness first, on ckpts/tiny-v3 (the embedded default), the bench model (the 5.2M LLaMA of
 *    bench/engine.ts) and a GQA model with tied embeddings: greedy tokens identical, and the logits of a
 *    full forward over prompt + generated tokens within 1e-4 of the largest logit (real positions) — against
 *    torch; against llama.cpp F32, greedy tokens identical (token ids in, no text); Q8_0's agreement is reported.
 * 2. Timing: rounds of alternating processes (ours, then each PyTorch setting; the order rotates every
 *    round), each process loading the model and timing generate() at batch 1/16/64 (prompt 64, 128 new
 *    tokens, greedy, no EOS stop) and the 128 × 80 prefill (left-padded, one token), `reps` runs per point
 *    after a warm-up (the same run, repeated until --warmup seconds have passed, once by default: our JIT and
 *    torch's allocator settle over several runs, docs/cpu-engine.md); a run's figure is the median of its reps, a point's the median over rounds. The
 *    machine's 1-minute load (/proc/loadavg) is recorded before every run.
 * PyTorch settings (see docs/cpu-engine.md for why): `torch-1t` one thread; `torch-2t` two threads with
 * OMP_WAIT_POLICY=PASSIVE and OpenBLAS single-threaded (its OpenMP threads otherwise spin between ops and
 * OpenBLAS adds threads inside them); both with glibc's malloc trimming and mmap thresholds raised (freed
 * activations stay mapped). Best-tuned = the faster of the two in each round. `torch-default`: torch as
 * installed, no settings. `--busy N` runs N busy-loop processes alongside for the whole benchmark.
 * Options: --models tiny-v3,bench  --rounds 5  --reps 3  --batches 1,16,64  --prompt 64  --new 128
 * --prefill 128x80  --engines ours,torch-1t,torch-2t,torch-default,llamacpp-f32-1t,llamacpp-f32-2t,llamacpp-q8_0-1t,
 * llamacpp-q8_0-2t (+ ours-1t; those not installed are left out)  --busy 0  --warmup 0  --check-only
 * --skip-check  --quick  --out FILE.json  --json. Numbers only; nothing here is a test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_MODEL, fmt, table } from './lib.js';
import { LLAMACPP_DIR, llamacppInstalled, peerEngines, type PeerEngine } from './peer/engines.js';
import type { CheckSpec, TimeResult, TimeSpec } from './peer/spec.js';
import { peerPrompts } from './peer/spec.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
function opt(name: string, def: string): string {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  if (i + 1 >= argv.length) throw new Error(`bench:peer: --${name} needs a value`);
  return argv[i + 1];
}
const ints = (name: string, def: string) =>
  opt(name, def)
    .split(/[,x]/)
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`bench:peer: --${name} takes positive integers, got '${opt(name, def)}'`);
      return n;
    });
const quick = flag('quick');
const jsonOut = flag('json');
const models = opt('models', 'tiny-v3,bench').split(',');
const rounds = quick ? 1 : ints('rounds', '5')[0];
const reps = quick ? 1 : ints('reps', '3')[0];
const busy = Number(opt('busy', '0'));
const warmup = Number(opt('warmup', '0'));
if (!(warmup >= 0)) throw new Error(`bench:peer: --warmup takes seconds ≥ 0, got '${opt('warmup', '0')}'`);
const timeSpec: TimeSpec = {
  batches: ints('batches', '1,16,64'),
  promptLen: ints('prompt', '64')[0],
  newTokens: quick ? 32 : ints('new', '128')[0],
  prefill: opt('prefill', '128x80') === 'none' ? null : (ints('prefill', '128x80') as [number, number]),
  reps,
  warmupSeconds: warmup,
};
const log = (s = '') => console.log(s);

// ---- the peer: a python3 that imports torch ---------------------------------------------------------
function findPython(): { python: string; info: Record<string, unknown> } | undefined {
  const candidates = [process.env.SEQSCH_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const python of candidates) {
    const r = spawnSync(python, [join(root, 'bench/peer/llama.py'), 'info'], { encoding: 'utf8' });
    if (r.status === 0) return { python, info: JSON.parse(r.stdout.trim().split('\n').pop()!) };
  }
  return undefined;
}
const peer = findPython();
const hasLlamacpp = llamacppInstalled(root);
const noTorch = 'no python3 with torch importable (Debian: apt-get install python3-torch; or set SEQSCH_PYTHON)';
const noLlamacpp = `llama.cpp not installed (npm run bench:peer:install puts node-llama-cpp in ${LLAMACPP_DIR})`;
if (!peer && !hasLlamacpp) {
  log(`bench:peer: skipped — ${noTorch}; ${noLlamacpp}`);
  process.exit(0);
}
if (!peer) log(`bench:peer: PyTorch left out — ${noTorch}`);
if (!hasLlamacpp) log(`bench:peer: llama.cpp left out — ${noLlamacpp}`);

// ---- busy-loop processes (a machine someone else is using) -----------------------------------------
const loops: ChildProcess[] = [];
const stopLoops = () => loops.forEach((c) => c.kill('SIGKILL'));
process.on('exit', stopLoops);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
for (let i = 0; i < busy; i++) loops.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));

// ---- the checkpoints: tiny-v3 from the repo, the bench and GQA models written to a scratch folder ----
const tf = await import('@tensorflow/tfjs-core');
const { initBackend } = await import('../src/core/backend.js');
const { blasStatus } = await import('../src/kernels/blas.js');
const { Llama } = await import('../src/model/llama.js');
const { saveLlama, loadLlama } = await import('../src/model/checkpoint.js');
const { writeLlamaGguf } = await import('../src/model/gguf/export.js');
const { loadModelTokenizer } = await import('../src/model/gguf/index.js');
const { remapTokenizer } = await import('../src/tokenizer/idmap.js');
const { llamaTokenizer } = await import('../src/tokenizer/llama.js');
await initBackend('wasm');
const scratch = mkdtempSync(join(tmpdir(), 'seqsch-peer-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const dirs: Record<string, string> = { 'tiny-v3': join(root, 'ckpts/tiny-v3') };
const built: Record<string, Parameters<typeof Llama.random>[0]> = {
  bench: BENCH_MODEL,
  gqa: { ...BENCH_MODEL, numKvHeads: 2, tieWordEmbeddings: true, vocabSize: 1000 },
};
for (const [name, config] of Object.entries(built)) {
  const m = Llama.random(config, 0);
  dirs[name] = join(scratch, name);
  saveLlama(m, dirs[name]);
  m.dispose();
}
for (const m of models) if (!dirs[m]) throw new Error(`bench:peer: unknown model '${m}' (tiny-v3 | bench | gqa)`);
const vocab = (name: string) =>
  (JSON.parse(readFileSync(join(dirs[name], 'config.json'), 'utf8')) as { vocab_size: number }).vocab_size;
/** The GGUF (our writer) of model `name` as `type`, written once; a random model's vocabulary: LLaMA-1's first V ids. */
const ggufs = new Map<string, string>();
async function gguf(name: string, type: 'f32' | 'q8_0'): Promise<string> {
  const key = `${name}.${type}`;
  if (ggufs.has(key)) return ggufs.get(key)!;
  const file = join(scratch, `${key}.gguf`);
  const m = loadLlama(dirs[name]);
  const tok =
    name === 'tiny-v3'
      ? await loadModelTokenizer(dirs[name])
      : remapTokenizer(
          llamaTokenizer(),
          Array.from({ length: m.config.vocabSize }, (_, i) => i),
        );
  writeLlamaGguf(m, tok, file, type, name);
  m.dispose();
  ggufs.set(key, file);
  return file;
}
/** What an engine's --model gets for `name`: the HF folder, or the GGUF of its weight type. */
const modelPath = async (e: PeerEngine, name: string) => (e.input ? gguf(name, e.input) : dirs[name]);

const all = peerEngines({ python: peer?.python, root });
const engines = all.filter((e) =>
  opt(
    'engines',
    'ours,torch-1t,torch-2t,torch-default,llamacpp-f32-1t,llamacpp-f32-2t,llamacpp-q8_0-1t,llamacpp-q8_0-2t',
  )
    .split(',')
    .includes(e.name),
);
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  openblas: blasStatus().corename ?? 'provider off',
  torch: peer?.info ?? null,
  llamacpp: hasLlamacpp
    ? (
        JSON.parse(readFileSync(join(root, LLAMACPP_DIR, 'node_modules/node-llama-cpp/package.json'), 'utf8')) as {
          version: string;
        }
      ).version
    : null,
  busyLoops: busy,
};
log(
  `# bench:peer — ${machine.cpu}, ${machine.cores} cores; ours: node ${machine.node}, wasm + native (OpenBLAS ${machine.openblas}); torch: ${peer ? `${peer.python}, torch ${String(peer.info.torch)}` : 'none'}; llama.cpp: ${machine.llamacpp ? `node-llama-cpp ${machine.llamacpp}` : 'none'}`,
);
log(
  `# ${busy} busy-loop process(es) alongside; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

/** Run one engine's command; its last stdout line is JSON. A failure ends the benchmark with the engine's last lines. */
function runEngine(e: PeerEngine, args: string[]): unknown {
  const [cmd, pre, env] = e.command;
  const r = spawnSync(cmd, [...pre, ...args], { encoding: 'utf8', env, cwd: root, maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    // exit here rather than throw: the wasm backend's uncaught-exception handler would print its whole source
    console.error(
      `bench:peer: ${e.name} ${args[0]} failed (exit ${r.status}):\n${(r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n')}`,
    );
    process.exit(1);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// ---- 1. correctness ---------------------------------------------------------------------------------
interface CheckResult {
  model: string;
  tokensEqual: boolean;
  rows: number;
  newTokens: number;
  maxAbsDiff: number;
  maxAbsLogit: number;
  relDiff: number;
  ok: boolean;
}
const checks: CheckResult[] = [];
if (!flag('skip-check')) {
  const ours = engines.find((e) => e.name === 'ours') ?? all[0];
  const torch = all.find((e) => e.name === 'torch-1t');
  const llamas = all.filter((e) => e.llamacpp && e.name.endsWith('-1t'));
  for (const model of [...new Set(['tiny-v3', 'bench', 'gqa', ...models])]) {
    const V = vocab(model);
    // four ragged prompts (left padding) of 5…40 tokens, 24 greedy tokens each
    const spec: CheckSpec = { prompts: [40, 5, 23, 12].map((T, r) => peerPrompts(r + 1, T, V)[r]), maxNew: 24 };
    const specFile = join(scratch, `check-${model}.json`);
    writeFileSync(specFile, JSON.stringify(spec));
    const out = async (e: PeerEngine) => {
      const file = join(scratch, `logits-${model}-${e.name}.bin`);
      const j = runEngine(e, ['check', '--model', await modelPath(e, model), '--spec', specFile, '--out', file]) as {
        tokens: number[][];
        shape: number[];
      };
      return { ...j, logits: new Float32Array(readFileSync(file).buffer.slice(0)) };
    };
    const a = await out(ours);
    // llama.cpp: token ids in, greedy token ids out (no logits); F32 must agree, Q8_0's agreement is reported
    for (const e of llamas) {
      const j = runEngine(e, ['check', '--model', await modelPath(e, model), '--spec', specFile]) as {
        tokens: number[][];
      };
      // where a row first differs, ours' margin between its token and llama.cpp's (ours' full-forward logits): a
      // divergence at a near-tie (margin ≤ 1e-4 of the largest |logit|, the torch check's tolerance) is rounding
      const [, T, V] = a.shape;
      const rows = j.tokens.map((row, r) => {
        const k = row.findIndex((t, i) => t !== a.tokens[r][i]);
        if (k < 0) return { same: row.length, margin: 0, scale: 1 };
        const len = spec.prompts[r].length + spec.maxNew;
        const at = (r * T + (T - len) + spec.prompts[r].length + k - 1) * V;
        let scale = 0;
        for (let v = 0; v < V; v++) scale = Math.max(scale, Math.abs(a.logits[at + v]));
        return { same: k, margin: a.logits[at + a.tokens[r][k]] - a.logits[at + row[k]], scale };
      });
      const identical = rows.every((x, r) => x.same === a.tokens[r].length);
      const worst = Math.max(...rows.map((x) => x.margin / x.scale));
      const ok = identical || worst <= 1e-4 || e.llamacpp === 'q8_0';
      checks.push({
        model: `${model} vs ${e.name}`,
        tokensEqual: identical,
        rows: spec.prompts.length,
        newTokens: spec.maxNew,
        maxAbsDiff: NaN,
        maxAbsLogit: NaN,
        relDiff: identical ? 0 : worst,
        ok,
      });
      log(
        `check ${model} vs ${e.name}: greedy tokens ${identical ? 'identical' : `DIFFER (same first ${rows.map((x) => x.same).join(', ')} of ${spec.maxNew} per row; at the first difference ours' margin over llama.cpp's token ≤ ${worst.toExponential(2)} of the largest |logit|, limit 1e-4: ${worst <= 1e-4 ? 'a near-tie' : 'not a tie'})`} (${spec.prompts.length} rows × ${spec.maxNew}) ${ok ? 'ok' : 'FAILED'}${e.llamacpp === 'q8_0' ? ' (Q8_0: reported, not required)' : ''}`,
      );
    }
    if (!torch) continue;
    const b = await out(torch);
    const tokensEqual = JSON.stringify(a.tokens) === JSON.stringify(b.tokens);
    let maxAbsDiff = 0,
      maxAbsLogit = 0;
    if (tokensEqual && a.logits.length === b.logits.length) {
      // real positions only: row b's sequence is prompt + tokens, left-padded to shape[1]
      const [B, T, Vv] = b.shape;
      for (let r = 0; r < B; r++) {
        const len = spec.prompts[r].length + spec.maxNew;
        for (let t = T - len; t < T; t++) {
          for (let v = 0; v < Vv; v++) {
            const i = (r * T + t) * Vv + v;
            maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a.logits[i] - b.logits[i]));
            maxAbsLogit = Math.max(maxAbsLogit, Math.abs(b.logits[i]));
          }
        }
      }
    }
    const relDiff = tokensEqual ? maxAbsDiff / maxAbsLogit : NaN;
    const ok = tokensEqual && relDiff <= 1e-4;
    checks.push({
      model,
      tokensEqual,
      rows: spec.prompts.length,
      newTokens: spec.maxNew,
      maxAbsDiff,
      maxAbsLogit,
      relDiff,
      ok,
    });
    log(
      `check ${model}: greedy tokens ${tokensEqual ? 'identical' : 'DIFFER'} (${spec.prompts.length} rows × ${spec.maxNew}); logits max |ours − torch| = ${maxAbsDiff.toExponential(2)} = ${relDiff.toExponential(2)} of the largest |logit| (limit 1e-4) ${ok ? 'ok' : 'FAILED'}`,
    );
  }
  if (checks.some((c) => !c.ok)) {
    log('bench:peer: the correctness check failed; no timing (the two engines do not compute the same thing)');
    process.exit(1);
  }
}
if (flag('check-only')) {
  if (jsonOut) log(JSON.stringify({ machine, checks }));
  process.exit(0);
}

// ---- 2. timing: alternating processes ----------------------------------------------------------------
interface Run {
  model: string;
  round: number;
  engine: string;
  load: number;
  loadAfter: number;
  seconds: Record<string, number>;
  pool?: TimeResult['pool'];
}
const runs: Run[] = [];
const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const points = [...timeSpec.batches.map((B) => `b${B}`), ...(timeSpec.prefill ? ['prefill'] : [])];
const summary: Record<string, Record<string, unknown>> = {};
for (const model of models) {
  const specFile = join(scratch, `time-${model}.json`);
  writeFileSync(specFile, JSON.stringify(timeSpec));
  for (let round = 0; round < rounds; round++) {
    const order = engines.map((_, i) => engines[(i + round) % engines.length]);
    for (const e of order) {
      const load = loadavg()[0];
      const res = runEngine(e, ['time', '--model', await modelPath(e, model), '--spec', specFile]) as TimeResult;
      const seconds: Record<string, number> = {};
      for (const B of timeSpec.batches) seconds[`b${B}`] = median(res.decode[B]);
      if (res.prefill) seconds.prefill = median(res.prefill);
      const run: Run = { model, round, engine: e.name, load, loadAfter: loadavg()[0], seconds, pool: res.pool };
      runs.push(run);
      const pool = res.pool ? `  pool: ${res.pool.shared} shared (${res.pool.late} late), ${res.pool.solo} solo` : '';
      log(
        `run ${model} round ${round + 1}/${rounds} ${e.name.padEnd(13)} load ${load.toFixed(2)}→${run.loadAfter.toFixed(2)}  ${points.map((p) => `${p} ${fmt(seconds[p] * 1000)} ms`).join('  ')}${pool}`,
      );
    }
  }
  // per point: medians over rounds, and the median of per-round ratios (adjacent processes share the machine's state)
  const rows: (string | number)[][] = [];
  const of = (engine: string) => runs.filter((r) => r.model === model && r.engine === engine);
  const perModel: Record<string, unknown> = {};
  for (const p of points) {
    const med = (engine: string) => median(of(engine).map((r) => r.seconds[p]));
    const rate = (s: number) =>
      p === 'prefill' ? `${fmt(s * 1000)} ms` : `${fmt((Number(p.slice(1)) * timeSpec.newTokens) / s)} tok/s`;
    const tuned = engines.filter((e) => e.tuned).map((e) => e.name);
    const ratios = (names: string[]) =>
      Array.from({ length: rounds }, (_, r) => {
        const ours = of('ours')[r]?.seconds[p];
        const theirs = Math.min(...names.map((n) => of(n)[r]?.seconds[p] ?? Infinity));
        return theirs / ours;
      }).filter(Number.isFinite);
    const best = ratios(tuned),
      def = ratios(['torch-default']);
    // llama.cpp: its best of 1 and 2 threads in each round, per weight type
    const llama = (type: 'f32' | 'q8_0') => ratios(engines.filter((e) => e.llamacpp === type).map((e) => e.name));
    const lf = llama('f32'),
      lq = llama('q8_0');
    const cell = (xs: number[]) =>
      xs.length ? `${fmt(median(xs))}× (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : '—';
    const loads = runs.filter((r) => r.model === model).map((r) => r.load);
    perModel[p] = {
      medianSeconds: Object.fromEntries(engines.map((e) => [e.name, med(e.name)])),
      oursOverBestTuned: best.length ? median(best) : null,
      oursOverBestTunedRange: best.length ? [Math.min(...best), Math.max(...best)] : null,
      oursOverDefault: def.length ? median(def) : null,
      oursOverLlamacppF32: lf.length ? median(lf) : null,
      oursOverLlamacppF32Range: lf.length ? [Math.min(...lf), Math.max(...lf)] : null,
      oursOverLlamacppQ8_0: lq.length ? median(lq) : null,
      oursOverLlamacppQ8_0Range: lq.length ? [Math.min(...lq), Math.max(...lq)] : null,
    };
    rows.push([
      p === 'prefill' ? `prefill ${timeSpec.prefill!.join(' × ')}` : `batch ${p.slice(1)}`,
      ...engines.map((e) => rate(med(e.name))),
      best.length ? `${fmt(median(best))}× (${fmt(Math.min(...best))}–${fmt(Math.max(...best))})` : '—',
      def.length ? `${fmt(median(def))}×` : '—',
      cell(lf),
      cell(lq),
      `${fmt(Math.min(...loads))}–${fmt(Math.max(...loads))}`,
    ]);
  }
  summary[model] = perModel;
  log();
  log(
    `## ${model}: median of ${rounds} round(s), ${reps} rep(s) per run; prompt ${timeSpec.promptLen}, ${timeSpec.newTokens} new tokens (tok/s = batch × new tokens ÷ the whole generate call)`,
  );
  log(
    table(
      [
        'point',
        ...engines.map((e) => e.name),
        'ours ÷ best-tuned torch (range)',
        'ours ÷ torch default',
        'ours ÷ llama.cpp F32 (range)',
        'ours ÷ llama.cpp Q8_0 (range)',
        'load',
      ],
      rows,
    ),
  );
  log();
}
const result = { machine, spec: timeSpec, rounds, checks, summary, runs };
if (argv.includes('--out')) writeFileSync(opt('out', ''), JSON.stringify(result, null, 1));
if (jsonOut) log(JSON.stringify(result));
// stop the busy loops now: running children keep the event loop alive, so 'exit' (scratch folder removal) would never come
stopLoops();
tf.disposeVariables();
