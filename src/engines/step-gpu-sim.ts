/**
 * A simulated vLLM-class GPU server, iteration by iteration: paged KV memory (kv-blocks.ts), a token budget per
 * iteration (vLLM's `max_num_batched_tokens`), chunked prefill or prefill-first iterations, recompute preemption
 * when blocks run out, and prefix reuse from a trace's block hashes (prefix-cache.ts). Each forward is charged by a
 * GPU iteration cost model (src/cost/iteration.ts) from what it holds: prefill chunks, decode rows and their KV.
 * Responses are recorded lengths, as in the other simulator (step-sim.ts). It decides no order: the serving harness
 * asks its policy which waiting requests to admit; the engine only says what fits (slots, blocks, token budget).
 *
 * Batching modes (`batching`), as the servers people run:
 *   chunked        vLLM V1 / Sarathi: one forward per iteration holds every decode row (one token each) and then
 *                  prefill chunks — earlier admissions first — within the token budget; `admit` only registers
 *                  requests (their blocks for the whole prompt are taken then, as vLLM and Vidur do).
 *   prefill-first  vLLM V0: an iteration is either a prefill of newly admitted prompts (whole, Σ tokens within the
 *                  budget) or a decode step of every running row; admissions go first (the harness skips the decode
 *                  step after an admission).
 * Preemption (as vLLM's recompute mode and Vidur): before a decode, each running row, oldest arrival first, takes a
 * block when its next token crosses a block edge; when none is free the newest running row is taken out — its blocks
 * freed, its tokens kept — and waits again; re-admitted, it prefills its prompt and what it had generated.
 */
import type { EngineCall } from '../cost/calls.js';
import type { IterationCostModel, PrefillChunk } from '../cost/iteration.js';
import { KvBlockPool, type KvBlockOptions } from './kv-blocks.js';
import { PrefixCache } from './prefix-cache.js';
import type { CallOutcome, RowUpdate, StepEngine, StepRequest } from './step.js';

export type Batching = 'chunked' | 'prefill-first';

export interface GpuSimRequest extends StepRequest {
  /** new tokens the request needs to emit EOS (Infinity: never within the recording) */
  needed: number;
  /** arrival (s): the preemption order (newest first out) */
  arrival: number;
  /** a trace's prompt block hashes (Mooncake `hash_ids`) and the tokens each covers */
  hashIds?: readonly number[];
  hashBlockTokens?: number;
}

export interface GpuSimOptions extends KvBlockOptions {
  /** requests holding a decode slot (running or prefilling): vLLM's max_num_seqs */
  maxBatch: number;
  /** tokens one iteration computes at most (decode rows count one each): vLLM's max_num_batched_tokens */
  maxBatchedTokens: number;
  /** prefill-first: the budget bounds rows × the longest prompt (a padded batch, as Vidur's vLLM scheduler) */
  paddedPrefill?: boolean;
  batching: Batching;
  /** a prompt prefix every request shares, computed once and kept (tokens; the text workloads' system prompt) */
  prefixTokens?: number;
  /** reuse prompt prefixes across requests by their hash ids (requests that carry them) */
  prefixReuse?: boolean;
  /** cache rows for requests a policy pauses (their blocks stay) */
  pausedRows?: number;
}

interface GpuRow {
  req: GpuSimRequest;
  /** admission order: chunks of earlier admissions go first */
  seq: number;
  state: 'prefilling' | 'running' | 'paused' | 'finished';
  /** tokens the prefill computes in all: the prompt, and after a recompute what was generated before */
  prefillTarget: number;
  /** of prefillTarget, tokens whose KV exists (a reused prefix counts) */
  prefilled: number;
  generated: number;
  eos: boolean;
}

export class GpuSimEngine implements StepEngine<GpuSimRequest> {
  readonly name = 'gpu-sim';
  readonly maxBatch: number;
  readonly pausedRows: number;
  readonly batching: Batching;
  readonly kv: KvBlockPool;
  private readonly rows = new Map<string, GpuRow>();
  /** tokens generated before a recompute preemption, by request: kept across its re-admission */
  private readonly carried = new Map<string, number>();
  /** made on the first request with hash ids: as many hash blocks as the pool holds tokens (cached blocks live in
   * vLLM's free pool until evicted) */
  private prefixes: PrefixCache | null = null;
  private readonly prefixReuse: boolean;
  private readonly prefixTokens: number;
  private readonly maxBatchedTokens: number;
  private seq = 0;
  private holders = 0; // rows prefilling or running (decode slots taken)
  /** iterations run, and prompt tokens skipped by prefix reuse */
  readonly stats = { iterations: 0, recomputes: 0, reusedTokens: 0 };

