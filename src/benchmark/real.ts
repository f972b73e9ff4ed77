/**
 * One real-engine benchmark run from plain parameters: load an HF LLaMA (and optionally a PEFT adapter for
 * the seqsch length predictor), pick the strategy's predictor, run the shared driver with the tfjs engine.
 * Used by `seqsch benchmark` and the experiment runner's `benchmark` stage; the counterpart of simulate.ts.
 * It loads model and tokenizer; queries come in already sampled (items.ts).
 */
import { runBenchmark, type BatchTrace, type BenchmarkResult } from './driver.js';
import type { BenchItem } from '../core/query.js';
import { TfjsEngine } from '../engines/batch-tfjs.js';
import { filePredictor, gtPredictor, vanillaPredictor, type LengthPredictor } from '../perception/predictor.js';
import type { StrategyName } from '../core/names.js';
import type { ScheduleConfig } from '../scheduling/schedule.js';
import { loadLlama } from '../model/checkpoint.js';
import { LoraAdapter } from '../model/lora.js';
import type { Llama } from '../model/llama.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { generate } from '../generation/generate.js';
import { LENGTH_KEYS } from '../data/conversation.js';
import { poPredictor, seqschPredictor, PREDICT_BATCH, SEQSCH_MAX_NEW_TOKENS } from '../perception/model-predictors.js';
import { insertLengthPrompt, QUERY_PROMPT } from '../data/prompts.js';
import { LengthProbe } from '../perception/probe.js';
import { PromptStore, probePredictor } from '../engines/prompt-store.js';

export interface LoadedModel {
  model: Llama;
  tokenizer: Tokenizer;
  modelDir: string;
  loraDir?: string;
  /** the hidden-state length probe (strategy probe) */
  probe?: LengthProbe;
}

/** The base model and its tokenizer (from the same folder), with the adapter attached and the probe loaded when given. */
export async function loadBenchModel(modelDir: string, loraDir?: string, probeDir?: string): Promise<LoadedModel> {
  const model = loadLlama(modelDir);
  const tokenizer = await loadTokenizer(modelDir);
  if (loraDir) model.setLora(LoraAdapter.load(loraDir, model.config));
  return { model, tokenizer, modelDir, loraDir, ...(probeDir ? { probe: LengthProbe.load(probeDir) } : {}) };
}

export interface RealBenchmarkParams {
  strategy: StrategyName;
  /** po/seqsch predictions file ([{ id, predicted }]); without it they need a model-backed predictor */
  predictions?: string;
  schedule: ScheduleConfig;
  maxLength: number;
  groupSize: number;
  temperature?: number;
  seed?: number;
  onBatch?: (t: BatchTrace) => void;
}

/**
 * The strategy's predictor for a real run: vanilla, gt (recorded lengths), or po/seqsch — from a predictions
 * file when one is given, else the model itself (seqsch: the loaded LoRA adapter; po: the base model's PiA
 * answer), timed as part of the benchmark.
 */
export function realPredictor(strategy: StrategyName, loaded: LoadedModel, predictions?: string): LengthPredictor {
  if (strategy === 'vanilla') return vanillaPredictor;
  if (strategy === 'gt') return gtPredictor;
  if (predictions) return filePredictor(strategy, predictions);
  if (strategy === 'probe') throw new Error('strategy probe runs through benchmarkReal (its prefill is shared with the engine), or from a predictions file');
  if (strategy === 'seqsch') {
    if (!loaded.model.lora) throw new Error(`strategy seqsch needs the length-perception adapter (--lora DIR / lora:) or a predictions file`);
    return seqschPredictor(loaded.model, loaded.tokenizer);
  }
  return poPredictor(loaded.model, loaded.tokenizer);
}

/**
 * Run one untimed generation as large as the run's largest batch (rows × the longest prompt, a few steps), and
 * with a length-perception adapter one untimed prediction-sized batch with it on, and with a length probe one untimed
 * group prefill into a prompt store, so one-time costs — the wasm
 * heap growing to its working size, first-use kernel setup, the adapter's first use — are not charged to
 * whichever row happens to run first. Once per loaded model and size.
 */
