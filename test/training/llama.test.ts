import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import type { LlamaConfig } from '../../src/model/config.js';
import { Llama } from '../../src/model/llama.js';
import { batchTensors, collate, disposeBatch, type Example } from '../../src/training/batches.js';
import { fullHooks, loraHooks } from '../../src/training/llama-hooks.js';
import { causalLmLoss } from '../../src/training/losses.js';
import { train, type TrainOptions } from '../../src/training/trainer.js';
import type { LogEntry } from '../../src/training/checkpoint.js';
import { tmpDirs } from '../helpers/tmp.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const tmp = tmpDirs('seqsch-train-llama-');

const CONFIG: LlamaConfig = {
  hiddenSize: 16,
  intermediateSize: 32,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
  headDim: 8,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  maxPositionEmbeddings: 64,
  vocabSize: 24,
  tieWordEmbeddings: false,
  bosTokenId: 1,
  eosTokenId: 2,
  padTokenId: 0,
};

// A tiny overfit task: BOS + 3 prompt tokens → 3 answer tokens + EOS; loss on the answer and EOS only.
// Row lengths differ by one so batches get padded.
const EXAMPLES: Example[] = [
  [5, 6, 7, 10, 11, 12],
  [8, 9, 13, 14, 15],
  [16, 17, 18, 19, 20, 21],
  [22, 23, 3, 4, 5],
].map((toks) => {
  const ids = [1, ...toks, 2];
  return { ids, labelMask: ids.map((_, t) => (t >= 4 ? 1 : 0)) };
});

function setup(dropout = 0.05): Llama {
  // std 0.3 instead of HF's 0.02: a random model with init-scale weights passes almost no signal from the
  // adapter to the logits; larger weights stand in for a trained base
  const model = Llama.random(CONFIG, 11, 0.3);
  model.attachLora({ r: 4, alpha: 8, dropout, targetModules: ['q_proj', 'v_proj'] }, 12);
  return model;
}

function opts(model: Llama, outDir: string, hooks = loraHooks(model), extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    ...hooks,
    examples: EXAMPLES,
    batchSize: 2,
    gradAccum: 1,
    epochs: 20,
    lr: 2e-2,
    warmupRatio: 0.03,
    seed: 1,
    outDir,
    ...extra,
  };
}

/** Mean answer loss over all examples, without dropout. */
function evalLoss(model: Llama): number {
  const batch = batchTensors(collate(EXAMPLES));
  const loss = tf.tidy(() => {
    const logits = model.forward(batch.inputIds, { attentionMask: batch.attentionMask }); // (B, T, V)
    return causalLmLoss(logits, batch.inputIds, batch.labelMask).dataSync()[0];
  });
  disposeBatch(batch);
  return loss;
}

const curve = (h: LogEntry[]) => h.map(({ seconds: _s, ...rest }) => rest);

describe('training the LLaMA model', () => {
  test('LoRA-only training lowers the loss and leaves every base weight bit-identical', async () => {
    const model = setup();
    const base = model.baseVariables().map((v) => v.dataSync().slice());
    const before = evalLoss(model);
    const res = await train(opts(model, tmp()));
    const after = evalLoss(model);
    // 40 steps at lr 2e-2 on 4 examples: measured 3.60 → 1.58; halving leaves margin for float differences
    expect(before).toBeGreaterThan(3);
    expect(after).toBeLessThan(0.5 * before);
    expect(res.history.length).toBe(40);
    model.baseVariables().forEach((v, i) => expect(v.dataSync()).toEqual(base[i]));
    // the checkpoints are PEFT adapter folders
    expect(existsSync(join(res.checkpoint, 'adapter_model.safetensors'))).toBe(true);
    expect(existsSync(join(res.checkpoint, 'adapter_config.json'))).toBe(true);
    model.dispose();
  });

  test.each([0, 0.05])(
    'LoRA training killed and resumed ends with the same adapter and curve (dropout %p)',
    async (dropout) => {
      const ref = setup(dropout);
      const full = await train(opts(ref, tmp(), undefined, { epochs: 4 }));
      const refAdapter = ref.lora!.variables().map((v) => Array.from(v.dataSync()));

      const out = tmp();
      const killed = setup(dropout);
      await expect(
        train(
          opts(killed, out, undefined, {
            epochs: 4,
            saveEvery: 3,
            onLog: (e) => {
              if (e.step === 5) throw new Error('kill');
            },
          }),
        ),
      ).rejects.toThrow('kill');
      killed.dispose();
      const resumed = setup(dropout);
      const res = await train(opts(resumed, out, undefined, { epochs: 4, saveEvery: 3 }));
      expect(res.resumedFrom).toBe(3);
      expect(resumed.lora!.variables().map((v) => Array.from(v.dataSync()))).toEqual(refAdapter);
      expect(curve(res.history)).toEqual(curve(full.history));
      [ref, resumed].forEach((m) => m.dispose());
    },
  );

  test('full-parameter training updates the base, saves HF folders and resumes from them', async () => {
    const run = async (outDir: string, extra: Partial<TrainOptions>) => {
      const model = Llama.random(CONFIG, 11);
      const res = await train(
        opts(model, outDir, fullHooks(model), { epochs: 3, lr: 1e-2, weightDecay: 0.1, ...extra }),
      );
      return { model, res };
    };
    const a = await run(tmp(), {});
    const out = tmp();
    await run(out, { stopAtStep: 2 }).then(({ model }) => model.dispose());
    expect(existsSync(join(out, 'checkpoint-2', 'model.safetensors'))).toBe(true);
    const b = await run(out, {});
    expect(b.res.resumedFrom).toBe(2);
    expect(curve(b.res.history)).toEqual(curve(a.res.history));
    b.model.baseVariables().forEach((v, i) => expect(v.dataSync()).toEqual(a.model.baseVariables()[i].dataSync()));
    expect(a.res.history.at(-1)!.loss).toBeLessThan(a.res.history[0].loss);
    [a.model, b.model].forEach((m) => m.dispose());
  });

  test('no tensor leaks across LoRA training steps', async () => {
    const model = setup();
    const counts: number[] = [];
    // equal-length rows, so the model's per-length caches (causal masks) are built at the first step only
    const same = EXAMPLES.map((e) => ({ ids: e.ids.slice(0, 7), labelMask: e.labelMask.slice(0, 7) }));
    await train(
      opts(model, tmp(), undefined, {
        examples: same,
        epochs: 2,
        onLog: () => void counts.push(tf.memory().numTensors),
      }),
    );
    expect(counts.length).toBe(4);
    expect(new Set(counts.slice(1)).size).toBe(1);
    model.dispose();
  });
});
