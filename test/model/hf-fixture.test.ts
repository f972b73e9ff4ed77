/**
 * Golden test against Hugging Face transformers 5.17 + PEFT 0.21 (test/fixtures/hf-llama-tiny,
 * see its meta.json): logits of a left-padded batch, logits with the LoRA adapter on and off again, and
 * 16 greedy tokens per row. Tolerance 1e-4 relative: both sides compute in float32, so only summation
 * order differs (we measure ~5e-7); a wrong rotary convention, mask or position id gives errors > 1e-2.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { loadLlama } from '../../src/model/checkpoint.js';
import { LoraAdapter } from '../../src/model/lora.js';
import { readSafetensors, type HostTensor } from '../../src/model/safetensors.js';
import type { Llama } from '../../src/model/llama.js';
import { generate } from '../../src/generation/generate.js';
import { join } from 'node:path';
import { HF_FIXTURE } from '../helpers/paths.js';
import { relError } from './helpers.js';

describe('HF fixture hf-llama-tiny (wasm)', () => {
  let model: Llama;
  let ex: Map<string, HostTensor>;
  let B: number, T: number, V: number;
  let ids: tf.Tensor2D, mask: tf.Tensor2D;

  beforeAll(async () => {
    await initBackend('wasm');
    model = loadLlama(join(HF_FIXTURE, 'model'));
    ex = readSafetensors(join(HF_FIXTURE, 'expected.safetensors'));
    [B, T] = ex.get('input_ids')!.shape;
    V = model.config.vocabSize;
    ids = tf.tensor2d(ex.get('input_ids')!.data, [B, T], 'int32');
    mask = tf.tensor2d(ex.get('attention_mask')!.data, [B, T], 'int32');
  });
  afterAll(() => {
    model?.dispose();
    tf.dispose([ids, mask]);
  });

  const logitsError = (key: string) => {
    const lg = model.forward(ids, { attentionMask: mask });
    expect(lg.shape).toEqual([B, T, V]);
    const err = relError(lg.dataSync(), ex.get(key)!.data, V, ex.get('attention_mask')!.data);
    lg.dispose();
    return err;
  };

  test('the fixture is the left-padded batch meta.json describes', () => {
    const m = Array.from(ex.get('attention_mask')!.data);
    // prompt lengths 12, 7, 3 → rows padded on the left
    expect([0, 1, 2].map((b) => m.slice(b * T, (b + 1) * T).reduce((s, v) => s + v, 0))).toEqual([12, 7, 3]);
    expect(m.slice(T, T + 5)).toEqual([0, 0, 0, 0, 0]);
  });

  test('logits match HF (rel. error ≤ 1e-4 over real tokens)', () => {
    expect(logitsError('logits')).toBeLessThan(1e-4);
  });

  test('with the PEFT adapter enabled: lora_logits; disabled again: logits', () => {
    model.setLora(LoraAdapter.load(join(HF_FIXTURE, 'lora'), model.config));
    expect(model.lora!.scaling).toBe(2); // alpha 16 / r 8
    expect(logitsError('lora_logits')).toBeLessThan(1e-4);
    model.lora!.enabled = false;
    expect(logitsError('logits')).toBeLessThan(1e-4);
    model.lora!.enabled = true;
    expect(logitsError('lora_logits')).toBeLessThan(1e-4);
    model.lora!.mergeForInference = false; // PEFT's unmerged arithmetic, x·W + s·(x·Aᵀ)·Bᵀ
    expect(logitsError('lora_logits')).toBeLessThan(1e-4);
    model.setLora(null);
  });

  test('16 greedy tokens per row are identical to HF generate (EOS disabled)', async () => {
    const idv = ex.get('input_ids')!.data;
    const mv = ex.get('attention_mask')!.data;
    const prompts = [...Array(B).keys()].map((b) =>
      Array.from(idv.subarray(b * T, (b + 1) * T)).filter((_, j) => mv[b * T + j] === 1),
    );
    const res = await generate(model, prompts, { maxNewTokens: 16, eosTokenId: null });
    const g = ex.get('greedy_ids')!;
    expect(res.items.map((it) => it.outputIds)).toEqual(
      [...Array(B).keys()].map((b) => Array.from(g.data.subarray(b * 16, (b + 1) * 16))),
    );
  });
});
