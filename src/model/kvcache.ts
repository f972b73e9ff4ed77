/**
 * Key/value cache for incremental decoding: per layer, the rotated keys and the values of every
 * position seen so far, laid out head-major as attention consumes them, (B, nKvHeads, positions, headDim).
 *
 * Two storage modes, fixed at the first write. In place (wasm with the native kernels active, see
 * src/kernels/fused.ts): per layer one preallocated (B, nKv, capacity, hd) buffer for keys and one for
 * values, written row by row (the native decode-attention kernel writes its own rows), grown by
 * doubling when full; attention reads the filled prefix. Concat (everywhere else): each append
 * concatenates, as before. The buffers belong to the cache alone — never reshaped, cloned or handed
 * to another kernel that could keep their dataId. The cache holds no attention mask (the caller passes
 * the mask of past + new positions to each forward, as Hugging Face does) and never evicts rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { fusedKernelsActive } from '../kernels/fused.js';

export interface KVCacheOptions {
  /** positions to reserve at the first write (prompt + new tokens); the in-place buffers double beyond it */
  capacity?: number;
}

/** One copy of KVCache.gatherFrom: `count` positions of row `srcRow` of `src` from `srcPos` → row `dstRow` at `dstPos`. */
export interface GatherRun {
  src: KVCache;
  srcRow: number;
  srcPos: number;
  dstRow: number;
  dstPos: number;
  count: number;
}

/** The in-place buffers of one layer, for a kernel that writes row `past` itself. */
export interface CacheSlot {
  k: tf.Tensor4D; // (B, nKv, capacity, hd)
  v: tf.Tensor4D;
  past: number;
  /**
   * Rows at different positions (continuous batching, src/engines/slot-cache.ts): int32 (B) cache row of each
   * batch row (k/v then hold any number of rows) and its cached positions (`past` is their maximum).
   */
  rowSlot?: tf.Tensor1D;
  rowPast?: tf.Tensor1D;
}

/**
 * What the model's forward needs of a cache: this file's KVCache (every row at the same position), or the
 * serving engine's slot cache (rows at different positions, src/engines/slot-cache.ts).
 */
export interface AttentionCache {
  /** the native attention kernel reads and writes the buffers itself (slot/commit); else append() */
  readonly inPlace: boolean;
  /** positions cached before this forward (the widest row's, for rows at different positions) */
  pastLength(layer?: number): number;
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D];
  slot(layer: number, B: number, nKv: number, hd: number, T?: number): CacheSlot;
  commit(layer: number, T: number): void;
}

export class KVCache implements AttentionCache {
  /** per layer: concat mode (B, nKv, length, hd); in-place mode (B, nKv, capacity, hd) */
  private keys: (tf.Tensor4D | null)[];
  private values: (tf.Tensor4D | null)[];
  /** positions cached per layer */
  private lengths: number[];
  private mode: 'concat' | 'inPlace' | undefined;
  /** number of cached positions (identical for every layer once a forward has finished) */
  length = 0;

  constructor(
    readonly numLayers: number,
    private readonly opts: KVCacheOptions = {},
  ) {
    this.keys = new Array(numLayers).fill(null);
    this.values = new Array(numLayers).fill(null);
    this.lengths = new Array(numLayers).fill(0);
  }

  /** Whether this cache stores in place (decided at the first write from fusedKernelsActive()). */
  get inPlace(): boolean {
    this.mode ??= fusedKernelsActive() ? 'inPlace' : 'concat';
    return this.mode === 'inPlace';
  }

  /**
   * Append this step's keys/values for `layer` ((B, nKv, T, hd) each) and return the full
   * (B, nKv, past + T, hd) tensors. In concat mode the returned tensors belong to the cache (do not
   * dispose them); in place they are `k`/`v` themselves when the cache was empty, else copies of the
   * filled prefix (tracked by the caller's tidy).
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    if (!this.inPlace) return this.concat(layer, k, v);
    const [B, H, T, hd] = k.shape;
    const { k: kb, v: vb, past } = this.slot(layer, B, H, hd, T);
    write(k, kb, past);
    write(v, vb, past);
    this.commit(layer, T);
    if (past === 0) return [k, v];
    return [tf.slice(kb, [0, 0, 0, 0], [B, H, past + T, hd]), tf.slice(vb, [0, 0, 0, 0], [B, H, past + T, hd])];
  }

  /**
   * In-place mode: the buffers of `layer` with room for `T` more positions (grown by doubling when
   * full), for a kernel that writes rows [past, past + T) itself; call commit(layer, T) afterwards.
   */
  slot(layer: number, B: number, nKv: number, hd: number, T = 1): CacheSlot {
    if (!this.inPlace)
      throw new Error(
        'KVCache.slot: this cache stores by concatenation (native kernels were not active at its first write)',
      );
    const past = this.lengths[layer];
    let kb = this.keys[layer];
    if (kb && (kb.shape[0] !== B || kb.shape[1] !== nKv || kb.shape[3] !== hd)) {
      throw new Error(
        `KVCache layer ${layer}: holds [${kb.shape[0]}, ${kb.shape[1]}, ·, ${kb.shape[3]}], got keys for [${B}, ${nKv}, ·, ${hd}]`,
      );
    }
    if (!kb || kb.shape[2] < past + T) {
      const cap = Math.max(past + T, kb ? 2 * kb.shape[2] : (this.opts.capacity ?? 0));
      const [nk, nv] = [unfilled([B, nKv, cap, hd]), unfilled([B, nKv, cap, hd])];
      if (kb) {
        copyPrefix(kb, nk, past);
        copyPrefix(this.values[layer]!, nv, past);
        kb.dispose();
        this.values[layer]!.dispose();
      }
      this.keys[layer] = kb = nk;
      this.values[layer] = nv;
    }
    return { k: kb, v: this.values[layer]!, past };
  }

