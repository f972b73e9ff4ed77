/**
 * The step-level engine contract of continuous (iteration-level) batching, the batch engine's sibling
 * (src/engines/batch.ts): `admit` prefills new requests into free slots (one forward of their own, each
 * emits its first token), `step` runs one decode step for every running row, `evict` frees a row's slot and
 * KV, `preempt` takes a row out of the decode batch with its KV kept and `resume` puts it back. Limits:
 * `maxBatch` decode slots and, optionally, a KV-token budget (a request reserves prompt + max new tokens
 * when admitted; a paused row keeps its reservation). The engine never decides order: the serving harness
 * (harness.ts) asks its policy which requests to admit, preempt or resume.
 *
 * `SlotEngine` holds the bookkeeping both engines share (rows, slots, budget, counts, the call trace); the
 * real tfjs engine (step-tfjs.ts) and the simulated one (step-sim.ts) only implement prefill and decode.
 */
import type { EngineCall } from '../cost/calls.js';

/** What the engine needs of a request, whatever generates it. */
export interface StepRequest {
  id: string;
  /** prompt tokens (BOS included) */
  promptTokens: number;
  /** cap on generated tokens (EOS included) */
  maxNewTokens: number;
}

/** A row's state after a call: tokens generated so far (EOS included) and whether it ended. */
export interface RowUpdate {
  id: string;
  generated: number;
  /** emitted EOS or reached maxNewTokens in this call */
  finished: boolean;
  /** finished by EOS (false: cut at maxNewTokens) */
  eos: boolean;
  /**
   * the engine took the request out and freed its KV (recompute preemption, when KV blocks ran out): it waits
   * again, keeps the tokens it generated, and is prefilled anew (prompt + those tokens) when re-admitted
   */
  recomputed?: boolean;
}

export interface CallOutcome {
  updates: RowUpdate[];
  /** the forward it ran; null when it ran none (an admission that only registers requests) */
  call: EngineCall | null;
}

export interface StepEngine<R extends StepRequest = StepRequest> {
  readonly name: string;
  readonly maxBatch: number;
  /** KV tokens that rows holding KV (running and paused) may reserve together; null = unlimited */
  readonly kvBudget: number | null;
  /** tokens a request reserves while it holds KV */
  reservation(req: R): number;
  /** KV tokens reserved by the rows that hold KV (running and paused) */
  kvReserved(): number;
  /** whether `reqs` (in addition to what is admitted) fit the free slots and the budget */
  fits(reqs: R[]): boolean;
  /** decode slots not taken by running rows */
  freeSlots(): number;
  running(): string[];
  paused(): string[];
  admit(reqs: R[]): Promise<CallOutcome>;
  step(): Promise<CallOutcome>;
  evict(id: string): void;
  preempt(id: string): void;
  resume(id: string): void;
  /** cache rows a preempted request may keep (0: the engine cannot preempt) */
  readonly pausedRows: number;
  /**
   * How iterations are formed. Absent or 'split': `admit` prefills in a forward of its own and the harness then runs
   * a decode step in the same turn. 'prefill-first' (vLLM V0): an iteration is an admission's prefill or a decode
   * step, admissions first (the harness skips the decode step after one). 'chunked' (vLLM V1, Sarathi): `admit` only
   * registers; each `step` is one forward of every decode row and prefill chunks within a token budget.
   */
  readonly batching?: 'split' | 'prefill-first' | 'chunked';
  /** prompt tokens the next iteration can still take for new prefills (absent: no token budget) */
  admissionBudget?(): number;
  /** tokens admitting `req` takes from that budget */
  admissionCost?(req: R): number;
  /** whether a prefill may take less than its whole cost now and finish in later iterations (chunked prefill) */
  readonly partialPrefill?: boolean;
  /** whether the token budget bounds admissions × their longest prefill (a padded prefill batch) */
  readonly paddedPrefill?: boolean;
  /** KV tokens in use at most so far (paged memory), and the pool's size */
  kvPeak?(): number;
  readonly kvCapacity?: number;
  /** prompt tokens of `req` whose KV the engine would reuse if it were admitted now (a cached prefix) */
  cachedTokens?(req: R): number;
  /** prompt tokens not prefilled because their KV was reused so far */
  reusedTokens?(): number;
}

export interface SlotEngineOptions {
  maxBatch: number;
  kvBudget?: number | null;
  /** rows preempted requests may keep beyond maxBatch (their KV stays); default 0 */
  pausedRows?: number;
}

/** Engine-side state of one admitted request. */
export interface SlotRow<R extends StepRequest> {
  req: R;
  /** cache row (real engine) / bookkeeping slot (simulator) */
  slot: number;
  state: 'running' | 'paused' | 'finished';
  generated: number;
  eos: boolean;
}

/** Rows, slots and the KV budget, shared by both engines; subclasses generate. */
export abstract class SlotEngine<R extends StepRequest, Row extends SlotRow<R> = SlotRow<R>> implements StepEngine<R> {
  abstract readonly name: string;
  readonly maxBatch: number;
  readonly kvBudget: number | null;
  readonly pausedRows: number;
  protected readonly rows = new Map<string, Row>();
  private readonly freeList: number[];

