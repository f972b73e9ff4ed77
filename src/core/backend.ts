/**
 * Choose and initialise the TensorFlow.js backend.
 *
 * Backends, fastest first: `tensorflow` (libtensorflow through @tensorflow/tfjs-node-gpu or
 * @tensorflow/tfjs-node, optional dependencies that only install where libtensorflow can be
 * downloaded), `webgpu` (@tensorflow/tfjs-backend-webgpu on Dawn through the `webgpu` package, used
 * when a GPU adapter exists), `wasm` (XNNPACK; the CPU default) and `cpu` (pure JS, slowest).
 * `auto` tries them in that order and reports which one it took and why the others were passed over.
 * This module does not pick model sizes or flags of the model; it only makes `tf` usable.
 */
import { existsSync } from 'node:fs';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

export interface BackendInfo {
  /** the tfjs backend now active */
  name: BackendName;
  /** why this backend was chosen (and why faster ones were not) */
  reason: string;
  /** name of the GPU adapter, when one was found */
  gpuAdapter?: string;
  /** extra notes from backend set-up, e.g. which matmul provider runs on CPU */
  notes: string[];
}

let active: BackendInfo | undefined;

/**
 * tfjs, loaded on first use so that commands which never touch a tensor (`--help`, `simulate`) start without it.
 * tfjs-core's Node bundle registers neither gradients nor the chained `tensor.op()` methods; the
 * @tensorflow/tfjs umbrella package does both (and brings the cpu backend).
 */
async function tfjs(): Promise<typeof import('@tensorflow/tfjs-core')> {
  await import('@tensorflow/tfjs');
  return import('@tensorflow/tfjs-core');
}

/** Hooks that run after a backend is initialised (e.g. the BLAS kernel provider for wasm/cpu). */
type BackendHook = (name: BackendName) => Promise<string | undefined>;
const hooks: BackendHook[] = [];
export function onBackendReady(hook: BackendHook): void {
  hooks.push(hook);
}
onBackendReady((name) => import('../kernels/hook.js').then((m) => m.blasBackendHook(name)));

async function tryTensorflow(): Promise<string> {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await (await tfjs()).setBackend('tensorflow')) return pkg;
      errors.push(`${pkg}: loaded but backend 'tensorflow' did not initialise`);
    } catch (e) {
      errors.push(`${pkg}: ${firstLine(e)}`);
    }
  }
  throw new Error(errors.join('; '));
}

/** Find a WebGPU adapter through Dawn; returns its description, or throws saying why not. */
export async function findGpuAdapter(): Promise<string> {
  const g = globalThis as { navigator?: { gpu?: { requestAdapter: () => Promise<unknown> } } };
  if (!g.navigator?.gpu) {
    let webgpu: { create: (flags: string[]) => unknown };
    try {
      webgpu = (await import('webgpu')) as unknown as typeof webgpu;
    } catch (e) {
      throw new Error(`package 'webgpu' (Dawn) not loadable: ${firstLine(e)}`);
    }
    // The webgpu backend module checks navigator.gpu when it is imported, so this must come first.
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...(g.navigator ?? {}), gpu: webgpu.create([]) },
      configurable: true,
      writable: true,
    });
  }
  const adapter = (await g.navigator!.gpu!.requestAdapter()) as {
    info?: { vendor?: string; architecture?: string; description?: string };
  } | null;
  if (!adapter) throw new Error('Dawn found no GPU adapter');
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown GPU';
}

async function tryWebgpu(): Promise<string> {
  const adapter = await findGpuAdapter();
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await (await tfjs()).setBackend('webgpu'))) throw new Error('backend webgpu did not initialise');
  return adapter;
}

async function tryWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await (await tfjs()).setBackend('wasm'))) throw new Error('backend wasm did not initialise');
  await import('../kernels/wasm-extra.js');
}

async function tryCpu(): Promise<void> {
  if (!(await (await tfjs()).setBackend('cpu'))) throw new Error('backend cpu did not initialise');
}

/** A GPU device node exists (probing Dawn without one only prints Vulkan loader warnings). */
export function gpuDevicePresent(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/dev/dri') || process.platform !== 'linux';
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

/**
 * Initialise `choice` (or the fastest available with `auto`). Idempotent for the same choice.
 * Throws with the reason when an explicitly requested backend cannot start.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new Error(`unknown backend '${choice}' (choose one of ${BACKEND_CHOICES.join(', ')})`);
  }
  if (active && (choice === 'auto' || choice === active.name)) return active;
  const order: BackendName[] = choice === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [choice];
  const skipped: string[] = [];
  for (const name of order) {
    try {
      let gpuAdapter: string | undefined;
      let reason: string;
      if (name === 'webgpu' && choice === 'auto' && !gpuDevicePresent()) {
        // Probing Dawn without a GPU prints Vulkan loader warnings on every command; skip quietly.
        skipped.push('webgpu (no /dev/nvidia0 or /dev/dri)');
        continue;
      }
      if (name === 'tensorflow') reason = `libtensorflow via ${await tryTensorflow()}`;
      else if (name === 'webgpu') {
        gpuAdapter = await tryWebgpu();
        reason = `WebGPU adapter: ${gpuAdapter}`;
      } else if (name === 'wasm') {
        await tryWasm();
        reason = 'WebAssembly + XNNPACK (CPU)';
      } else {
        await tryCpu();
        reason = 'pure JavaScript (CPU)';
      }
      if (choice === 'auto') reason = `auto: ${reason}` + (skipped.length ? `; skipped ${skipped.join('; ')}` : '');
      const notes: string[] = [];
      for (const hook of hooks) {
        const note = await hook(name);
        if (note) notes.push(note);
      }
      active = { name, reason, gpuAdapter, notes };
      return active;
    } catch (e) {
      if (choice !== 'auto') throw new Error(`backend '${name}' unavailable: ${firstLine(e)}`);
      skipped.push(`${name} (${firstLine(e)})`);
    }
  }
  throw new Error(`no tfjs backend could start: ${skipped.join('; ')}`);
}

/** The backend initialised by initBackend, if any. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}
