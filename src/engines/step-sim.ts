/**
 * The simulated step engine: the same slots, budget and calls as the real one (step.ts), over recorded
 * response lengths, charged by a cost model (src/cost/costmodel.ts). A request needs R new tokens, its
 * recorded length (the answer + EOS, as the batch simulator reads `L_t0.0`; a recording cut at its limit
 * never ends): the prefill emits the first, each decode step one more. Time, in the semantics the static
 * simulator and `calibrate` use (a prefill forward is also one of a batch's steps):
 *   prefill of n prompts padded to P:  prefill(n, P) + step(n, P)   (P less a shared prefix the engine caches)
 *   decode step of bs rows:            step(bs, Σ attended / bs), attended = prompt + generated
 * It decides nothing about order; the serving harness does.
 */
import type { CostModel } from '../cost/costmodel.js';
import type { EngineCall } from '../cost/calls.js';
import { SlotEngine, type SlotEngineOptions, type SlotRow, type StepRequest } from './step.js';

export interface SimStepRequest extends StepRequest {
  /** new tokens the request needs to emit EOS (Infinity: it never does within the recording) */
  needed: number;
}

export class SimStepEngine extends SlotEngine<SimStepRequest> {
  readonly name = 'sim';

  /** `prefixTokens`: a prompt prefix every request shares, computed once (prefix caching, as the real engine) */
  constructor(
    private readonly costModel: CostModel,
    o: SlotEngineOptions & { prefixTokens?: number },
  ) {
    super(o);
    this.prefixTokens = o.prefixTokens ?? 0;
  }

  private readonly prefixTokens: number;

  protected newRow(req: SimStepRequest, slot: number): SlotRow<SimStepRequest> {
    if (!(req.needed >= 1))
      throw new Error(`request ${req.id}: needs ${req.needed} new tokens (a recorded length ≥ 1: the answer + EOS)`);
    return { req, slot, state: 'running', generated: 0, eos: false };
  }

  protected released(): void {}

  protected async prefill(rows: SlotRow<SimStepRequest>[]): Promise<EngineCall> {
    const n = rows.length;
    const P = Math.max(...rows.map((r) => r.req.promptTokens)) - this.prefixTokens;
    for (const r of rows) this.emit(r);
    const ms = this.costModel.prefillMs(n, P) + this.costModel.stepMs(n, P);
    return { kind: 'prefill', rows: n, context: P, seconds: ms / 1000 };
  }

  protected async decode(rows: SlotRow<SimStepRequest>[]): Promise<EngineCall> {
    const bs = rows.length;
    const ctx = rows.reduce((s, r) => s + r.req.promptTokens + r.generated, 0) / bs;
    for (const r of rows) this.emit(r);
    return { kind: 'decode', rows: bs, context: ctx, seconds: this.costModel.stepMs(bs, ctx) / 1000 };
  }

  private emit(row: SlotRow<SimStepRequest>): void {
    row.generated++;
    if (row.generated >= row.req.needed) row.eos = true;
  }
}
