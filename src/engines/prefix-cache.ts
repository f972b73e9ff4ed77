/**
 * Prefix reuse across requests, keyed by a trace's block hashes (Mooncake's `hash_ids`: one id per block of
 * `hashBlockTokens` prompt tokens, equal ids = equal prefixes up to that block). A request reuses the longest run
 * of its leading ids that are cached; after its prefill its ids are cached. Least recently used ids are dropped
 * beyond `capacityBlocks`. What it models is compute only — cached tokens are not prefilled again — and it says
 * nothing about memory sharing: the engine still allocates a request's KV blocks for its whole prompt (an upper
 * bound on memory; vLLM shares the cached blocks).
 */

export class PrefixCache {
  /** insertion order = recency (a Map iterates in insertion order; a hit re-inserts) */
  private readonly lru = new Map<number, true>();

  constructor(private readonly capacityBlocks: number) {
    if (!(capacityBlocks >= 0)) throw new Error(`prefix cache capacity must be ≥ 0 blocks, got ${capacityBlocks}`);
  }

  /** Leading ids of `hashIds` that are cached (does not touch recency). */
  cachedBlocks(hashIds: readonly number[]): number {
    let n = 0;
    while (n < hashIds.length && this.lru.has(hashIds[n])) n++;
    return n;
  }

  /** Mark `hashIds` used now: cache the new ones, refresh the rest, drop the least recent beyond capacity. */
  insert(hashIds: readonly number[]): void {
    for (const h of hashIds) {
      this.lru.delete(h);
      this.lru.set(h, true);
    }
    while (this.lru.size > this.capacityBlocks) this.lru.delete(this.lru.keys().next().value as number);
  }

  get size(): number {
    return this.lru.size;
  }
}
