/**
 * The engines `npm run bench:peer` alternates, each a command line with its environment: ours (the CLI's
 * engine, bench/peer/ours.ts), and the PyTorch peer (bench/peer/llama.py) under the settings a careful user
 * would try. Why these settings (measured on the 2-core project machine; docs/cpu-engine.md):
 * - torch's OpenMP threads spin between ops by default (GOMP_SPINCOUNT), and Debian's torch calls OpenBLAS,
 *   which starts threads of its own inside them: on 2 cores that over-subscribes the machine.
 *   OMP_WAIT_POLICY=PASSIVE puts idle OpenMP threads to sleep; OPENBLAS_NUM_THREADS=1 keeps OpenBLAS in the
 *   calling thread.
 * - glibc returns freed memory above M_TRIM_THRESHOLD to the OS and serves big blocks with mmap, so every
 *   step re-faults its activation pages; raising both thresholds keeps them mapped (ours never unmaps: the
 *   wasm heap only grows).
 * Variables that would change a setting are removed first, so `torch-default` is torch as installed.
 * llama.cpp (bench/peer/llamacpp/run.ts, node-llama-cpp 3.21.1 installed on demand: `npm run bench:peer:install`):
 * F32 and Q8_0 GGUFs written by our writer, 1 and 2 threads; best = the faster thread count per round and type.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PeerEngine {
  name: string;
  /** a fair setting of PyTorch: best-tuned = the fastest of these per round */
  tuned: boolean;
  /** executable, leading arguments, environment */
  command: [string, string[], NodeJS.ProcessEnv];
  /** what --model gets: the HF folder (default) or a GGUF file of this weight type */
  input?: 'f32' | 'q8_0';
  /** llama.cpp's settings of one weight type: best = the fastest of these per round */
  llamacpp?: 'f32' | 'q8_0';
}

/** Where node-llama-cpp is installed on demand; llama.cpp engines exist only when it is there. */
export const LLAMACPP_DIR = 'bench/peer/llamacpp';
export function llamacppInstalled(root: string): boolean {
  return existsSync(join(root, LLAMACPP_DIR, 'node_modules/node-llama-cpp/package.json'));
}

/** Variables that set threads or malloc behaviour; cleared so each engine gets exactly its own settings. */
const SETTINGS =
  /^(OMP_|GOMP_|KMP_|OPENBLAS_NUM_THREADS$|MKL_NUM_THREADS$|MALLOC_|SEQSCH_THREADS$|SEQSCH_BLAS_THREADS$)/;

function baseEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !SETTINGS.test(k)));
}

/** glibc: keep freed memory (up to 1 GiB) mapped instead of trimming/unmapping it after every step. */
const MALLOC_KEEP = { MALLOC_TRIM_THRESHOLD_: String(1 << 30), MALLOC_MMAP_THRESHOLD_: String(1 << 30) };

/** The engines available here: ours always, PyTorch's with a `python` that imports torch, llama.cpp's when installed. */
export function peerEngines({ python, root }: { python?: string; root: string }): PeerEngine[] {
  const ours = (env: Record<string, string>, flags: string[] = []): [string, string[], NodeJS.ProcessEnv] => [
    process.execPath,
    ['--import', 'tsx', join(root, 'bench/peer/ours.ts'), ...flags],
    { ...baseEnv(), ...env },
  ];
  const torch = (threads: number, env: Record<string, string>): [string, string[], NodeJS.ProcessEnv] => [
    python!,
    [join(root, 'bench/peer/llama.py'), ...(threads > 0 ? ['--threads', String(threads)] : [])],
    { ...baseEnv(), ...env },
  ];
  const llamacpp = (type: 'f32' | 'q8_0', threads: number): PeerEngine => ({
    name: `llamacpp-${type}-${threads}t`,
    tuned: false,
    input: type,
    llamacpp: type,
    command: [
      process.execPath,
      ['--import', 'tsx', join(root, LLAMACPP_DIR, 'run.ts'), '--threads', String(threads)],
      baseEnv(),
    ],
  });
  const llama = llamacppInstalled(root)
    ? [llamacpp('f32', 1), llamacpp('f32', 2), llamacpp('q8_0', 1), llamacpp('q8_0', 2)]
    : [];
  const ourEngines: PeerEngine[] = [
    { name: 'ours', tuned: false, command: ours({}) },
    { name: 'ours-1t', tuned: false, command: ours({ SEQSCH_THREADS: '1' }) },
    // this work's changes off, for side-by-side figures: the pool that never goes solo; and per-op kernels too
    { name: 'ours-static', tuned: false, command: ours({}, ['--static-pool']) },
    { name: 'ours-perop', tuned: false, command: ours({}, ['--static-pool', '--per-op']) },
    // a prefill's last layer over every position (then the last rows taken), as before the last-rows-only layer
    { name: 'ours-allrows', tuned: false, command: ours({}, ['--all-rows']) },
  ];
  const torchEngines: PeerEngine[] = [
    {
      name: 'torch-1t',
      tuned: true,
      command: torch(1, { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', ...MALLOC_KEEP }),
    },
    {
      name: 'torch-2t',
      tuned: true,
      command: torch(2, {
        OMP_NUM_THREADS: '2',
        OMP_WAIT_POLICY: 'PASSIVE',
        OPENBLAS_NUM_THREADS: '1',
        ...MALLOC_KEEP,
      }),
    },
    { name: 'torch-default', tuned: false, command: torch(0, {}) },
  ];
  return [...ourEngines, ...(python ? torchEngines : []), ...llama];
}
