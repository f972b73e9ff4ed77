/**
 * logits as a job (a CLI tool, no stage): run the model on a batch from a safetensors file and write the logits
 * (and, with --greedy N, N greedy tokens per row) to another: a debugging tool for comparing this implementation
 * with others (e.g. HF transformers on the same input). Position ids come from the attention mask (cumsum − 1, as
 * HF). Greedy continuation assumes left padding and never stops at EOS. The record: {output, batch, length, vocab,
 * greedy, backend, seconds}.
 */
import { existsSync, statSync } from 'node:fs';
import { defineJob } from '../core/job.js';
import { BACKEND_OPTION } from '../core/options/common.js';
import { defineOptions } from '../core/options/spec.js';
import type { HostTensor } from '../model/safetensors.js';

export const logitsOptions = defineOptions({
  model: { type: 'string', required: true, describe: 'HF checkpoint directory (config.json + model.safetensors)' },
  lora: { type: 'string', describe: 'PEFT LoRA adapter directory, applied (enabled) on top of the model' },
  input: {
    type: 'string',
    required: true,
    describe: 'safetensors with int32 input_ids (B,T) and optional attention_mask (B,T) of 0/1',
  },
  output: {
    type: 'string',
    required: true,
    describe: 'safetensors file to write: float32 logits (B,T,V) [+ int32 greedy_ids (B,N)]',
  },
  greedy: {
    type: 'number',
    int: true,
    min: 0,
    default: 0,
    describe: 'also continue each (left-padded) row greedily for N tokens, no EOS stop',
  },
  backend: BACKEND_OPTION,
});

/**
 * The (B, T) input ids and 0/1 mask of `file`, checked against the model's vocabulary before any kernel sees them:
 * an id outside it would fail deep in GatherV2 (native or plain) without naming the tensor.
 */
export function checkedInputs(
  file: string,
  inputs: Map<string, HostTensor>,
  vocabSize: number,
  vocabFrom: string,
): { ids: HostTensor; mask: Int32Array } {
  const ids = inputs.get('input_ids');
  if (!ids) throw new Error(`${file}: missing tensor 'input_ids'`);
  if (ids.dtype !== 'int32' || ids.shape.length !== 2)
    throw new Error(`${file}: tensor 'input_ids' must be an integer (B, T) tensor, got ${ids.dtype} [${ids.shape}]`);
  const [B, T] = ids.shape;
  if (B === 0 || T === 0)
    throw new Error(`${file}: tensor 'input_ids' has shape [${B}, ${T}]; it needs at least one row and one token`);
  const bad = ids.data.findIndex((v) => v < 0 || v >= vocabSize);
  if (bad >= 0) {
    throw new Error(
      `${file}: tensor 'input_ids' holds id ${ids.data[bad]} at [${Math.floor(bad / T)}, ${bad % T}], outside the vocabulary [0, ${vocabSize}) of ${vocabFrom}`,
    );
  }
  const m = inputs.get('attention_mask');
  if (!m) return { ids, mask: new Int32Array(B * T).fill(1) };
  if (m.shape.join(',') !== ids.shape.join(','))
    throw new Error(`${file}: tensor 'attention_mask' has shape [${m.shape}], expected [${ids.shape}]`);
  const badM = m.data.findIndex((v) => v !== 0 && v !== 1);
  if (badM >= 0)
    throw new Error(
      `${file}: tensor 'attention_mask' holds ${m.data[badM]} at [${Math.floor(badM / T)}, ${badM % T}]; only 0 (padding) and 1 (token) are allowed`,
    );
  return { ids, mask: Int32Array.from(m.data) };
}

export const logitsJob = defineJob({
  name: 'logits',
  describe:
    'write the logits (B,T,V) of input_ids/attention_mask read from a safetensors file; --greedy N adds N greedy tokens per row',
  options: logitsOptions,
  yaml: false,
  files: (c) => [
    { key: 'model', path: c.model },
    ...(c.lora ? [{ key: 'lora', path: c.lora }] : []),
    { key: 'input', path: c.input },
  ],
  writes: (c) => [{ key: 'output', path: c.output }],
  run: async (c) => {
    if (existsSync(c.output) && statSync(c.output).isDirectory())
      throw new Error(`--output ${c.output} is a folder; give the safetensors file to write`);
    const { initBackend } = await import('../core/backend.js');
    const info = await initBackend(c.backend);
    const [tf, { loadLlama }, { LoraAdapter }, { readSafetensors, writeSafetensors }, { generate }] = await Promise.all(
      [
        import('@tensorflow/tfjs-core'),
        import('../model/checkpoint.js'),
        import('../model/lora.js'),
        import('../model/safetensors.js'),
        import('../generation/generate.js'),
      ],
    );
    const t0 = performance.now();
    const model = loadLlama(c.model);
    if (c.lora) model.setLora(LoraAdapter.load(c.lora, model));
    const { ids, mask: maskI } = checkedInputs(
      c.input,
      readSafetensors(c.input),
      model.config.vocabSize,
      `${c.model}/config.json`,
    );
    const [B, T] = ids.shape;

    const logits = tf.tidy(() =>
      model.forward(tf.tensor2d(ids.data, [B, T], 'int32'), { attentionMask: tf.tensor2d(maskI, [B, T], 'int32') }),
    );
    const out: [string, HostTensor][] = [
      ['logits', { dtype: 'float32', shape: [B, T, model.config.vocabSize], data: logits.dataSync() as Float32Array }],
    ];
    logits.dispose();

    if (c.greedy > 0) {
      const prompts: number[][] = [];
      for (let b = 0; b < B; b++) {
        const row = maskI.subarray(b * T, (b + 1) * T);
        const first = row.indexOf(1);
        if (first < 0 || row.subarray(first).some((v) => v === 0)) {
          throw new Error(
            `${c.input}: row ${b} of 'attention_mask' is not left-padded (0…0 1…1); --greedy needs left padding`,
          );
        }
        prompts.push(Array.from(ids.data.subarray(b * T + first, (b + 1) * T)));
      }
      const res = await generate(model, prompts, { maxNewTokens: c.greedy, temperature: 0, eosTokenId: null });
      const greedy = new Int32Array(B * c.greedy);
      res.items.forEach((it, b) => greedy.set(it.outputIds, b * c.greedy));
      out.push(['greedy_ids', { dtype: 'int32', shape: [B, c.greedy], data: greedy }]);
    }
    writeSafetensors(c.output, out);
    model.dispose();
    const record = {
      output: c.output,
      batch: B,
      length: T,
      vocab: model.config.vocabSize,
      greedy: c.greedy,
      backend: info.name,
      seconds: (performance.now() - t0) / 1000,
    };
    return {
      record,
      text: `wrote ${c.output}: logits [${B}, ${T}, ${record.vocab}]${c.greedy ? ` + greedy_ids [${B}, ${c.greedy}]` : ''} (${info.name}, ${record.seconds.toFixed(2)} s)`,
    };
  },
});
