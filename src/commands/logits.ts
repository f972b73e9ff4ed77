/**
 * `seqsch logits`: run the model on a batch from a safetensors file and write the logits (and, with
 * --greedy N, N greedy tokens per row) to another: a debugging tool for comparing this implementation
 * with others (e.g. HF transformers on the same input). Position ids come from the attention mask
 * (cumsum − 1, as HF). Greedy continuation assumes left padding and never stops at EOS.
 */
import type { CommandModule } from 'yargs';
import { initBackend, type BackendChoice } from '../backend.js';
import type { HostTensor } from '../model/safetensors.js';
import { withBackend, withJson, report } from './common.js';

interface Args {
  model: string;
  lora?: string;
  input: string;
  output: string;
  greedy: number;
  backend: BackendChoice;
  json: boolean;
}

export const logitsCommand: CommandModule<object, Args> = {
  command: 'logits',
  describe: 'write the logits (B,T,V) of input_ids/attention_mask read from a safetensors file; --greedy N adds N greedy tokens per row',
  builder: (y) =>
    withJson(withBackend(y))
      .option('model', { type: 'string', demandOption: true, describe: 'HF checkpoint directory (config.json + model.safetensors)' })
      .option('lora', { type: 'string', describe: 'PEFT LoRA adapter directory, applied (enabled) on top of the model' })
      .option('input', { type: 'string', demandOption: true, describe: 'safetensors with int32 input_ids (B,T) and optional attention_mask (B,T)' })
      .option('output', { type: 'string', demandOption: true, describe: 'safetensors to write: float32 logits (B,T,V) [+ int32 greedy_ids (B,N)]' })
      .option('greedy', { type: 'number', default: 0, describe: 'also continue each (left-padded) row greedily for N tokens, no EOS stop' }) as never,
  handler: async (argv) => {
    const info = await initBackend(argv.backend);
    const [tf, { loadLlama }, { LoraAdapter }, { readSafetensors, writeSafetensors }, { generate }] = await Promise.all([
      import('@tensorflow/tfjs-core'), import('../model/checkpoint.js'), import('../model/lora.js'), import('../model/safetensors.js'),
      import('../generation/generate.js')]);
    const t0 = performance.now();
    const model = loadLlama(argv.model);
    if (argv.lora) model.setLora(LoraAdapter.load(argv.lora, model.config));
    const inputs = readSafetensors(argv.input);
    const ids = inputs.get('input_ids');
    if (!ids) throw new Error(`${argv.input}: missing tensor 'input_ids'`);
    if (ids.dtype !== 'int32' || ids.shape.length !== 2) throw new Error(`${argv.input}: tensor 'input_ids' must be an integer (B, T) tensor`);
    const [B, T] = ids.shape;
    const mask: HostTensor = inputs.get('attention_mask') ?? { dtype: 'int32', shape: [B, T], data: new Int32Array(B * T).fill(1) };
    if (mask.shape.join(',') !== ids.shape.join(',')) throw new Error(`${argv.input}: tensor 'attention_mask' has shape [${mask.shape}], expected [${ids.shape}]`);
    const maskI = Int32Array.from(mask.data, (v) => (v ? 1 : 0));

    const logits = tf.tidy(() =>
      model.forward(tf.tensor2d(ids.data, [B, T], 'int32'), { attentionMask: tf.tensor2d(maskI, [B, T], 'int32') }),
    );
    const out: [string, HostTensor][] = [['logits', { dtype: 'float32', shape: [B, T, model.config.vocabSize], data: logits.dataSync() as Float32Array }]];
    logits.dispose();

    if (argv.greedy > 0) {
      const prompts: number[][] = [];
      for (let b = 0; b < B; b++) {
        const row = maskI.subarray(b * T, (b + 1) * T);
        const first = row.indexOf(1);
        if (first < 0 || row.subarray(first).some((v) => v === 0)) {
          throw new Error(`${argv.input}: row ${b} of 'attention_mask' is not left-padded (0…0 1…1); --greedy needs left padding`);
        }
        prompts.push(Array.from(ids.data.subarray(b * T + first, (b + 1) * T)));
      }
      const res = await generate(model, prompts, { maxNewTokens: argv.greedy, temperature: 0, eosTokenId: null });
      const greedy = new Int32Array(B * argv.greedy);
      res.items.forEach((it, b) => greedy.set(it.outputIds, b * argv.greedy));
      out.push(['greedy_ids', { dtype: 'int32', shape: [B, argv.greedy], data: greedy }]);
    }
    writeSafetensors(argv.output, out);
    model.dispose();
    const summary = { output: argv.output, batch: B, length: T, vocab: model.config.vocabSize, greedy: argv.greedy, backend: info.name, seconds: (performance.now() - t0) / 1000 };
    report(argv.json, summary, () => `wrote ${argv.output}: logits [${B}, ${T}, ${summary.vocab}]${argv.greedy ? ` + greedy_ids [${B}, ${argv.greedy}]` : ''} (${info.name}, ${summary.seconds.toFixed(2)} s)`);
  },
};
