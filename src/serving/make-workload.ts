/**
 * A serving configuration's workload: its queries (sampled as the benchmark samples them, or a trace's own
 * requests) and their arrival times (offline, Poisson at a rate, or a trace's). The rate comes in resolved: a
 * `load` of the measured capacity is run.ts's, since measuring it runs the server.
 */
import type { BenchItem } from '../core/query.js';
import { loadBenchItems } from '../workload/items.js';
import { loadTrace, type Trace } from '../workload/trace.js';
import { arrivalTimes, makeRequests, traceItems, type ArrivalSpec, type ServeRequest } from '../workload/arrivals.js';
import type { ServeConfig } from './config.js';
import { memo, type ServeContext } from './context.js';

/**
 * The trace's rows (memoized); with `max_total_tokens`, only those whose prompt + response fit it (a model's
 * context window, as Vidur's max_tokens keeps them): the rest are dropped before the first `num_data` are taken, and
 * the arrival times are the kept rows' own.
 */
function traceRows(c: ServeConfig, ctx: ServeContext): Trace {
  const trace = memo(ctx, `trace:${c.trace}`, () => loadTrace(c.trace!));
  const max = c.max_total_tokens;
  if (max === undefined) return trace;
  return memo(ctx, `trace:${c.trace}|max:${max}`, () => {
    const rows = trace.rows.filter((r) => r.promptTokens + r.responseTokens + 1 <= max);
    if (rows.length === 0) throw new Error(`${c.trace}: no request fits max_total_tokens ${max}`);
    return { ...trace, rows };
  });
}

/** The workload's queries (memoized). */
export function workloadItems(c: ServeConfig, ctx: ServeContext): BenchItem[] {
  if (c.trace_requests) {
    const { rows, hashBlockTokens } = traceRows(c, ctx);
    return traceItems(rows, c.num_data ?? rows.length, c.real_lengths, hashBlockTokens);
  }
  const key = `items:${c.data}|${c.lengths}|${c.num_data}|${c.seed}`;
  return memo(ctx, key, () => loadBenchItems({ data: c.data!, lengths: c.lengths, numData: c.num_data, seed: c.seed }));
}

/** The queries as requests arriving at `rate` requests/s (null: offline, or a trace taken as is). */
export function arrivingRequests(
  c: ServeConfig,
  items: BenchItem[],
  rate: number | null,
  ctx: ServeContext,
): ServeRequest[] {
  let spec: ArrivalSpec;
  if (c.arrival === 'offline') spec = { kind: 'offline' };
  else if (c.arrival === 'poisson') spec = { kind: 'poisson', rate: rate! };
  else {
    const { rows } = c.trace_requests ? traceRows(c, ctx) : memo(ctx, `trace:${c.trace}`, () => loadTrace(c.trace!));
    spec = { kind: 'trace', rows, rate: rate ?? undefined, source: c.trace };
  }
  return makeRequests(items, arrivalTimes(items.length, spec, c.arrival_seed));
}
