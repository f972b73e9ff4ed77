/**
 * gguf as a job (command `export-gguf`; stage `gguf`): write an HF LLaMA checkpoint — with a LoRA adapter merged into
 * it when given — as one GGUF v3 file that llama.cpp loads: its tensor names and Q/K row order, its metadata keys,
 * the model's own vocabulary as tokenizer metadata (src/model/gguf). Weights as F32, F16 (norms stay F32) or Q8_0.
 * The record: {output, type, bytes, tensors, vocab, seconds}. Reading GGUF needs no job: `--model x.gguf` works
 * wherever a model folder does.
 */
import { defineJob } from '../core/job.js';
import { BACKEND_OPTION } from '../core/options/common.js';
import { defineOptions } from '../core/options/spec.js';

export const ggufOptions = defineOptions({
  model: { type: 'string', required: true, describe: 'HF checkpoint directory (config.json + model.safetensors)' },
  lora: { type: 'string', describe: 'PEFT LoRA adapter directory, merged into the weights before writing' },
  out: { type: 'string', required: true, describe: 'the .gguf file to write' },
  type: {
    type: 'choice',
    choices: ['f32', 'f16', 'q8_0'] as const,
    default: 'f32',
    describe: 'weight type of the matrices (1-D norms are always F32)',
  },
  name: { type: 'string', describe: "general.name in the file (default: the model folder's name)" },
  backend: BACKEND_OPTION,
});

export const ggufJob = defineJob({
  name: 'gguf',
  command: 'export-gguf',
  describe: 'write a checkpoint (+ merged LoRA) as a GGUF file for llama.cpp (F32, F16 or Q8_0)',
  options: ggufOptions,
  examples: [['$0 export-gguf --model ckpts/tiny-v3 --out tiny-v3.f32.gguf', 'tiny-v3 as an F32 GGUF']],
  outputs: (c) => [c.out],
  run: async (c) => {
    const t0 = performance.now();
    const [{ statSync }, { basename, resolve }, { loadLlama }, { LoraAdapter }, gguf] = await Promise.all([
      import('node:fs'),
      import('node:path'),
      import('../model/checkpoint.js'),
      import('../model/lora.js'),
      import('../model/gguf/index.js'),
    ]);
    const { writeLlamaGguf } = await import('../model/gguf/export.js');
    if (!/\.gguf$/i.test(c.out)) throw new Error(`--out ${c.out}: give a file name ending in .gguf`);
    const { initBackend } = await import('../core/backend.js');
    await initBackend(c.backend);
    const model = loadLlama(c.model);
    try {
      const tokenizer = await gguf.loadModelTokenizer(c.model);
      if (c.lora) {
        model.setLora(LoraAdapter.load(c.lora, model.config));
        model.mergeLora();
      }
      writeLlamaGguf(model, tokenizer, c.out, c.type, c.name ?? basename(resolve(c.model)));
      const bytes = statSync(c.out).size;
      const seconds = (performance.now() - t0) / 1000;
      return {
        record: {
          output: c.out,
          type: c.type,
          bytes,
          tensors: model.hfWeights().length,
          vocab: tokenizer.vocabSize,
          seconds,
        },
        text: `wrote ${c.out} (${c.type}, ${(bytes / 1e6).toFixed(1)} MB, vocabulary ${tokenizer.name}) in ${seconds.toFixed(1)} s`,
      };
    } finally {
      model.dispose();
    }
  },
});
