/**
 * Serving workloads: the benchmark's queries (src/workload/items.ts) with arrival times. Three arrival
 * processes — offline (every request at t = 0, the paper's setting), Poisson at a rate (exponential gaps from
 * a seeded stream), and a trace's timestamps (trace.ts), optionally rescaled to a target mean rate — and, for
 * the simulator, requests made from a trace's own token counts. A rate given as a fraction of the engine's
 * measured capacity is resolved by the caller (run.ts), which knows the capacity.
 */
import seedrandom from 'seedrandom';
import type { BenchItem } from '../core/query.js';
import type { TraceRow } from './trace.js';

/** One request of a serving run. */
export interface ServeRequest {
  id: string;
  /** position in the workload, 0 … N − 1 */
  index: number;
  /** seconds after the run's start */
  arrival: number;
  /** the query: prompt, prompt tokens, recorded lengths */
  item: BenchItem;
}

export type ArrivalSpec =
  | { kind: 'offline' }
  /** rate: requests per second */
  | { kind: 'poisson'; rate: number }
  /** the first N rows' times; with `rate`, scaled so that the mean rate over them is `rate` requests per second */
  | { kind: 'trace'; rows: TraceRow[]; rate?: number; source?: string };

function checkRate(rate: number, what: string): void {
  if (!(rate > 0) || !Number.isFinite(rate))
    throw new Error(`${what} must be a positive number of requests per second, got ${rate}`);
}

/** Arrival times (seconds, non-decreasing) of `n` requests. */
export function arrivalTimes(n: number, spec: ArrivalSpec, seed: number | string = 0): number[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`a workload needs at least one request, got ${n}`);
  switch (spec.kind) {
    case 'offline':
      return new Array<number>(n).fill(0);
    case 'poisson': {
      checkRate(spec.rate, 'the Poisson arrival rate');
      const rng = seedrandom(`arrivals:${seed}`);
      const out: number[] = [];
      let t = 0;
      for (let i = 0; i < n; i++) {
        t += -Math.log(1 - rng()) / spec.rate; // exponential gap, mean 1/rate
        out.push(t);
      }
      return out;
    }
    case 'trace': {
      if (spec.rows.length < n)
        throw new Error(`${spec.source ?? 'the trace'} has ${spec.rows.length} requests, the workload needs ${n}`);
      const ts = spec.rows.slice(0, n).map((r) => r.t);
      if (spec.rate === undefined) return ts;
      checkRate(spec.rate, "the trace's target rate");
      const span = ts[n - 1] - ts[0];
      if (!(span > 0))
        throw new Error(
          `${spec.source ?? 'the trace'}: its first ${n} requests arrive at one instant; it has no rate to rescale`,
        );
      const scale = (n - 1) / span / spec.rate; // observed mean rate / target
      return ts.map((t) => (t - ts[0]) * scale);
    }
  }
}

/** The requests of a workload: item k arrives at arrivals[k]. */
export function makeRequests(items: BenchItem[], arrivals: number[]): ServeRequest[] {
  if (arrivals.length !== items.length) throw new Error(`${items.length} queries but ${arrivals.length} arrival times`);
  return items.map((item, index) => ({ id: item.id, index, arrival: arrivals[index], item }));
}

/**
 * Queries made from a trace's token counts (the simulator needs no text): prompt tokens as given (at least 1),
 * and the response as the recorded length under `lengthKey`: a trace's G generated tokens become G + 1 — the
 * answer + EOS, as `L_t0.0` is recorded. Rows with block hashes (Mooncake `hash_ids`) pass them on as
 * `hashIds`, with their block size `hashBlockTokens` (required then: trace.ts's `Trace.hashBlockTokens`).
 * Ids are `trace-<k>`, k the row's position (unique).
 */
export function traceItems(rows: TraceRow[], n: number, lengthKey = 'L_t0.0', hashBlockTokens?: number): BenchItem[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`a workload needs at least one request, got ${n}`);
  if (rows.length < n) throw new Error(`the trace has ${rows.length} requests, the workload needs ${n}`);
  const hashed = rows.slice(0, n).some((r) => r.hashIds);
  if (hashed && !(Number.isInteger(hashBlockTokens) && hashBlockTokens! > 0))
    throw new Error(`the trace's rows carry hash_ids but no block size was given (got ${hashBlockTokens})`);
  return rows.slice(0, n).map((r, index) => {
    const item: BenchItem = {
      id: `trace-${index}`,
      index,
      prompt: '',
      promptTokens: Math.max(1, r.promptTokens),
      realLengths: { [lengthKey]: r.responseTokens + 1 },
    };
    if (r.hashIds) {
      item.hashIds = r.hashIds;
      item.hashBlockTokens = hashBlockTokens;
    }
    return item;
  });
}