  constructor(
    private readonly cost: IterationCostModel,
    o: GpuSimOptions,
  ) {
    if (!Number.isInteger(o.maxBatch) || o.maxBatch < 1)
      throw new Error(`maxBatch must be a positive integer, got ${o.maxBatch}`);
    if (!Number.isInteger(o.maxBatchedTokens) || o.maxBatchedTokens < 1)
      throw new Error(`max_num_batched_tokens must be a positive integer, got ${o.maxBatchedTokens}`);
    this.maxBatch = o.maxBatch;
    this.pausedRows = o.pausedRows ?? 0;
    this.batching = o.batching;
    this.maxBatchedTokens = o.maxBatchedTokens;
    this.paddedPrefill = o.batching === 'prefill-first' && (o.paddedPrefill ?? false);
    this.kv = new KvBlockPool(o);
    this.prefixTokens = o.prefixTokens ?? 0;
    this.prefixReuse = o.prefixReuse ?? false;
    if (this.prefixReuse) this.cachedTokens = (req) => this.reusable(req);
  }

  get kvBudget(): number {
    return (this.kv.numBlocks - this.kv.watermarkBlocks) * this.kv.blockSize;
  }

  /** Tokens the request's prefill computes in all (prompt + what it generated before a recompute). */
  private prefillTokens(req: GpuSimRequest): number {
    return req.promptTokens + (this.carried.get(req.id) ?? 0);
  }

  /** KV tokens admitting `req` takes: the blocks of its whole prefill (what the harness's plan counts). */
  reservation(req: GpuSimRequest): number {
    return this.kv.blocksFor(this.prefillTokens(req)) * this.kv.blockSize;
  }

  kvReserved(): number {
    return this.kv.inUse * this.kv.blockSize;
  }

  /** KV tokens in use at most so far, and the pool's size. */
  kvPeak(): number {
    return this.kv.peak * this.kv.blockSize;
  }
  reusedTokens(): number {
    return this.stats.reusedTokens;
  }
  get kvCapacity(): number {
    return this.kv.numBlocks * this.kv.blockSize;
  }

  /**
   * Tokens of the next iteration still free for new prefills: the budget less one per decode row and less the
   * chunks of prefills under way (chunked); prefill-first: the whole budget (an admission is a prefill iteration).
   */
  admissionBudget(): number {
    if (this.batching === 'prefill-first') return this.maxBatchedTokens;
    let used = 0;
    for (const r of this.rows.values()) {
      if (r.state === 'running') used += 1;
      else if (r.state === 'prefilling') used += r.prefillTarget - r.prefilled;
      if (used >= this.maxBatchedTokens) return 0;
    }
    return this.maxBatchedTokens - used;
  }

  /** Tokens admitting `req` takes from that budget (chunked: a part may wait for later iterations). */
  admissionCost(req: GpuSimRequest): number {
    return this.prefillTokens(req) - this.reusable(req);
  }

  /** prefill-first with a padded budget: rows × the longest prompt of an admission (Vidur's vLLM scheduler) */
  readonly paddedPrefill: boolean;

  /** Whether the engine can take a request whose prefill does not fit the budget whole (chunked prefill). */
  get partialPrefill(): boolean {
    return this.batching === 'chunked';
  }

  fits(reqs: GpuSimRequest[]): boolean {
    if (reqs.length > this.freeSlots()) return false;
    const blocks = reqs.reduce((s, r) => s + this.kv.blocksFor(this.prefillTokens(r)), 0);
    return this.kv.canAdmit(blocks);
  }

  freeSlots(): number {
    return this.maxBatch - this.holders;
  }

  running(): string[] {
    return this.ids((s) => s === 'running' || s === 'prefilling');
  }

  paused(): string[] {
    return this.ids((s) => s === 'paused');
  }

