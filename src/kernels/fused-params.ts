/**
 * The one parameter block (Float64Array of offsets and sizes) that the addon's fused-kernel exports
 * (native/fused.cc) read. The addon keeps a single pointer to it, so every module that calls those
 * exports (src/kernels/fused.ts, src/kernels/gather.ts) must write into this same block.
 */

/** Slots in the block; equals the addon's fusedParamCount. */
export const F_COUNT = 64;

let block: { addon: object; params: Float64Array } | undefined;

/** The block registered with `addon` (registered on first use; again if another addon object appears). */
export function fusedParams(addon: { setFusedParams(params: Float64Array): void }): Float64Array {
  if (!block || block.addon !== addon) {
    block = { addon, params: new Float64Array(F_COUNT) };
    addon.setFusedParams(block.params);
  }
  return block.params;
}
