/**
 * Training the hidden-state length probe (probe.ts) on the serving model's own states: the features are one layer's
 * hidden state at the generation prompt's last position (the total head, targets from the lenpred records of the
 * train split) and after each generated token of the model's greedy answers (the remaining head, targets = decode
 * steps left, EOS included). Heads are fitted by the project's trainer (src/training/trainer.ts: AdamW, cosine with
 * warmup, clipping), one example per feature row. The layer is chosen by measurement: every candidate layer's total
 * head is fitted on part of the train split and scored (Kendall τ) on the held-out rest. Validation queries are
 * only ever scored here, never fitted or selected on.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import type { Llama } from '../model/llama.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { generate } from '../generation/generate.js';
import { train } from '../training/trainer.js';
import type { Example } from '../training/batches.js';
import { headLoss } from '../scoring/heads.js';
import { LengthProbe, type ProbeHeadName } from './probe.js';
import { progress } from '../util/progress.js';

/** Feature rows (n, d) row-major and one target per row. */
export interface ProbeRows {
  features: Float32Array;
  n: number;
  d: number;
  targets: number[];
}

/** Run `fn` with the model's LoRA adapter (if any) switched off: the probe reads the plain serving model. */
async function withBaseModel<T>(model: Llama, fn: () => Promise<T>): Promise<T> {
  const lora = model.lora;
  const was = lora?.enabled ?? false;
  if (lora) lora.enabled = false;
  try {
    return await fn();
  } finally {
    if (lora) lora.enabled = was;
  }
}

/** Left-pad token rows into ids/mask (B, T) int32 tensors. */
function leftPadded(rows: number[][], pad: number): { ids: tf.Tensor2D; mask: tf.Tensor2D; T: number } {
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T).fill(pad);
  const mask = new Int32Array(rows.length * T);
  rows.forEach((r, b) => {
    ids.set(r, b * T + T - r.length);
    mask.fill(1, b * T + T - r.length, (b + 1) * T);
  });
  return { ids: tf.tensor2d(ids, [rows.length, T], 'int32'), mask: tf.tensor2d(mask, [rows.length, T], 'int32'), T };
}

/**
 * Hidden state of `layer` of each prompt (full vicuna prompts), at its last position or averaged over its positions
 * (`pool`), (n · d) in prompt order: one forward per batch of prompts sorted by length, computing what the engine's
 * prefill computes (up to float rounding; prefillPrompts pools the same way).
 */
export async function promptStates(
  model: Llama,
  tokenizer: Tokenizer,
  prompts: string[],
  layer: number,
  pool: 'last' | 'mean' = 'last',
  batchSize = 64,
): Promise<Float32Array> {
  const d = model.config.hiddenSize;
  const ids = prompts.map((p) => tokenizer.encode(p));
  const order = ids.map((_, i) => i).sort((a, b) => ids[a].length - ids[b].length);
  const out = new Float32Array(prompts.length * d);
  await withBaseModel(model, async () => {
    for (let s = 0; s < order.length; s += batchSize) {
      const rows = order.slice(s, s + batchSize);
      const h = tf.tidy(() => {
        const b = leftPadded(
          rows.map((i) => ids[i]),
          model.config.padTokenId,
        );
        const r = model.forwardWithHidden(b.ids, {
          attentionMask: b.mask,
          lastOnly: true,
          hiddenLayer: layer,
          hiddenAll: pool === 'mean',
        });
        if (pool === 'last') return r.hidden; // (B, 1, d)
        const m = tf.expandDims(tf.cast(b.mask, 'float32'), 2); // (B, T, 1)
        return tf.div(tf.sum(tf.mul(r.hidden, m), 1), tf.sum(m, 1)); // (B, d) mean over the real positions
      });
      const data = (await h.data()) as Float32Array;
      h.dispose();
      rows.forEach((i, r) => out.set(data.subarray(r * d, (r + 1) * d), i * d));
    }
  });
  return out;
}

export interface AnswerStatesOptions {
  layer: number;
  maxNewTokens: number;
  batchSize: number;
  /** keep at most this many positions per answer (seeded choice; the prompt's last position always kept) */
  positionsPerAnswer: number;
  seed: number;
}

/**
 * The remaining head's data: each prompt is answered greedily (as the benchmark's engine answers it), then the
 * prompt + answer is run once with teacher forcing and `layer`'s state read at the prompt's last position (t = 0)
 * and after each generated token t; the target is the decode steps left from there, (m + 1) − t for an answer of m
 * tokens that ended with EOS (an answer cut at the limit counts as if EOS came next: a lower bound). Returns the
 * rows and each answer's m + 1 (decode steps, EOS included) in prompt order.
 */