  /**
   * Prompt tokens of `req` whose KV would be reused if admitted now (for the policies that order by uncached prompt);
   * absent without prefix reuse, where it is the shared prefix for every request and never changes.
   */
  readonly cachedTokens?: (req: GpuSimRequest) => number;

  private reusable(req: GpuSimRequest): number {
    let n = this.prefixTokens;
    if (this.prefixReuse && req.hashIds?.length && req.hashBlockTokens) {
      this.prefixes ??= new PrefixCache(Math.max(1, Math.floor(this.kvCapacity / req.hashBlockTokens)));
      n = Math.max(n, this.prefixes.cachedBlocks(req.hashIds) * req.hashBlockTokens);
    }
    return Math.min(n, req.promptTokens - 1);
  }

  async admit(reqs: GpuSimRequest[]): Promise<CallOutcome> {
    const fresh: GpuRow[] = [];
    for (const req of reqs) {
      if (this.rows.has(req.id)) throw new Error(`${this.name} engine: request ${req.id} is already admitted`);
      if (!(req.maxNewTokens >= 1))
        throw new Error(`${this.name} engine: request ${req.id} may generate ${req.maxNewTokens} tokens (needs ≥ 1)`);
      if (!(req.needed >= 1))
        throw new Error(`request ${req.id}: needs ${req.needed} new tokens (a recorded length ≥ 1: the answer + EOS)`);
      if (this.holders >= this.maxBatch)
        throw new Error(`${this.name} engine: no free decode slot for ${req.id} (max batch ${this.maxBatch})`);
      const target = this.prefillTokens(req);
      const blocks = this.kv.blocksFor(target);
      if (!this.kv.canAdmit(blocks))
        throw new Error(
          `${this.name} engine: ${req.id} needs ${blocks} KV blocks, ${this.kv.free} free (watermark ${this.kv.watermarkBlocks})`,
        );
      this.kv.allocate(req.id, blocks);
      const reused = this.reusable(req);
      this.stats.reusedTokens += reused;
      const row: GpuRow = {
        req,
        seq: this.seq++,
        state: 'prefilling',
        prefillTarget: target,
        prefilled: reused,
        generated: this.carried.get(req.id) ?? 0,
        eos: false,
      };
      this.carried.delete(req.id);
      this.rows.set(req.id, row);
      this.holders++;
      fresh.push(row);
    }
    if (this.batching === 'chunked') return { updates: [], call: null }; // the next iteration computes them
    // prefill-first: one forward of the whole new prompts
    const chunks: PrefillChunk[] = fresh.map((r) => ({ tokens: r.prefillTarget - r.prefilled, cached: r.prefilled }));
    const ms = this.cost.iterationMs({ prefills: chunks, decodeRows: 0, decodeContext: 0 });
    this.stats.iterations++;
    const updates = fresh.map((r) => {
      r.prefilled = r.prefillTarget;
      return this.prefillDone(r);
    });
    const width = chunks.reduce((m, c) => Math.max(m, c.tokens), 0);
    return { updates, call: { kind: 'prefill', rows: fresh.length, context: width, seconds: ms / 1000 } };
  }

  async step(): Promise<CallOutcome> {
    const updates: RowUpdate[] = [];
    const decoding = this.decodeRows(updates);
    let used = decoding.length;
    const chunks: PrefillChunk[] = [];
    const chunked: GpuRow[] = [];
    if (this.batching === 'chunked') {
      // prefills under way, in admission order, within what the decode rows left of the budget
      const prefilling = [...this.rows.values()].filter((r) => r.state === 'prefilling').sort((a, b) => a.seq - b.seq);
      for (const r of prefilling) {
        const n = Math.min(r.prefillTarget - r.prefilled, this.maxBatchedTokens - used);
        if (n <= 0) break;
        chunks.push({ tokens: n, cached: r.prefilled });
        chunked.push(r);
        used += n;
      }
    }
    if (decoding.length === 0 && chunks.length === 0) {
      if (updates.length) return { updates, call: null }; // every decode row was preempted
      throw new Error(`${this.name} engine: step() with nothing to compute`);
    }
    let context = 0;
    for (const r of decoding) context += r.req.promptTokens + r.generated;
    const ms = this.cost.iterationMs({ prefills: chunks, decodeRows: decoding.length, decodeContext: context });
    this.stats.iterations++;
    for (const r of decoding) {
      r.generated++;
      if (r.generated >= r.req.needed) r.eos = true;
      updates.push(this.settle(r));
    }
    chunked.forEach((r, i) => {
      r.prefilled += chunks[i].tokens;
      if (r.prefilled >= r.prefillTarget) updates.push(this.prefillDone(r));
    });
    const kind = chunks.length === 0 ? 'decode' : decoding.length === 0 ? 'prefill' : 'mixed';
    const ctx = decoding.length ? context / decoding.length : 0;
    return { updates, call: { kind, rows: decoding.length + chunks.length, context: ctx, seconds: ms / 1000 } };
  }

