/**
 * Hugging Face checkpoints for the LLaMA model: `config.json` plus either `model.safetensors` or a
 * sharded `model.safetensors.index.json` (weight_map: tensor → shard file).
 *
 * Loading checks every header first (missing, unexpected, mis-shaped tensors fail before any weight is
 * read, with the tensor and file named), then reads one tensor at a time from its shard, so a large
 * checkpoint is never held twice; a NaN or infinite weight fails the load, naming the tensor. F16/BF16 weights are
 * upcast to float32. Saving writes float32 in HF layout; save → load is bit-identical. Which tensors a checkpoint
 * holds, under which names and in which layout, is src/model/hf-weights.ts; LoRA adapters are PEFT files, handled
 * in src/model/lora.ts. The pair: loadLlama / saveLlama (a model frees its tensors with Llama.dispose()).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { configFromHF, configToHF } from './config.js';
import { hfWeightNames } from './hf-weights.js';
import { Llama } from './llama.js';
import { SafetensorsFile, writeSafetensors, type TensorSource } from './safetensors.js';
import { readJson, writeJson } from '../util/fs.js';
import { assertFiniteWeights } from '../util/finite.js';
import { isGguf, readLlamaGguf } from './gguf/llama.js';

/** Tensors older HF checkpoints carry that the model recomputes. */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$/;

/** Load an HF LLaMA checkpoint directory (or a GGUF LLaMA file, x.gguf: src/model/gguf). */
export function loadLlama(dir: string): Llama {
  if (isGguf(dir)) return readLlamaGguf(dir);
  const cfgFile = join(dir, 'config.json');
  const config = configFromHF(readJson(cfgFile), cfgFile);

  // ---- which file holds which tensor
  const single = join(dir, 'model.safetensors');
  const indexFile = join(dir, 'model.safetensors.index.json');
  const where = new Map<string, string>(); // tensor → file
  const files = new Map<string, SafetensorsFile>();
  const open = (file: string) => {
    let f = files.get(file);
    if (!f) files.set(file, (f = SafetensorsFile.open(file)));
    return f;
  };
  try {
    if (existsSync(single)) {
      for (const n of open(single).names()) where.set(n, single);
    } else if (existsSync(indexFile)) {
      const index = readJson<{ weight_map?: Record<string, string> }>(indexFile);
      if (!index.weight_map || typeof index.weight_map !== 'object')
        throw new Error(`${indexFile}: missing key 'weight_map'`);
      for (const [name, shard] of Object.entries(index.weight_map)) {
        const file = join(dir, shard);
        if (!open(file).has(name))
          throw new Error(`${file}: missing tensor '${name}' (listed for this shard in ${indexFile})`);
        where.set(name, file);
      }
      for (const [file, f] of files)
        for (const n of f.names())
          if (!where.has(n)) throw new Error(`${file}: unexpected tensor '${n}' (not in ${indexFile})`);
    } else {
      const bin = existsSync(join(dir, 'pytorch_model.bin'))
        ? ' (pytorch_model.bin is not supported; convert it to safetensors)'
        : '';
      throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json${bin}`);
    }
    const source = existsSync(single) ? single : indexFile;

    // ---- validate names and shapes from the headers before reading any weight
    const expected = new Set(hfWeightNames(config));
    for (const n of expected) if (!where.has(n)) throw new Error(`${source}: missing tensor '${n}'`);
    for (const [n, file] of where) {
      if (!expected.has(n) && !IGNORED.test(n))
        throw new Error(
          `${file}: unexpected tensor '${n}' for a ${config.numLayers}-layer LLaMA${config.tieWordEmbeddings ? ' with tied embeddings' : ''}`,
        );
    }
    const model = new Llama(config, (name, shape) => {
      const file = where.get(name);
      if (!file) throw new Error(`${source}: missing tensor '${name}'`);
      const f = open(file);
      const e = f.entry(name);
      if (e.shape.join(',') !== shape.join(','))
        throw new Error(
          `${file}: tensor '${name}' has shape [${e.shape.join(', ')}], expected [${shape.join(', ')}] from ${cfgFile}`,
        );
      const t = f.read(name);
      if (t.dtype !== 'float32')
        throw new Error(`${file}: tensor '${name}' has integer dtype ${e.dtype}, expected a floating-point weight`);
      assertFiniteWeights(t.data, file, name);
      return t.data;
    });
    model.dir = dir;
    return model;
  } finally {
    for (const f of files.values()) f.close();
  }
}

export interface SaveOptions {
  /** split into shards of at most this many bytes (HF's model-0000i-of-0000N.safetensors + index); default one file */
  maxShardBytes?: number;
}

/** Save in HF format (float32): config.json, generation_config.json and the weights. */
export function saveLlama(model: Llama, dir: string, opts: SaveOptions = {}): void {
  const cfg = model.config;
  const weights = model.hfWeights();
  const bytes = (t: TensorSource) => t.shape.reduce((a, b) => a * b, 1) * 4;
  const total = weights.reduce((s, [, t]) => s + bytes(t), 0);
  const max = opts.maxShardBytes ?? Infinity;
  // a stale file of the other layout would shadow (or contradict) the one written now
  for (const stale of ['model.safetensors', 'model.safetensors.index.json']) rmSync(join(dir, stale), { force: true });
  if (total <= max) {
    writeSafetensors(join(dir, 'model.safetensors'), weights);
  } else {
    const shards: [string, TensorSource][][] = [[]];
    let size = 0;
    for (const w of weights) {
      if (size > 0 && size + bytes(w[1]) > max) {
        shards.push([]);
        size = 0;
      }
      shards[shards.length - 1].push(w);
      size += bytes(w[1]);
    }
    const n = shards.length;
    const pad = (i: number) => String(i).padStart(5, '0');
    const weightMap: Record<string, string> = {};
    shards.forEach((s, i) => {
      const name = `model-${pad(i + 1)}-of-${pad(n)}.safetensors`;
      writeSafetensors(join(dir, name), s);
      for (const [t] of s) weightMap[t] = name;
    });
    writeJson(join(dir, 'model.safetensors.index.json'), { metadata: { total_size: total }, weight_map: weightMap });
  }
  writeJson(join(dir, 'config.json'), configToHF(cfg));
  writeJson(join(dir, 'generation_config.json'), {
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    pad_token_id: cfg.padTokenId,
  });
}
