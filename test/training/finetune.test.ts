/**
 * finetune (conversations → trained model folder) in both modes on a toy LLaMA and the train stage's
 * skip-if-done logic. The committed base model is checked in tiny-v3.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { Llama } from '../../src/model/llama.js';
import { loadLlama } from '../../src/model/checkpoint.js';
import { configFromHF } from '../../src/model/config.js';
import { LoraAdapter } from '../../src/model/lora.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';
import { buildIdMap, remapTokenizer, type RemappedTokenizer } from '../../src/tokenizer/idmap.js';
import { llamaTokenizer, countTokens } from '../../src/tokenizer/llama.js';
import { firstTurn, loadConversations, vicunaPrompt, type Conversation } from '../../src/data/conversation.js';
import {
  conversationExamples,
  finetune,
  idMapTexts,
  packExamples,
  type FinetuneOptions,
  type FinetuneResult,
} from '../../src/training/finetune.js';
import { batchTensors, collate, disposeBatch, type Example } from '../../src/training/batches.js';
import { causalLmLoss } from '../../src/training/losses.js';
import { getStage } from '../../src/experiment/registry.js';
import '../../src/experiment/stages.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const tmp = tmpDirs('seqsch-finetune-');

// 20 short conversations of the synthetic corpus (answers ≤ 12 LLaMA tokens keep the toy runs fast)
const CONVS: Conversation[] = loadConversations(join(REPO_ROOT, 'data/synthetic-v3/train.json'))
  .filter((c) => countTokens(firstTurn(c, 'gpt')) <= 12)
  .slice(0, 20);
const TOKENIZER: RemappedTokenizer = remapTokenizer(llamaTokenizer(), buildIdMap(idMapTexts(CONVS), llamaTokenizer()));

function toyModel(std = 0.02): Llama {
  const config = configFromHF({
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    head_dim: 16,
    vocab_size: TOKENIZER.vocabSize,
    max_position_embeddings: 128,
  });
  return Llama.random(config, 3, std);
}

/** Mean answer-token loss of the examples under the model (eval mode: no LoRA dropout). */
function meanLoss(model: Llama, examples: Example[]): number {
  const b = batchTensors(collate(examples));
  try {
    return tf.tidy(
      () =>
        causalLmLoss(
          model.forward(b.inputIds, { attentionMask: b.attentionMask }),
          b.inputIds,
          b.labelMask,
        ).dataSync()[0],
    );
  } finally {
    disposeBatch(b);
  }
}

const TRAIN = { epochs: 3, batchSize: 4, gradAccum: 1, weightDecay: 0, warmupRatio: 0.1, seed: 1 };

/** Fine-tunes `model` on CONVS with TRAIN and `opts` into a fresh folder `out`; the mean loss before and after. */
async function finetuneToy(
  model: Llama,
  opts: Pick<FinetuneOptions, 'mode' | 'lr' | 'lora' | 'baseModelNameOrPath'>,
): Promise<{ examples: Example[]; before: number; after: number; r: FinetuneResult; out: string }> {
  const examples = conversationExamples(TOKENIZER, CONVS);
  const before = meanLoss(model, examples);
  const out = tmp();
  const r = await finetune({ model, tokenizer: TOKENIZER, conversations: CONVS, ...TRAIN, ...opts, outDir: out });
  return { examples, before, after: meanLoss(model, examples), r, out };
}