export async function answerStates(
  model: Llama,
  tokenizer: Tokenizer,
  prompts: string[],
  o: AnswerStatesOptions,
): Promise<ProbeRows & { steps: number[]; query: number[] }> {
  const d = model.config.hiddenSize;
  const ids = prompts.map((p) => tokenizer.encode(p));
  const order = ids.map((_, i) => i).sort((a, b) => ids[a].length - ids[b].length);
  const rng = seedrandom(`seqsch-probe-positions/${o.seed}`);
  const chunks: Float32Array[] = [];
  const targets: number[] = [];
  const query: number[] = [];
  const steps = new Array<number>(prompts.length);
  const bar = progress('probe: answers', prompts.length);
  try {
    await withBaseModel(model, async () => {
      for (let s = 0; s < order.length; s += o.batchSize) {
        const rows = order.slice(s, s + o.batchSize);
        const g = await generate(
          model,
          rows.map((i) => ids[i]),
          { maxNewTokens: o.maxNewTokens, temperature: 0, eosTokenId: tokenizer.eosId },
        );
        const seqs = rows.map((i, r) => [...ids[i], ...g.items[r].outputIds]);
        const h = tf.tidy(() => {
          const b = leftPadded(seqs, model.config.padTokenId);
          return model.forwardWithHidden(b.ids, { attentionMask: b.mask, hiddenLayer: o.layer }).hidden; // (B, T, d)
        });
        const data = (await h.data()) as Float32Array;
        const T = h.shape[1];
        h.dispose();
        rows.forEach((i, r) => {
          const m = g.items[r].outputIds.length;
          const total = m + 1; // decode steps until (and with) EOS
          steps[i] = total;
          const first = T - seqs[r].length + ids[i].length - 1; // column of the prompt's last token
          // positions t = 0 … m; keep t = 0 and a seeded sample of the rest
          const ts = Array.from({ length: m }, (_, k) => k + 1);
          for (let k = ts.length - 1; k > 0; k--) {
            const j = Math.floor(rng() * (k + 1));
            [ts[k], ts[j]] = [ts[j], ts[k]];
          }
          for (const t of [0, ...ts.slice(0, Math.max(0, o.positionsPerAnswer - 1))]) {
            chunks.push(data.slice((r * T + first + t) * d, (r * T + first + t + 1) * d));
            targets.push(total - t);
            query.push(i);
          }
        });
        bar.tick(rows.length);
      }
    });
  } finally {
    bar.stop();
  }
  const features = new Float32Array(targets.length * d);
  chunks.forEach((c, k) => features.set(c, k * d));
  return { features, n: targets.length, d, targets, steps, query };
}

/** Rows `idx` of a feature table. */
export function pickRows(rows: ProbeRows, idx: number[]): ProbeRows {
  const { d } = rows;
  const features = new Float32Array(idx.length * d);
  idx.forEach((i, k) => features.set(rows.features.subarray(i * d, (i + 1) * d), k * d));
  return { features, n: idx.length, d, targets: idx.map((i) => rows.targets[i]) };
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
  seed: number;
  label?: string;
}

/**
 * Fit one head of `probe` on (features, targets) with the project's trainer: the input standardisation comes from
 * these rows, each example is one row (its single "token id" is the row's index, so the loss reads the batch's rows
 * from the trainer's own seeded batches), the loss is the head kind's (buckets: soft-label cross-entropy; log-mse;
 * l1). The trainer's checkpoints go to a temporary folder that is removed afterwards. Returns the last loss.
 */
export async function fitProbeHead(
  probe: LengthProbe,
  head: ProbeHeadName,
  rows: ProbeRows,
  o: FitOptions,
): Promise<{ loss: number; seconds: number; steps: number }> {
  const cfg = probe.config.heads[head];
  if (!cfg) throw new Error(`fitProbeHead: the probe has no '${head}' head`);
  probe.setStandardisation(head, rows.features, rows.n);
  const X = tf.tensor2d(rows.features, [rows.n, rows.d]);
  const examples: Example[] = Array.from({ length: rows.n }, (_, i) => ({ ids: [i], labelMask: [0] }));
  const runDir = mkdtempSync(join(tmpdir(), 'seqsch-probe-'));
  const t0 = performance.now();
  try {
    const { label, ...fit } = o; // epochs, batch size, lr, weight decay, warmup, seed: the trainer's own option names
    const r = await train({
      params: probe.variables(head),
      examples,
      ...fit,
      outDir: runDir,
      keepCheckpoints: 1,
      label: label ?? `probe ${head}`,
      lossFn: (batch) => {
        const idx = tf.reshape(batch.inputIds, [-1]) as tf.Tensor1D; // (B) row indices
        const targets = Array.from(idx.dataSync(), (i) => rows.targets[i]);
        return headLoss(cfg.head, probe.outputs(head, tf.gather(X, idx) as tf.Tensor2D), targets);
      },
      saveState: async () => {},
      loadState: async () => {
        throw new Error('fitProbeHead: a fresh temporary folder has nothing to resume');
      },
    });
    const last = r.history[r.history.length - 1];
    return { loss: last?.loss ?? NaN, seconds: (performance.now() - t0) / 1000, steps: r.step };
  } finally {
    X.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
}
