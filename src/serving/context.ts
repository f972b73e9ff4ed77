/**
 * What a serving run may share with its caller: a cache that memoizes loads (model, queries, capacity, cost model)
 * across the runs of one experiment, and a callback per finished request. Types and one helper, nothing else.
 */
import type { RequestRecord } from './metrics.js';

export interface ServeContext {
  /** memoize loads (model, queries, capacity) across runs, e.g. an experiment's points */
  cache?<T>(key: string, make: () => T): T;
  onFinish?(r: RequestRecord): void;
}

/** `make()`, memoized under `key` when the caller has a cache. */
export const memo = <T>(ctx: ServeContext, key: string, make: () => T): T =>
  ctx.cache ? ctx.cache(key, make) : make();
