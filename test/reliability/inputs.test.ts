/**
 * Issue 16, cases 6 and 7 (inputs): errors name their source — out-of-vocabulary input ids (tensor, position,
 * vocabulary size; checked before any kernel, so the same error on the native GatherV2 path and the plain one,
 * which CI runs with SEQSCH_BLAS=0), T = 0 inputs, attention-mask values other than 0/1, a LoRA adapter_config
 * with r 0, and a non-finite value in a loaded weight (naming the file and tensor). `logits --output DIR`
 * fails before writing and leaves no temporary file.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { commandOf } from '../../src/commands/mount.js';
import { logitsJob } from '../../src/jobs/logits.js';
import { loadLlama } from '../../src/model/checkpoint.js';
import { LoraAdapter } from '../../src/model/lora.js';
import { SafetensorsFile, writeSafetensors, type TensorSource } from '../../src/model/safetensors.js';
import { HF_FIXTURE, repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';

beforeAll(async () => {
  await initBackend('wasm');
});
const tmp = tmpDirs('seqsch-rel-inputs-');
const MODEL = join(HF_FIXTURE, 'model'); // vocab 512

/** `seqsch logits` in process on an input file holding these ids (and mask). */
async function logits(ids: number[][], mask?: number[][], output?: string): Promise<string> {
  const dir = tmp();
  const input = join(dir, 'in.safetensors');
  const B = ids.length;
  const T = ids[0]?.length ?? 0;
  const tensors: [string, TensorSource][] = [
    ['input_ids', { dtype: 'int32', shape: [B, T], data: Int32Array.from(ids.flat()) }],
  ];
  if (mask) tensors.push(['attention_mask', { dtype: 'int32', shape: [B, T], data: Int32Array.from(mask.flat()) }]);
  writeSafetensors(input, tensors);
  const out = output ?? join(dir, 'out.safetensors');
  await (commandOf(logitsJob).handler as (a: unknown) => Promise<void>)({
    model: MODEL,
    input,
    output: out,
    greedy: 0,
    backend: 'wasm',
    json: true,
    _: [],
    $0: 'seqsch',
  });
  return out;
}

test('an out-of-vocabulary id names the tensor, its position and the vocabulary', async () => {
  await expect(logits([[1, 5, 600]])).rejects.toThrow(
    /tensor 'input_ids' holds id 600 at \[0, 2\], outside the vocabulary \[0, 512\)/,
  );
  await expect(logits([[1, -3]])).rejects.toThrow(/'input_ids' holds id -3/);
});

test('T = 0 is refused naming the tensor', async () => {
  await expect(logits([[]])).rejects.toThrow(/tensor 'input_ids' has shape \[1, 0\]/);
});

test('an attention mask value of 2 is refused, not taken as 1', async () => {
  await expect(logits([[1, 5, 6]], [[1, 2, 1]])).rejects.toThrow(
    /tensor 'attention_mask' holds 2 at \[0, 1\]; only 0 \(padding\) and 1/,
  );
});

test('logits --output DIR fails before writing and leaves no temporary file', async () => {
  const dir = tmp();
  const target = join(dir, 'outdir');
  mkdirSync(target);
  await expect(logits([[1, 5, 6]], undefined, target)).rejects.toThrow(/outdir is a folder/);
  expect(readdirSync(dir)).toEqual(['outdir']);
});

test('LoRA r 0 names the adapter_config.json', () => {
  const dir = tmp();
  cpSync(repoPath('ckpts/tiny-v3-lenpred'), dir, { recursive: true });
  const cfg = join(dir, 'adapter_config.json');
  writeFileSync(cfg, JSON.stringify({ ...JSON.parse(readFileSync(cfg, 'utf8')), r: 0 }));
  const config = loadLlama(repoPath('ckpts/tiny-v3'));
  try {
    expect(() => LoraAdapter.load(dir, config.config)).toThrow(`${cfg}: key 'r' must be a positive integer, got 0`);
  } finally {
    config.dispose();
  }
});

test('a NaN inside a loaded weight fails the load, naming the file and tensor', () => {
  const dir = tmp();
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(MODEL, f), join(dir, f));
  const file = join(dir, 'model.safetensors');
  const st = SafetensorsFile.open(file);
  const name = 'model.layers.1.mlp.up_proj.weight';
  const at = st.entry(name).begin + 4 * 7; // its 8th value
  st.close();
  const bytes = readFileSync(file);
  bytes.writeFloatLE(NaN, at);
  writeFileSync(file, bytes);
  expect(() => loadLlama(dir)).toThrow(`${file}: tensor '${name}' holds NaN at flat index 7`);
  expect(existsSync(join(MODEL, 'model.safetensors'))).toBe(true);
});
