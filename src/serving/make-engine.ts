/**
 * The engine a serving configuration names, set up for the harness: the real tfjs model on the wall clock, or the
 * simulator (recorded lengths + a cost model) on a simulated clock; for either, the batch engine of the static
 * pipeline or the step engine of continuous batching. Loads (model, probe, cost model, shared prefix) are memoized
 * through the context. It runs no harness and picks no policy or predictor (run.ts, predictors.ts).
 */
import type { BenchItem } from '../core/query.js';
import type { LengthPredictor } from '../core/predictor.js';
import { initBackend, type BackendChoice } from '../core/backend.js';
import { defaultCostModel, loadCostModel, type CostModel } from '../cost/costmodel.js';
import type { Engine } from '../engines/batch.js';
import { SimulatedEngine } from '../engines/batch-sim.js';
import { TfjsEngine } from '../engines/batch-tfjs.js';
import type { StepEngine, StepRequest } from '../engines/step.js';
import { SimStepEngine, type SimStepRequest } from '../engines/step-sim.js';
import { TfjsStepEngine } from '../engines/step-tfjs.js';
import { loadModel, warmUp, type LoadedModel } from '../engines/load.js';
import { sharedPrefixLength } from '../generation/generate.js';
import { answerText } from '../perception/lenpred.js';
import { LengthProbe } from '../perception/probe.js';
import { countTokens, llamaTokenizer } from '../tokenizer/llama.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { ServeRequest } from '../workload/arrivals.js';
import { SimClock, WallClock, type Clock } from './clock.js';
import type { ServeConfig } from './config.js';
import { memo, type ServeContext } from './context.js';
import type { ServeResult } from './harness.js';
import { withProbeRemaining } from './predictors.js';
import { batchingOf, gpuStepEngine } from './gpu-engine.js';

/** A step engine ready for one continuous run: its form of each request, and what it adds before and after. */
export interface StepSetup {
  engine: StepEngine;
  toEngine(r: ServeRequest): StepRequest;
  /** the predictor, refined after each decode step by the engine's own hidden states when the config names a probe */
  refine(p: LengthPredictor | null): LengthPredictor | null;
  /** after the timed loop: upstream's count of every answer (the real engine), outside the timed loop */
  finish(result: ServeResult): void;
  dispose(): void;
}

export interface ServingEngine {
  /** the tfjs backend's name, or 'none' (the simulator) */
  backend: string;
  /** the model the real engine runs (model-backed predictors ask it) */
  loaded?: LoadedModel;
  /** the simulator's cost model (a predictor's perception charge reads it) */
  costModel?: CostModel;
  /** a new clock, started now */
  clock(): Clock;
  /** the static pipeline's batch engine */
  batchEngine(): Engine;
  /** a step engine with `pausedRows` cache rows for preempted requests */
  stepEngine(requests: ServeRequest[], pausedRows: number): Promise<StepSetup>;
}

/** The configuration's engine over these queries (the real one loaded and warmed up, untimed). */
export async function servingEngine(c: ServeConfig, items: BenchItem[], ctx: ServeContext): Promise<ServingEngine> {
  return c.engine === 'tfjs' ? tfjsEngine(c, items, ctx) : simEngine(c, items, ctx);
}

/** The real engine's model and tokenizer, with the adapter when the config names one (memoized). */
export function loadedModel(c: ServeConfig, ctx: ServeContext): Promise<LoadedModel> {
  return memo(ctx, `model:${c.model}|${c.lora ?? ''}`, () => loadModel(c.model!, c.lora));
}

/** The simulator's cost model: the file's, or the analytic A100-like default (memoized). */
function costModel(c: ServeConfig, ctx: ServeContext): CostModel {
  return memo(ctx, `costmodel:${c.cost_model ?? 'default'}`, () =>
    c.cost_model ? loadCostModel(c.cost_model) : defaultCostModel(),
  );
}

// ---- the real engine

async function tfjsEngine(c: ServeConfig, items: BenchItem[], ctx: ServeContext): Promise<ServingEngine> {
  const backend = await initBackend(c.backend as BackendChoice).then((b) => b.name);
  const loaded = await loadedModel(c, ctx);
  await warmUp(loaded, items, c.max_batch);
  return {
    backend,
    loaded,
    clock: () => new WallClock(),
    batchEngine: () => new TfjsEngine(loaded.model, loaded.tokenizer, { temperature: c.temperature, seed: c.seed }),
    stepEngine: async (requests, pausedRows) => {
      const probe = c.probe ? memo(ctx, `probe:${c.probe}`, () => loadServingProbe(c.probe!, loaded)) : undefined;
      const promptMax = items.reduce((m, it) => Math.max(m, it.promptTokens ?? 0), 0);
      const engine = new TfjsStepEngine(loaded.model, loaded.tokenizer, {
        maxBatch: c.max_batch,
        kvBudget: c.kv_budget ?? null,
        pausedRows,
        temperature: c.temperature,
        seed: c.seed,
        prefix: commonPrefix(c, items, loaded.tokenizer),
        hiddenLayer: probe?.layer,
        capacity: Math.min(loaded.model.config.maxPositionEmbeddings, promptMax + c.max_length + 8),
      });
      try {
        await warmContinuous(engine, items);
        const engineReq = new Map(requests.map((r) => [r.id, engine.request(r.id, r.item.prompt, c.max_length)]));
        return {
          engine,
          toEngine: (r) => engineReq.get(r.id)!,
          refine: (p) =>
            probe && p ? withProbeRemaining(p, probe, (ids) => engine.hiddenStates(ids), { every: c.probe_every }) : p,
          finish: (result) => {
            // upstream's count of every answer (the decoded answer re-tokenized with BOS)
            for (const rec of result.records) {
              const promptIds = engineReq.get(rec.id)!.promptIds;
              rec.numOutputTokens = countTokens(answerText(loaded.tokenizer, promptIds, engine.outputIds(rec.id)));
            }
          },
          dispose: () => engine.dispose(),
        };
      } catch (e) {
        engine.dispose();
        throw e;
      }
    },
  };
}