  /**
   * Start this empty cache with the positions of `src`, a one-row cache (a prompt prefix every row shares,
   * computed once), repeated for each of `B` rows: per layer (1, nKv, P, hd) → rows [0, P) of (B, nKv, ·, hd).
   */
  broadcastFrom(src: KVCache, B: number): void {
    if (this.lengths.some((n) => n > 0)) throw new Error('KVCache.broadcastFrom: this cache already holds positions');
    for (let layer = 0; layer < this.numLayers; layer++) {
      tf.tidy(() => {
        const [k, v] = src.filled(layer); // (1, nKv, P, hd)
        const [rows, H, P, hd] = k.shape;
        if (rows !== 1) throw new Error(`KVCache.broadcastFrom: the source holds ${rows} rows, expected 1`);
        if (!this.inPlace) return void this.append(layer, tf.tile(k, [B, 1, 1, 1]), tf.tile(v, [B, 1, 1, 1]));
        // in place: copy the row into each of the B rows on the heap (tfjs-wasm's Tile took 280 ms for 128 rows)
        const { k: kb, v: vb } = this.slot(layer, B, H, hd, P);
        for (let b = 0; b < B; b++) {
          write(k, kb, 0, b);
          write(v, vb, 0, b);
        }
        this.commit(layer, P);
      });
    }
  }

  /**
   * Start this empty cache with `positions` positions per row for `B` rows, copied from rows of other caches (prompt
   * keys/values computed earlier, in another batch and padding layout): each run copies `count` positions of row
   * `srcRow` of `src`, from position `srcPos`, to row `dstRow` at `dstPos`, in every layer. Positions no run writes are
   * zero (padding the caller masks). Sources and this cache must share nKv and hd; in place the copy is a heap copy.
   */
  gatherFrom(runs: GatherRun[], B: number, positions: number): void {
    if (this.lengths.some((n) => n > 0)) throw new Error('KVCache.gatherFrom: this cache already holds positions');
    if (runs.length === 0) throw new Error('KVCache.gatherFrom: no rows to copy');
    for (let layer = 0; layer < this.numLayers; layer++) {
      tf.tidy(() => {
        const first = runs[0].src.keys[layer];
        if (!first) throw new Error(`KVCache.gatherFrom: source layer ${layer} holds nothing`);
        const [, H, , hd] = first.shape;
        // destination: the in-place buffers (allocated first: growing the heap detaches earlier views), or host arrays
        let dk: Float32Array, dv: Float32Array, capD: number;
        let kb: tf.Tensor4D | undefined, vb: tf.Tensor4D | undefined;
        if (this.inPlace) {
          ({ k: kb, v: vb } = this.slot(layer, B, H, hd, positions));
          capD = kb.shape[2];
          [dk, dv] = [heapView(kb), heapView(vb)];
          // the buffers are not initialised (unfilled()): zero the positions [0, positions) every row will be read
          // at, so a position no run writes is a masked zero, never a NaN bit pattern that a mask cannot cancel
          for (let bh = 0; bh < B * H; bh++) {
            dk.fill(0, bh * capD * hd, (bh * capD + positions) * hd);
            dv.fill(0, bh * capD * hd, (bh * capD + positions) * hd);
          }
        } else {
          capD = positions;
          [dk, dv] = [new Float32Array(B * H * positions * hd), new Float32Array(B * H * positions * hd)];
        }
        const views = new Map<KVCache, { k: Float32Array; v: Float32Array; cap: number }>();
        for (const r of runs) {
          let sv = views.get(r.src);
          if (!sv) {
            const [k, v] = [r.src.keys[layer], r.src.values[layer]];
            if (!k || !v || k.shape[1] !== H || k.shape[3] !== hd)
              throw new Error(
                `KVCache.gatherFrom: source layer ${layer} holds [${k?.shape}], expected [·, ${H}, ·, ${hd}]`,
              );
            sv =
              r.src.mode === 'inPlace'
                ? { k: heapView(k), v: heapView(v), cap: k.shape[2] }
                : { k: k.dataSync() as Float32Array, v: v.dataSync() as Float32Array, cap: k.shape[2] };
            views.set(r.src, sv);
          }
          if (
            r.srcPos + r.count > r.src.lengths[layer] ||
            r.dstPos + r.count > positions ||
            r.dstRow >= B ||
            r.srcRow >= r.src.keys[layer]!.shape[0]
          ) {
            throw new Error(
              `KVCache.gatherFrom: run (row ${r.srcRow} [${r.srcPos}, +${r.count}) → row ${r.dstRow} at ${r.dstPos}) is outside the source's ${r.src.lengths[layer]} positions or this cache's ${B} × ${positions}`,
            );
          }
          for (let h = 0; h < H; h++) {
            const from = ((r.srcRow * H + h) * sv.cap + r.srcPos) * hd;
            const to = ((r.dstRow * H + h) * capD + r.dstPos) * hd;
            dk.set(sv.k.subarray(from, from + r.count * hd), to);
            dv.set(sv.v.subarray(from, from + r.count * hd), to);
          }
        }
        if (kb) this.commit(layer, positions);
        else this.append(layer, tf.tensor4d(dk, [B, H, positions, hd]), tf.tensor4d(dv, [B, H, positions, hd]));
      });
    }
  }