describe('finetune', () => {
  test('examples go through the id-mapped tokenizer with the answer-only mask', () => {
    const [ex] = conversationExamples(TOKENIZER, CONVS.slice(0, 1));
    const prompt = TOKENIZER.encode(vicunaPrompt(firstTurn(CONVS[0], 'human')));
    expect(Math.max(...ex.ids)).toBeLessThan(TOKENIZER.vocabSize);
    expect(ex.ids.slice(0, prompt.length)).toEqual(prompt);
    expect(ex.ids[ex.ids.length - 1]).toBe(TOKENIZER.eosId);
    expect(ex.labelMask.indexOf(1)).toBe(prompt.length);
    // the model ids map back to the LLaMA-1 ids of the same text (no unk: the map covers the corpus)
    expect(ex.ids).not.toContain(TOKENIZER.unkId);
  });

  test('packing keeps every example whole, in rows of at most packLength tokens', () => {
    const examples = conversationExamples(TOKENIZER, CONVS);
    const rows = packExamples(examples, 200, 0);
    expect(rows.length).toBeLessThan(examples.length);
    for (const r of rows) expect(r.ids.length).toBeLessThanOrEqual(200);
    const flat = (xs: Example[]) => xs.flatMap((e) => e.ids).sort((a, b) => a - b);
    expect(flat(rows)).toEqual(flat(examples));
    expect(rows.reduce((s, r) => s + r.ids.filter((id) => id === TOKENIZER.bosId).length, 0)).toBe(examples.length);
  });

  test('full mode lowers the loss and writes an HF folder with the id map that loads back', async () => {
    const model = toyModel();
    const { examples, before, after, r, out } = await finetuneToy(model, { mode: 'full', lr: 1e-2 });
    // from ln(V) ≈ 5 at init; 15 steps at lr 1e-2 reach well below (the data repeats the same prompt prefix)
    expect(before).toBeGreaterThan(Math.log(TOKENIZER.vocabSize) - 0.2);
    expect(after).toBeLessThan(before - 1.0);
    expect(r.train.finished).toBe(true);
    expect(r.files).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer_idmap.json', 'log.csv']),
    );
    expect(existsSync(join(out, 'checkpoint-15'))).toBe(false); // finished: the result is in outDir itself
    const loaded = loadLlama(out);
    const tok = (await loadTokenizer(out)) as RemappedTokenizer;
    try {
      expect(tok.keptIds).toEqual(TOKENIZER.keptIds);
      expect(meanLoss(loaded, examples)).toBeCloseTo(after, 5);
    } finally {
      loaded.dispose();
      model.dispose();
    }
  });

  test('lora mode lowers the loss, leaves the base bit-identical and writes a PEFT folder that loads back', async () => {
    const model = toyModel(0.3); // larger init so the adapter's signal reaches the logits (as a trained base)
    const base = model.baseVariables().map((v) => v.dataSync().slice());
    const { before, after, r, out } = await finetuneToy(model, {
      mode: 'lora',
      lora: { r: 4, alpha: 8, dropout: 0.05, targetModules: ['q_proj', 'v_proj'] },
      lr: 2e-2,
      baseModelNameOrPath: 'toy',
    });
    expect(after).toBeLessThan(before - 0.3);
    expect(r.trainableParameters).toBe(2 * 2 * (4 * 32 + 4 * 32)); // layers × {q, v} × (A + B)
    model
      .baseVariables()
      .forEach((v, i) => expect(Buffer.from(v.dataSync().buffer).equals(Buffer.from(base[i].buffer))).toBe(true));
    expect(r.files).toEqual(expect.arrayContaining(['adapter_config.json', 'adapter_model.safetensors', 'log.csv']));
    expect(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')).base_model_name_or_path).toBe('toy');
    const adapter = LoraAdapter.load(out, model.config);
    try {
      const trained = model.lora!.variables().map((v) => v.dataSync());
      adapter.variables().forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(Array.from(trained[i])));
    } finally {
      adapter.dispose();
      model.dispose();
    }
  });
});

describe('train stage', () => {
  test('skips a finished output for the same inputs and config, trains again when either changes', async () => {
    const dir = tmp();
    const data = join(dir, 'data.json');
    writeFileSync(data, JSON.stringify(CONVS.slice(0, 8)));
    const stage = getStage('train')!;
    const point = (extra: Record<string, unknown> = {}) =>
      stage.schema.parse({
        init_config: {
          hidden_size: 16,
          intermediate_size: 32,
          num_hidden_layers: 1,
          num_attention_heads: 2,
          head_dim: 8,
          max_position_embeddings: 128,
        },
        idmap_from: [data],
        data,
        out: join(dir, 'model'),
        mode: 'full',
        epochs: 1,
        batch_size: 4,
        grad_accum: 1,
        lr: 1e-3,
        seed: 0,
        ...extra,
      });
    const ctx = { outDir: dir, cache: <T>(_k: string, make: () => T) => make() };
    const first = await stage.run(point(), ctx);
    expect(first.record.skipped).toBe(false);
    expect(first.record.steps).toBe(2);
    expect(existsSync(join(dir, 'model', 'train_done.json'))).toBe(true);
    const again = await stage.run(point(), ctx);
    expect(again.record.skipped).toBe(true);
    expect(again.record.final_loss).toBe(first.record.final_loss);
    expect(again.record.hash).toBe(first.record.hash);
    // a changed key trains again
    const lr = await stage.run(point({ lr: 2e-3 }), ctx);
    expect(lr.record.skipped).toBe(false);
    expect(lr.record.hash).not.toBe(first.record.hash);
    // a changed input file trains again
    writeFileSync(data, JSON.stringify(CONVS.slice(0, 9)));
    const changed = await stage.run(point({ lr: 2e-3 }), ctx);
    expect(changed.record.skipped).toBe(false);
    expect(changed.record.examples).toBe(9);
    // a missing result file trains again even with the same hash
    rmSync(join(dir, 'model', 'model.safetensors'));
    expect((await stage.run(point({ lr: 2e-3 }), ctx)).record.skipped).toBe(false);
  });
});
