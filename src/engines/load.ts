/**
 * Model loading for the real engines of both loops: an HF LLaMA folder and its tokenizer, with the seqsch
 * length-perception adapter (PEFT) attached and the hidden-state length probe loaded when given (`loadModel`);
 * `warmUp` runs the untimed first generation that grows the wasm heap before anything is timed. It builds no
 * engine and picks no predictor (model-predictors.ts, prompt-store.ts).
 */
import type { BenchItem } from '../core/query.js';
import { loadLlama } from '../model/checkpoint.js';
import { LoraAdapter } from '../model/lora.js';
import type { Llama } from '../model/llama.js';
import { loadModelTokenizer } from '../model/gguf/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { generate } from '../generation/generate.js';
import { PREDICT_BATCH, SEQSCH_MAX_NEW_TOKENS } from '../perception/model-predictors.js';
import { insertLengthPrompt, QUERY_PROMPT } from '../data/prompts.js';
import { LengthProbe } from '../perception/probe.js';
import { PromptStore } from './prompt-store.js';
import { requireEngineMemory } from './memory-check.js';
import { activeBackend } from '../core/backend.js';

export interface LoadedModel {
  model: Llama;
  tokenizer: Tokenizer;
  modelDir: string;
  loraDir?: string;
  /** the hidden-state length probe (strategy probe) */
  probe?: LengthProbe;
}

/** The base model and its tokenizer (from the same folder, or a GGUF file's metadata), with the adapter attached and the probe loaded when given. */
export async function loadModel(modelDir: string, loraDir?: string, probeDir?: string): Promise<LoadedModel> {
  const model = loadLlama(modelDir);
  const tokenizer = await loadModelTokenizer(modelDir); // a .gguf file carries its own
  if (loraDir) model.setLora(LoraAdapter.load(loraDir, model));
  return { model, tokenizer, modelDir, loraDir, ...(probeDir ? { probe: LengthProbe.load(probeDir) } : {}) };
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
  // the run's largest batch must fit: refused here, before the warm-up allocates it (memory-check.ts)
  requireEngineMemory(m.model.config, {
    rows,
    positions: ids.length + 8,
    parameters: m.model.numParameters(),
    backend: activeBackend()?.name ?? 'wasm',
    what: `the warm-up batch of ${rows} rows (the run's largest batch) of the longest prompt`,
    lower: 'max batch (--max-batch / max_batch) or batch size (--batch-size / batch_size)',
  });
  const was = m.model.lora?.enabled;
  if (m.model.lora) m.model.lora.enabled = false;
  try {
    // sharePrefix off: identical prompts would share all but one token, and the prefill would stay small
    await generate(
      m.model,
      Array.from({ length: rows }, () => ids),
      { maxNewTokens: 8, eosTokenId: null, sharePrefix: false },
    );
    if (m.model.lora) {
      m.model.lora.enabled = true;
      const asked = m.tokenizer.encode(insertLengthPrompt(longest, QUERY_PROMPT));
      const n = Math.min(PREDICT_BATCH, items.length);
      await generate(
        m.model,
        Array.from({ length: n }, () => asked),
        { maxNewTokens: SEQSCH_MAX_NEW_TOKENS, eosTokenId: null, sharePrefix: false },
      );
    }
  } finally {
    if (m.model.lora) m.model.lora.enabled = was!;
  }
  // the probe's store holds a whole group's prompt keys/values: grow the heap to that size once, untimed
  if (m.probe && groupSize > 0) {
    const store = new PromptStore(m.model, m.tokenizer);
    await store.prefill(
      items.slice(0, groupSize).map((it) => it.prompt),
      m.probe.promptHidden,
    );
    store.dispose();
  }
  warmed.set(m, rows);
}