/** The token ids every prompt of the workload starts with (sharedPrefixLength's rule), or none. */
function commonPrefix(c: ServeConfig, items: BenchItem[], tokenizer: Tokenizer): number[] {
  if (!c.prefix_cache || items.some((it) => !it.prompt)) return [];
  const ids = items.map((it) => tokenizer.encode(it.prompt));
  return ids[0].slice(0, sharedPrefixLength(ids));
}

/**
 * Untimed: one admission of a full batch of the longest prompt and a few steps, so heap growth and first-use costs
 * are not charged to the run.
 */
async function warmContinuous(engine: TfjsStepEngine, items: BenchItem[]): Promise<void> {
  const longest = items.reduce((a, b) => (b.prompt.length > a.prompt.length ? b : a)).prompt;
  const reqs = Array.from({ length: engine.maxBatch }, (_, i) => engine.request(`warm-${i}`, longest, 4));
  await engine.admit(reqs);
  while (engine.running().length) await engine.step();
  for (const r of reqs) engine.evict(r.id);
}

/** A length probe with a remaining head, trained on this model's hidden size (refused naming the folder otherwise). */
function loadServingProbe(dir: string, loaded: LoadedModel): LengthProbe {
  const probe = LengthProbe.load(dir);
  if (!probe.has('remaining'))
    throw new Error(
      `${dir}: the probe has no 'remaining' head (train it with remaining queries > 0): srpt needs a per-step estimate`,
    );
  probe.checkFits(loaded.model.config, dir);
  return probe;
}

// ---- the simulator

function simEngine(c: ServeConfig, items: BenchItem[], ctx: ServeContext): ServingEngine {
  const cm = costModel(c, ctx);
  return {
    backend: 'none',
    costModel: cm,
    clock: () => new SimClock(),
    batchEngine: () =>
      new SimulatedEngine({
        realLengths: c.real_lengths,
        recordedMaxLength: c.recorded_max_length,
        costModel: cm,
        defaultPromptTokens: c.default_prompt_tokens,
      }),
    stepEngine: async (requests, pausedRows) => {
      // the shared prefix in LLaMA-1 tokens, as the recorded prompt counts are
      const key = `prefix:${c.data}|${c.num_data}|${c.seed}|${c.prefix_cache}|${c.trace_requests}`;
      const prefixTokens = memo(ctx, key, () => commonPrefix(c, items, llamaTokenizer()).length);
      const batching = batchingOf(c, cm.iteration !== undefined);
      if (batching !== 'split') {
        const gpu = gpuStepEngine(c, cm.iteration!, {
          batching,
          requests,
          pausedRows,
          prefixTokens,
          needed: (r) => recordedNeed(r.item, c),
        });
        return { engine: gpu.engine, toEngine: gpu.toEngine, refine: (p) => p, finish: () => {}, dispose: () => {} };
      }
      const limits = { maxBatch: c.max_batch, kvBudget: c.kv_budget ?? null, pausedRows };
      const engine = new SimStepEngine(cm, { ...limits, prefixTokens });
      return {
        engine,
        toEngine: (r): SimStepRequest => ({
          id: r.id,
          promptTokens: r.item.promptTokens ?? c.default_prompt_tokens,
          maxNewTokens: c.max_length,
          needed: recordedNeed(r.item, c),
        }),
        refine: (p) => p,
        finish: () => {},
        dispose: () => {},
      };
    },
  };
}

/** New tokens a query needs in the simulator: its recorded length, or never (Infinity) when the recording was cut. */
function recordedNeed(it: BenchItem, c: ServeConfig): number {
  const r = it.realLengths?.[c.real_lengths];
  if (typeof r !== 'number')
    throw new Error(
      `query ${it.id}: no recorded length "${c.real_lengths}" (keys: ${Object.keys(it.realLengths ?? {}).join(', ') || 'none'})`,
    );
  return r <= c.recorded_max_length ? r : Infinity;
}