  /**
   * The rows that decode this iteration, each holding a block for its next token. Oldest arrival first; when the
   * pool is short, the newest running row is preempted (recompute) — reported in `updates` — until the rest fit.
   */
  private decodeRows(updates: RowUpdate[]): GpuRow[] {
    const rows: GpuRow[] = [];
    let need = 0;
    for (const r of this.rows.values()) {
      if (r.state !== 'running') continue;
      rows.push(r);
      if (this.kv.blocksFor(r.req.promptTokens + r.generated) > this.kv.holding(r.req.id)) need++;
    }
    if (need <= this.kv.free) {
      for (const r of rows) this.kv.grow(r.req.id, r.req.promptTokens + r.generated);
      return rows;
    }
    rows.sort((a, b) => a.req.arrival - b.req.arrival || a.seq - b.seq);
    const kept: GpuRow[] = [];
    while (rows.length) {
      const r = rows.shift()!;
      let ok = this.kv.grow(r.req.id, r.req.promptTokens + r.generated);
      while (!ok && rows.length) {
        updates.push(this.recompute(rows.pop()!));
        ok = this.kv.grow(r.req.id, r.req.promptTokens + r.generated);
      }
      if (ok) kept.push(r);
      else updates.push(this.recompute(r));
    }
    return kept;
  }

  /** Take a running row out: blocks freed, tokens kept for its re-admission. */
  private recompute(r: GpuRow): RowUpdate {
    this.kv.release(r.req.id);
    this.rows.delete(r.req.id);
    this.holders--;
    this.carried.set(r.req.id, r.generated);
    this.stats.recomputes++;
    return { id: r.req.id, generated: r.generated, finished: false, eos: false, recomputed: true };
  }

  /** A prefill finished: its last position emits the next token; its hash blocks are cached. */
  private prefillDone(r: GpuRow): RowUpdate {
    if (this.prefixes && r.req.hashIds?.length) this.prefixes.insert(r.req.hashIds);
    r.state = 'running';
    r.generated++;
    if (r.generated >= r.req.needed) r.eos = true;
    return this.settle(r);
  }

  private settle(r: GpuRow): RowUpdate {
    const finished = r.eos || r.generated >= r.req.maxNewTokens;
    if (finished) r.state = 'finished';
    return { id: r.req.id, generated: r.generated, finished, eos: r.eos };
  }

  evict(id: string): void {
    const r = this.get(id);
    if (r.state !== 'paused') this.holders--;
    this.rows.delete(id);
    this.kv.release(id);
  }

  /** A policy pauses a request: it keeps its blocks and its prefill progress (a prefill under way resumes there). */
  preempt(id: string): void {
    const r = this.get(id);
    if (r.state !== 'running' && r.state !== 'prefilling')
      throw new Error(`${this.name} engine: cannot preempt ${id}: it is ${r.state}`);
    r.state = 'paused';
    this.holders--;
  }

  resume(id: string): void {
    const r = this.get(id);
    if (r.state !== 'paused') throw new Error(`${this.name} engine: cannot resume ${id}: it is ${r.state}`);
    if (this.freeSlots() < 1) throw new Error(`${this.name} engine: no free decode slot to resume ${id}`);
    r.state = r.prefilled < r.prefillTarget ? 'prefilling' : 'running';
    this.holders++;
  }

  private get(id: string): GpuRow {
    const r = this.rows.get(id);
    if (!r) throw new Error(`${this.name} engine: no admitted request ${id}`);
    return r;
  }

  private ids(keep: (s: GpuRow['state']) => boolean): string[] {
    const out: string[] = [];
    for (const r of this.rows.values()) if (keep(r.state)) out.push(r.req.id);
    return out;
  }
}