const warmed = new WeakMap<LoadedModel, number>();
export async function warmUp(m: LoadedModel, items: BenchItem[], rows: number, groupSize = 0): Promise<void> {
  if ((warmed.get(m) ?? 0) >= rows || items.length === 0) return;
  const longest = items.reduce((a, b) => (b.prompt.length > a.prompt.length ? b : a)).prompt;
  const ids = m.tokenizer.encode(longest);
  const was = m.model.lora?.enabled;
  if (m.model.lora) m.model.lora.enabled = false;
  try {
    // sharePrefix off: identical prompts would share all but one token, and the prefill would stay small
    await generate(m.model, Array.from({ length: rows }, () => ids), { maxNewTokens: 8, eosTokenId: null, sharePrefix: false });
    if (m.model.lora) {
      m.model.lora.enabled = true;
      const asked = m.tokenizer.encode(insertLengthPrompt(longest, QUERY_PROMPT));
      const n = Math.min(PREDICT_BATCH, items.length);
      await generate(m.model, Array.from({ length: n }, () => asked), { maxNewTokens: SEQSCH_MAX_NEW_TOKENS, eosTokenId: null, sharePrefix: false });
    }
  } finally {
    if (m.model.lora) m.model.lora.enabled = was!;
  }
  // the probe's store holds a whole group's prompt keys/values: grow the heap to that size once, untimed
  if (m.probe && groupSize > 0) {
    const store = new PromptStore(m.model, m.tokenizer);
    await store.prefill(items.slice(0, groupSize).map((it) => it.prompt), m.probe.promptHidden);
    store.dispose();
  }
  warmed.set(m, rows);
}

/** The largest batch a schedule can form over `n` queries. */
function largestBatch(s: ScheduleConfig, n: number, groupSize: number): number {
  const cap = s.vbs ? Math.max(s.batchSize, s.vbsFallback, ...Object.values(s.vbsTable)) : s.batchSize;
  return Math.max(1, Math.min(cap, n, groupSize));
}

/**
 * One real-engine run. Strategy probe (without a predictions file) prefills each group's prompts once in a
 * PromptStore shared by the predictor (which reads the probe there) and the engine (whose batches start from it).
 */
export async function benchmarkReal(items: BenchItem[], loaded: LoadedModel, p: RealBenchmarkParams, predictor?: LengthPredictor): Promise<BenchmarkResult & { backend: string }> {
  let store: PromptStore | undefined;
  if (!predictor && p.strategy === 'probe' && !p.predictions) {
    if (!loaded.probe) throw new Error('strategy probe needs the length probe (probe: / --probe DIR) or a predictions file');
    store = new PromptStore(loaded.model, loaded.tokenizer);
  }
  const engine = new TfjsEngine(loaded.model, loaded.tokenizer, { temperature: p.temperature ?? 0, seed: p.seed ?? 0, prompts: store });
  await warmUp(loaded, items, largestBatch(p.schedule, items.length, p.groupSize), p.groupSize);
  try {
    const r = await runBenchmark(items, engine, predictor ?? (store ? probePredictor(store, loaded.probe!) : realPredictor(p.strategy, loaded, p.predictions)), {
      schedule: p.schedule, maxLength: p.maxLength, groupSize: p.groupSize, onBatch: p.onBatch,
    });
    return { ...r, backend: engine.backend };
  } finally {
    store?.dispose();
  }
}

/** L_max (max over the four temperatures) of a query, when its recorded lengths are known. */
export function recordedLMax(it: BenchItem): number | undefined {
  const ls = LENGTH_KEYS.map((k) => it.realLengths?.[k]);
  return ls.every((l) => typeof l === 'number') ? Math.max(...(ls as number[])) : undefined;
}
