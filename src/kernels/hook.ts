/**
 * What the native kernels do once a tfjs backend is ready: on wasm, install the BLAS matmuls (blas.ts) and report
 * whether the fused inference kernels (fused.ts) are on; on the others, say they are not used. Apart from blas.ts
 * because fused.ts builds on blas.ts, and this report needs both.
 */
import { installBlasKernels, blasStatus } from './blas.js';
import { fusedIsa, fusedKernelsActive } from './fused.js';

/** The onBackendReady hook (src/core/backend.ts): install on wasm, stay silent on the other backends. */
export async function blasBackendHook(name: string): Promise<string | undefined> {
  if (name === 'wasm') {
    const note = await installBlasKernels();
    if (!blasStatus().active) return note;
    const fused = fusedKernelsActive()
      ? `fused inference kernels on (${fusedIsa()}: RMSNorm, SiLU·up, attention with rotary and an in-place KV cache)`
      : 'fused inference kernels off (the addon predates them: rerun npm ci)';
    return `${note}; ${fused}`;
  }
  if (name === 'cpu') return 'BLAS matmul: not used (the provider serves the wasm backend only)';
  return undefined;
}
