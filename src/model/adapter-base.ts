/**
 * Does a LoRA adapter belong to this base model? Checked from the adapter's header and config before any weight is
 * read: the number of layers it adapts, each target module's input and output width (A is (r, in), B is (out, r):
 * the hidden size and the attention / MLP widths), and `base_model_name_or_path` where it names a folder that
 * exists here — the same folder, or one holding the same config and weights (a copy) passes; another model
 * (ckpts/tiny-v2 for an adapter trained on ckpts/tiny-v3: same shapes, other weights) is refused. A hub name
 * that is not a local folder cannot be compared and is left to the shape checks. Errors name both folders and
 * every difference. Loading the tensors is lora.ts's job.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LlamaConfig } from './config.js';
import { MODULE_PATH, projDims } from './hf-weights.js';
import type { LoraTarget } from './lora-config.js';
import type { SafetensorsFile } from './safetensors.js';

/** sha256 of a file's bytes. */
const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** The files that define a model folder's weights: config.json and every *.safetensors (+ the shard index). */
function definingFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f === 'config.json' || f.endsWith('.safetensors') || f === 'model.safetensors.index.json')
    .sort();
}

/** Whether two model folders hold the same model: the same folder, or the same config and weight bytes. */
function sameModel(a: string, b: string): boolean {
  if (realpathSync(a) === realpathSync(b)) return true;
  const fa = definingFiles(a);
  const fb = definingFiles(b);
  if (fa.join('\n') !== fb.join('\n') || !fa.length) return false;
  // sizes first: different weights of the same shapes still need the hashes
  if (fa.some((f) => statSync(join(a, f)).size !== statSync(join(b, f)).size)) return false;
  return fa.every((f) => sha256(join(a, f)) === sha256(join(b, f)));
}

/**
 * Refuse an adapter whose base is not `model` (config; `modelDir` its folder when it was loaded from one).
 * `name` maps (layer, target, 'A'|'B') to the adapter's tensor name; `targets` are its config's.
 */
export function checkAdapterBase(o: {
  adapterDir: string;
  adapterConfig: Record<string, unknown>;
  st: SafetensorsFile;
  targets: LoraTarget[];
  model: LlamaConfig;
  modelDir?: string | null;
  name: (layer: number, target: LoraTarget, which: 'A' | 'B') => string;
}): void {
  const { st, model } = o;
  const diffs: string[] = [];

  // layers: the highest layer index among the adapter's tensors
  const layerOf = /\.layers\.(\d+)\./;
  const layers = st
    .names()
    .map((n) => layerOf.exec(n)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number);
  const adapterLayers = layers.length ? Math.max(...layers) + 1 : 0;
  if (adapterLayers !== model.numLayers)
    diffs.push(`number of layers: the adapter's tensors cover ${adapterLayers}, the model has ${model.numLayers}`);

  // each target's widths, from layer 0's A (r, in) and B (out, r)
  for (const t of o.targets) {
    const a = o.name(0, t, 'A');
    const b = o.name(0, t, 'B');
    if (!st.has(a) || !st.has(b)) continue; // lora.ts names the missing tensor
    const [inF, outF] = projDims(model, t);
    const aIn = st.entry(a).shape[1];
    const bOut = st.entry(b).shape[0];
    if (aIn !== inF || bOut !== outF)
      diffs.push(
        `${t} (${MODULE_PATH[t]}): the adapter maps ${aIn} → ${bOut} features, the model's ${inF} → ${outF} (its hidden size is ${model.hiddenSize})`,
      );
  }

  // base_model_name_or_path, where it names a folder here
  const base = o.adapterConfig.base_model_name_or_path;
  if (typeof base === 'string' && base !== '' && o.modelDir && existsSync(join(base, 'config.json'))) {
    if (!sameModel(base, o.modelDir))
      diffs.push(
        `base_model_name_or_path: the adapter was trained on ${base} (${join(o.adapterDir, 'adapter_config.json')}), whose config or weights differ from ${o.modelDir}'s`,
      );
  }

  if (diffs.length)
    throw new Error(
      `LoRA adapter ${o.adapterDir} does not belong to the model ${o.modelDir ?? '(given by its config)'}:\n  ${diffs.join('\n  ')}`,
    );
}
