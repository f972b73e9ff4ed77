/**
 * Kernels the tfjs wasm backend lacks, written in JS on the backend's heap.
 *
 * `UnsortedSegmentSum` is what the gradient of `tf.gather` (an embedding lookup) calls; without it,
 * training any model with an embedding fails on wasm. The cost is O(x.size), small next to a matmul.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

function unsortedSegmentSum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (args.attrs as { numSegments: number }).numSegments;
  if (x.dtype !== 'float32') throw new Error(`UnsortedSegmentSum (wasm): x must be float32, got ${x.dtype}`);
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  // x: (prod(segmentIds.shape), inner) viewed flat; out: (numSegments, inner)
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, 'float32');
  // Read x only after makeOutput: allocating may grow the wasm memory and detach older views.
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const os = backend.typedArrayFromHeap(out) as Float32Array;
  os.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue; // TF drops out-of-range ids
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) os[dst + j] += xs[src + j];
  }
  return out;
}

tf.registerKernel({
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as tf.KernelFunc,
});
