/** `seqsch env`: which backend runs, library versions, and whether a GPU adapter exists. */
import { createRequire } from 'node:module';
import { initBackend, findGpuAdapter, gpuDevicePresent } from '../core/backend.js';
import { BACKEND_OPTION, JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions } from '../core/options/spec.js';

const require = createRequire(import.meta.url);
function version(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export const envOptions = defineOptions({ backend: BACKEND_OPTION, json: JSON_OPTION });

export const envCommand = command({
  command: 'env',
  describe: 'print the tfjs backend in use, versions, and whether a GPU adapter was found',
  options: envOptions,
  handler: async (argv) => {
    const info = await initBackend(argv.backend);
    const tf = await import('@tensorflow/tfjs-core');
    let gpu: string;
    try {
      if (!info.gpuAdapter && !gpuDevicePresent()) throw new Error('no /dev/nvidia0 or /dev/dri on this machine');
      gpu = info.gpuAdapter ?? (await findGpuAdapter());
    } catch (e) {
      gpu = `none (${(e as Error).message})`;
    }
    const out = {
      backend: info.name,
      reason: info.reason,
      notes: info.notes,
      gpu_adapter: gpu,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      versions: Object.fromEntries(
        [
          '@tensorflow/tfjs-core',
          '@tensorflow/tfjs-backend-wasm',
          '@tensorflow/tfjs-backend-webgpu',
          '@tensorflow/tfjs-node',
          '@tensorflow/tfjs-node-gpu',
          'webgpu',
          '@xenova/transformers',
        ].map((p) => [p, version(p)]),
      ),
      tf_flags: tf.env().getFlags(),
    };
    report(argv.json, out, () =>
      [
        `backend      ${out.backend}  (${out.reason})`,
        ...out.notes.map((n) => `             ${n}`),
        `gpu adapter  ${out.gpu_adapter}`,
        `node         ${out.node} ${out.platform}`,
        ...Object.entries(out.versions).map(([k, v]) => `${k.padEnd(32)} ${v}`),
      ].join('\n'),
    );
  },
});