  /** The filled positions of `layer`, (B, nKv, length, hd) each (a slice of the in-place buffers; call inside a tidy). */
  filled(layer: number): [tf.Tensor4D, tf.Tensor4D] {
    const k = this.keys[layer],
      v = this.values[layer];
    if (!k || !v) throw new Error(`KVCache layer ${layer}: nothing cached`);
    const n = this.lengths[layer];
    if (k.shape[2] === n) return [k, v];
    const [B, H, , hd] = k.shape;
    return [tf.slice(k, [0, 0, 0, 0], [B, H, n, hd]), tf.slice(v, [0, 0, 0, 0], [B, H, n, hd])];
  }

  /** Record that rows [past, past + T) of `layer` were written. */
  commit(layer: number, T: number): void {
    this.lengths[layer] += T;
    if (layer === this.numLayers - 1) this.length = this.lengths[layer];
  }

  /** Past length seen by `layer` before this step's append. */
  pastLength(layer = 0): number {
    return this.lengths[layer];
  }

  /** Positions the in-place buffers of `layer` hold room for (0 before the first write or in concat mode). */
  capacity(layer = 0): number {
    return this.mode === 'inPlace' ? (this.keys[layer]?.shape[2] ?? 0) : 0;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.lengths.fill(0);
    this.length = 0;
  }

  private concat(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const oldK = this.keys[layer];
    const oldV = this.values[layer];
    const newK = oldK ? tf.concat4d([oldK, k], 2) : k.clone();
    const newV = oldV ? tf.concat4d([oldV, v], 2) : v.clone();
    tf.keep(newK);
    tf.keep(newV);
    if (oldK) oldK.dispose();
    if (oldV) oldV.dispose();
    this.keys[layer] = newK;
    this.values[layer] = newV;
    this.commit(layer, k.shape[2]);
    return [newK, newV];
  }
}

/**
 * A kept (B, nKv, cap, hd) float32 buffer on the wasm heap, not initialised: rows are only ever read after they
 * were written (attention reads [0, past + T), copies take the filled prefix), and tf.zeros built the 66 MB of a
 * 128 × 80 prefill's caches on the host first (~150 ms).
 */
function unfilled(shape: [number, number, number, number]): tf.Tensor4D {
  const info = (tf.backend() as BackendWasm).makeOutput(shape, 'float32');
  return tf.keep(tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor4D);
}

/** Float32 view of a wasm tensor's heap data (taken after any allocation: growing memory detaches views). */
export function heapView(t: tf.Tensor): Float32Array {
  return (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array;
}

/** src (B, H, T, hd) → rows [at, at + T) of dst (B, H, cap, hd); with `toRow`, src's single row goes to dst's row toRow. */
function write(src: tf.Tensor4D, dst: tf.Tensor4D, at: number, toRow = 0): void {
  const [B, H, T, hd] = src.shape;
  const cap = dst.shape[2];
  const s = heapView(src),
    d = heapView(dst);
  const first = toRow * H; // dst's (row, head) index of src's first (row, head)
  for (let bh = 0; bh < B * H; bh++) d.set(s.subarray(bh * T * hd, (bh + 1) * T * hd), ((first + bh) * cap + at) * hd);
}

/** Rows [0, rows) of src (B, H, capS, hd) → the same rows of dst (B, H, capD, hd). */
function copyPrefix(src: tf.Tensor4D, dst: tf.Tensor4D, rows: number): void {
  const [B, H, capS, hd] = src.shape;
  const capD = dst.shape[2];
  const s = heapView(src),
    d = heapView(dst);
  for (let bh = 0; bh < B * H; bh++) d.set(s.subarray(bh * capS * hd, (bh * capS + rows) * hd), bh * capD * hd);
}
