/**
 * The running batch's KV cache for continuous (iteration-level) batching. Per layer one (R, nKv, capacity, hd)
 * buffer of rotated keys and one of values on the wasm heap; cache row r holds positions [0, length(r)) of the
 * request that occupies it. A forward runs over any subset of the rows (`select`), each at its own position:
 * the native attention kernel reads and writes every batch row's cache row at that row's length (rowSlot /
 * rowPast, native/fused.cc), or, with the native kernels off, `append` writes each row's new keys at its own
 * length and hands the composite attention the selected rows cut to the longest (the caller masks each row's
 * tail). A row freed by a finished request is reused by the next one without touching the others; growing
 * the capacity is the only copy. Which request runs where is the step engine's business, not this file's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapView, type AttentionCache, type CacheSlot } from '../model/kvcache.js';
import { rowSlotAttentionActive } from '../kernels/fused.js';

export interface SlotCacheShape {
  numLayers: number;
  /** cache rows R: the decode slots plus rows that preempted requests keep */
  rows: number;
  numKvHeads: number;
  headDim: number;
  /** positions reserved per row at the start (prompt + new tokens); doubled when a row needs more */
  capacity: number;
}

export class SlotKVCache implements AttentionCache {
  /** true: the native kernel writes the rows itself (slot/commit); false: composite attention through append */
  readonly inPlace: boolean;
  private keys: tf.Tensor4D[] = []; // per layer (R, nKv, capacity, hd)
  private values: tf.Tensor4D[] = [];
  private readonly lengths: Int32Array; // (R) positions cached per row
  private capacityNow = 0;
  /** cache rows of the current forward's batch rows, in batch order, and the same (plus their lengths) as int32 tensors */
  private active: number[] = [];
  private activeT: { slot: tf.Tensor1D; past: tf.Tensor1D } | null = null;
  /** the forward that `select` prepared has committed its last layer: select again before the next */
  private spent = true;

  constructor(readonly shape: SlotCacheShape) {
    if (tf.getBackend() !== 'wasm') {
      throw new Error(
        `the continuous-batching KV cache lives on the wasm heap, but the tfjs backend is ${tf.getBackend()} (use backend wasm)`,
      );
    }
    for (const [k, v] of Object.entries(shape))
      if (!Number.isInteger(v) || v < 1) throw new Error(`SlotKVCache: ${k} must be a positive integer, got ${v}`);
    this.inPlace = rowSlotAttentionActive();
    this.lengths = new Int32Array(shape.rows);
    this.grow(shape.capacity);
  }

  /** Positions cached in cache row `row`. */
  length(row: number): number {
    return this.lengths[this.checkRow(row)];
  }

  /** Positions every row can hold before the buffers grow. */
  get capacity(): number {
    return this.capacityNow;
  }

  /** The cache rows of the next forward, in its batch order (distinct). */
  select(rows: number[]): void {
    const seen = new Set<number>();
    for (const r of rows) {
      this.checkRow(r);
      if (seen.has(r)) throw new Error(`SlotKVCache.select: cache row ${r} appears twice`);
      seen.add(r);
    }
    this.activeT?.slot.dispose();
    this.activeT?.past.dispose();
    this.active = rows.slice();
    this.activeT = {
      slot: tf.keep(tf.tensor1d(Int32Array.from(rows), 'int32')),
      past: tf.keep(
        tf.tensor1d(
          Int32Array.from(rows, (r) => this.lengths[r]),
          'int32',
        ),
      ),
    };
    this.spent = false;
  }

  /** Forget a row's positions (its request left the engine); the next occupant overwrites them. */
  release(row: number): void {
    this.lengths[this.checkRow(row)] = 0;
  }

  /**
   * Start a row with positions computed elsewhere: per layer the keys and values of P positions, (nKv, P, hd)
   * flattened (a prompt prefix every request shares, computed once). The row then holds exactly those P.
   */
  writePrefix(row: number, keys: Float32Array[], values: Float32Array[], P: number): void {
    const { numLayers, numKvHeads: H, headDim: hd } = this.shape;
    if (
      keys.length !== numLayers ||
      values.length !== numLayers ||
      keys.some((k) => k.length !== H * P * hd) ||
      values.some((v) => v.length !== H * P * hd)
    ) {
      throw new Error(`SlotKVCache.writePrefix: expected ${numLayers} layers of ${H}·${P}·${hd} keys and values`);
    }
    this.checkRow(row);
    this.grow(P);
    const cap = this.capacityNow;
    for (let l = 0; l < numLayers; l++) {
      for (const [src, buf] of [
        [keys[l], this.keys[l]],
        [values[l], this.values[l]],
      ] as const) {
        const d = heapView(buf);
        for (let h = 0; h < H; h++) d.set(src.subarray(h * P * hd, (h + 1) * P * hd), (row * H + h) * cap * hd);
      }
    }
    this.lengths[row] = P;
  }