  constructor(o: SlotEngineOptions) {
    if (!Number.isInteger(o.maxBatch) || o.maxBatch < 1)
      throw new Error(`maxBatch must be a positive integer, got ${o.maxBatch}`);
    if (o.kvBudget != null && !(o.kvBudget > 0))
      throw new Error(`the KV-token budget must be positive, got ${o.kvBudget}`);
    this.maxBatch = o.maxBatch;
    this.kvBudget = o.kvBudget ?? null;
    this.pausedRows = o.pausedRows ?? 0;
    if (!Number.isInteger(this.pausedRows) || this.pausedRows < 0)
      throw new Error(`pausedRows must be an integer ≥ 0, got ${o.pausedRows}`);
    this.freeList = Array.from({ length: this.maxBatch + this.pausedRows }, (_, i) => i).reverse();
  }

  /** Prefill `rows` (fresh, state running, generated 0): set each row's generated/eos after its first token. */
  protected abstract prefill(rows: Row[]): Promise<EngineCall>;
  /** One decode step of `rows` (running, unfinished): generated + 1 each, eos when it emitted EOS. */
  protected abstract decode(rows: Row[]): Promise<EngineCall>;
  /** A new row for a request in cache row `slot`. */
  protected abstract newRow(req: R, slot: number): Row;
  /** The row left the engine (its slot is free again). */
  protected abstract released(row: Row): void;

  reservation(req: R): number {
    return req.promptTokens + req.maxNewTokens;
  }

  kvReserved(): number {
    let s = 0;
    for (const r of this.rows.values()) s += this.reservation(r.req);
    return s;
  }

  fits(reqs: R[]): boolean {
    if (reqs.length > this.freeSlots() || reqs.length > this.freeList.length) return false;
    if (this.kvBudget === null) return true;
    return this.kvReserved() + reqs.reduce((s, r) => s + this.reservation(r), 0) <= this.kvBudget;
  }

  freeSlots(): number {
    return this.maxBatch - this.running().length;
  }

  running(): string[] {
    return this.ids('running');
  }

  paused(): string[] {
    return this.ids('paused');
  }

  async admit(reqs: R[]): Promise<CallOutcome> {
    for (const r of reqs) {
      if (this.rows.has(r.id)) throw new Error(`${this.name} engine: request ${r.id} is already admitted`);
      if (!(r.maxNewTokens >= 1))
        throw new Error(`${this.name} engine: request ${r.id} may generate ${r.maxNewTokens} tokens (needs ≥ 1)`);
      if (this.kvBudget !== null && this.reservation(r) > this.kvBudget) {
        throw new Error(
          `request ${r.id} needs ${this.reservation(r)} KV tokens (prompt ${r.promptTokens} + ${r.maxNewTokens} new), more than the whole KV budget of ${this.kvBudget}`,
        );
      }
    }
    if (!this.fits(reqs))
      throw new Error(
        `${this.name} engine: ${reqs.length} requests do not fit (free slots ${this.freeSlots()}, KV ${this.kvReserved()} of ${this.kvBudget ?? '∞'} reserved)`,
      );
    const rows = reqs.map((r) => {
      const row = this.newRow(r, this.freeList.pop()!);
      this.rows.set(r.id, row);
      return row;
    });
    const call = await this.prefill(rows);
    return { updates: rows.map((r) => this.settle(r)), call };
  }

  async step(): Promise<CallOutcome> {
    const rows = [...this.rows.values()].filter((r) => r.state === 'running');
    if (rows.length === 0) throw new Error(`${this.name} engine: step() with no running row`);
    const call = await this.decode(rows);
    return { updates: rows.map((r) => this.settle(r)), call };
  }

  evict(id: string): void {
    const row = this.get(id);
    this.rows.delete(id);
    this.freeList.push(row.slot);
    this.released(row);
  }

  preempt(id: string): void {
    const row = this.get(id);
    // a preempted row keeps the cache row it has; new admissions need a free one (admit checks), so rows never run out
    if (row.state !== 'running') throw new Error(`${this.name} engine: cannot preempt ${id}: it is ${row.state}`);
    row.state = 'paused';
  }

  resume(id: string): void {
    const row = this.get(id);
    if (row.state !== 'paused') throw new Error(`${this.name} engine: cannot resume ${id}: it is ${row.state}`);
    if (this.freeSlots() < 1) throw new Error(`${this.name} engine: no free decode slot to resume ${id}`);
    row.state = 'running';
  }

  /** Mark a row finished after a call when it emitted EOS or reached its cap. */
  private settle(row: Row): RowUpdate {
    const finished = row.eos || row.generated >= row.req.maxNewTokens;
    if (finished) row.state = 'finished';
    return { id: row.req.id, generated: row.generated, finished, eos: row.eos };
  }

  protected get(id: string): Row {
    const row = this.rows.get(id);
    if (!row) throw new Error(`${this.name} engine: no admitted request ${id}`);
    return row;
  }

  private ids(state: SlotRow<R>['state']): string[] {
    const out: string[] = [];
    for (const r of this.rows.values()) if (r.state === state) out.push(r.req.id);
    return out;
  }
}
