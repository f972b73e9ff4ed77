/** Test helpers for the model: tiny configs and a relative-error measure. */
import type { LlamaConfig } from '../../src/model/config.js';

/** A tiny LLaMA: fast enough for many forwards per test. */
export function tinyConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 4,
    headDim: 8,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    maxPositionEmbeddings: 64,
    vocabSize: 50,
    tieWordEmbeddings: false,
    bosTokenId: 1,
    eosTokenId: 2,
    padTokenId: 0,
    ...over,
  };
}

/** ‖a − b‖ / ‖b‖ over the rows (of width `width`) where keep[row] is true (all rows when omitted). */
export function relError(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  width = a.length,
  keep?: ArrayLike<number>,
): number {
  if (a.length !== b.length) throw new Error(`relError: lengths ${a.length} and ${b.length} differ`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    if (keep && !keep[Math.floor(i / width)]) continue;
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}
