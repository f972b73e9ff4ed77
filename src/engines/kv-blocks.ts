/**
 * Paged KV memory as vLLM keeps it: a fixed pool of blocks of `blockSize` tokens; a request holds
 * ⌈tokens / blockSize⌉ blocks and gains one when its next token crosses a block edge. Admission keeps a watermark
 * of free blocks (vLLM's `watermark`, 1 % by default) so that running requests can still grow; growth needs only
 * one free block. It counts blocks and remembers the peak; which request is preempted when none is free is the
 * engine's decision (step-gpu-sim.ts), not the pool's.
 */

export interface KvBlockOptions {
  /** blocks in the pool */
  numBlocks: number;
  /** tokens per block (vLLM: 16) */
  blockSize: number;
  /** fraction of the pool admission leaves free (vLLM: 0.01) */
  watermark: number;
}

export class KvBlockPool {
  readonly numBlocks: number;
  readonly blockSize: number;
  /** blocks admission keeps free: ⌊watermark × numBlocks⌋ */
  readonly watermarkBlocks: number;
  private used = 0;
  private peakUsed = 0;
  private readonly held = new Map<string, number>();

  constructor(o: KvBlockOptions) {
    if (!Number.isInteger(o.numBlocks) || o.numBlocks < 1)
      throw new Error(`the KV pool needs a positive whole number of blocks, got ${o.numBlocks}`);
    if (!Number.isInteger(o.blockSize) || o.blockSize < 1)
      throw new Error(`the KV block size must be a positive integer (tokens), got ${o.blockSize}`);
    if (!(o.watermark >= 0 && o.watermark < 1))
      throw new Error(`the KV watermark must be in [0, 1), got ${o.watermark}`);
    this.numBlocks = o.numBlocks;
    this.blockSize = o.blockSize;
    this.watermarkBlocks = Math.floor(o.watermark * o.numBlocks);
  }

  /** Blocks `tokens` KV tokens take. */
  blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.blockSize);
  }

  get free(): number {
    return this.numBlocks - this.used;
  }

  /** Blocks in use now, and the most ever in use. */
  get inUse(): number {
    return this.used;
  }
  get peak(): number {
    return this.peakUsed;
  }

  /** Blocks `id` holds (0 if none). */
  holding(id: string): number {
    return this.held.get(id) ?? 0;
  }

  /** Whether a new request needing `blocks` may be admitted: the watermark stays free after it. */
  canAdmit(blocks: number): boolean {
    return this.free - blocks >= this.watermarkBlocks;
  }

  /** Give `id` `blocks` more (throws when the pool is short: callers check first). */
  allocate(id: string, blocks: number): void {
    if (blocks > this.free) throw new Error(`KV pool: ${id} needs ${blocks} blocks, ${this.free} are free`);
    this.used += blocks;
    if (this.used > this.peakUsed) this.peakUsed = this.used;
    this.held.set(id, (this.held.get(id) ?? 0) + blocks);
  }

  /** Make `id` hold enough blocks for `tokens` tokens; false (nothing changed) when the pool is short. */
  grow(id: string, tokens: number): boolean {
    const more = this.blocksFor(tokens) - this.holding(id);
    if (more <= 0) return true;
    if (more > this.free) return false;
    this.allocate(id, more);
    return true;
  }

  /** Free everything `id` holds. */
  release(id: string): void {
    const n = this.held.get(id);
    if (n === undefined) return;
    this.used -= n;
    this.held.delete(id);
  }
}