  /** Keep only the first `n` positions of a row: a right-padded prefill wrote the padding's positions too. */
  truncate(row: number, n: number): void {
    if (!(n >= 0 && n <= this.lengths[this.checkRow(row)]))
      throw new Error(`SlotKVCache.truncate: row ${row} holds ${this.lengths[row]} positions, asked to keep ${n}`);
    this.lengths[row] = n;
  }

  /** Positions cached before this forward: the longest selected row's (rows attend only to their own). */
  pastLength(): number {
    let m = 0;
    for (const r of this.active) m = Math.max(m, this.lengths[r]);
    return m;
  }

  /** Native path: the buffers, each batch row's cache row and length; the kernel writes rows [length, length + T). */
  slot(layer: number, B: number, nKv: number, hd: number, T = 1): CacheSlot {
    this.checkForward(layer, B, nKv, hd);
    if (layer === 0) this.grow(this.pastLength() + T);
    return {
      k: this.keys[layer],
      v: this.values[layer],
      past: this.pastLength(),
      rowSlot: this.activeT!.slot,
      rowPast: this.activeT!.past,
    };
  }

  /** The selected rows have `T` more positions once the last layer has written them. */
  commit(layer: number, T: number): void {
    if (layer !== this.shape.numLayers - 1) return;
    for (const r of this.active) this.lengths[r] += T;
    this.spent = true;
  }

  /**
   * Composite path: write each batch row's new keys/values (B, nKv, T, hd) at its own length and return the
   * selected rows' positions [0, past + T) (B, nKv, past + T, hd), past the longest row's; a row's positions
   * beyond its own length + T are stale or zero and must be masked by the caller (tracked by the caller's tidy).
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const [B, H, T, hd] = k.shape;
    this.checkForward(layer, B, H, hd);
    const W = this.pastLength() + T;
    if (layer === 0) this.grow(W);
    const cap = this.capacityNow;
    for (const [src, dst] of [
      [k, this.keys[layer]],
      [v, this.values[layer]],
    ] as const) {
      const s = heapView(src),
        d = heapView(dst);
      this.active.forEach((r, i) => {
        const at = this.lengths[r];
        for (let h = 0; h < H; h++)
          d.set(s.subarray((i * H + h) * T * hd, (i * H + h + 1) * T * hd), ((r * H + h) * cap + at) * hd);
      });
    }
    this.commit(layer, T);
    // the selected rows' first W positions, copied on the host: tfjs-wasm's Slice and Gather walk element by
    // element (~20 ms a step here), a row copy is a memcpy
    const take = (buf: tf.Tensor4D) => {
      const out = new Float32Array(B * H * W * hd);
      const src = heapView(buf);
      this.active.forEach((r, i) => {
        for (let h = 0; h < H; h++)
          out.set(src.subarray((r * H + h) * cap * hd, ((r * H + h) * cap + W) * hd), (i * H + h) * W * hd);
      });
      return tf.tensor4d(out, [B, H, W, hd]);
    };
    return [take(this.keys[layer]), take(this.values[layer])];
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
    this.keys = [];
    this.values = [];
    this.activeT?.slot.dispose();
    this.activeT?.past.dispose();
    this.activeT = null;
    this.active = [];
    this.lengths.fill(0);
  }

  private checkRow(row: number): number {
    if (!Number.isInteger(row) || row < 0 || row >= this.shape.rows)
      throw new Error(`SlotKVCache: cache row ${row} outside [0, ${this.shape.rows})`);
    return row;
  }

  private checkForward(layer: number, B: number, nKv: number, hd: number): void {
    if (this.spent || !this.activeT) throw new Error('SlotKVCache: call select(rows) before each forward');
    if (B !== this.active.length)
      throw new Error(`SlotKVCache layer ${layer}: the forward has ${B} rows but select() chose ${this.active.length}`);
    if (nKv !== this.shape.numKvHeads || hd !== this.shape.headDim) {
      throw new Error(
        `SlotKVCache layer ${layer}: holds ${this.shape.numKvHeads} kv heads of ${this.shape.headDim}, got ${nKv} of ${hd}`,
      );
    }
  }

  /** Make room for `need` positions per row (doubling); copies every row's filled capacity into the new buffers. */
  private grow(need: number): void {
    if (need <= this.capacityNow) return;
    const cap = Math.max(need, 2 * this.capacityNow);
    const { rows: R, numKvHeads: H, headDim: hd } = this.shape;
    const old = [this.keys, this.values];
    const fresh = old.map((bufs) =>
      Array.from({ length: this.shape.numLayers }, (_, l) => {
        const t = tf.keep(tf.zeros([R, H, cap, hd])) as tf.Tensor4D;
        if (bufs[l]) {
          const s = heapView(bufs[l]),
            d = heapView(t);
          for (let rh = 0; rh < R * H; rh++)
            d.set(s.subarray(rh * this.capacityNow * hd, (rh + 1) * this.capacityNow * hd), rh * cap * hd);
          bufs[l].dispose();
        }
        return t;
      }),
    );
    [this.keys, this.values] = fresh;
    this.capacityNow = cap;
  }
}
