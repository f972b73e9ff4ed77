/**
 * LoRA adapters (Hu et al. 2021) as PEFT builds them: for a targeted linear layer W (out, in),
 * y = x·Wᵀ + scaling · B(A(dropout(x))) with A (r, in) kaiming-uniform, B (out, r) zero, scaling = alpha/r.
 *
 * The adapter lives beside the frozen base weights and can be switched off at run time
 * (`adapter.enabled = false`): the paper uses one base model both to predict response lengths (adapter
 * on) and to generate (adapter off). Save/load use PEFT's files (adapter_config.json +
 * adapter_model.safetensors) so adapters move between this project and PyTorch. For inference the adapter
 * keeps merged copies W + ΔW of its projections (merged()), freed with it; folding it into the base weights for
 * good is the model's job (src/model/llama.ts's mergeLora, which holds the base weights).
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LlamaConfig } from './config.js';
import { SafetensorsFile, writeSafetensors, type TensorSource } from './safetensors.js';
import { readJson, writeJson } from '../util/fs.js';
import { assertFiniteWeights } from '../util/finite.js';
import { LORA_TARGETS, type LoraConfig, type LoraTarget } from './lora-config.js';
import { MODULE_PATH, projDims } from './hf-weights.js';
import { checkAdapterBase } from './adapter-base.js';

export { LORA_TARGETS, DEFAULT_LORA, type LoraConfig, type LoraTarget } from './lora-config.js';

function peftName(layer: number, target: LoraTarget, which: 'A' | 'B'): string {
  return `base_model.model.model.layers.${layer}.${MODULE_PATH[target]}.lora_${which}.weight`;
}

export class LoraAdapter {
  /** switch the adapter off to run the plain base model (same weights, no copy) */
  enabled = true;
  /**
   * Inference (not training) runs each targeted projection as one matmul with W + ΔW, a copy this adapter caches
   * (merged(); PEFT's merge, kept beside the base weights so `enabled = false` still runs the plain model).
   * Costs one extra weight matrix per targeted projection; false runs PEFT's unmerged x·W + s·(x·Aᵀ)·Bᵀ.
   */
  mergeForInference = true;
  readonly scaling: number;
  /** key `${layer}.${target}`: Aᵀ (in, r), stored transposed so the forward needs no transpose */
  readonly aT = new Map<string, tf.Variable>();
  /** key `${layer}.${target}`: Bᵀ (r, out) */
  readonly bT = new Map<string, tf.Variable>();
  private readonly scalingT: tf.Scalar;
  private dropoutRng: seedrandom.PRNG;
  /** key `${layer}.${target}`: the inference copy W + ΔW (in, out), with the data it was made from */
  private readonly mergedCopies = new Map<string, { sources: object[]; t: tf.Tensor2D }>();

  /** A fresh adapter: A kaiming-uniform (PEFT's a=√5, i.e. U(±1/√in)) from `seed`, B zero. */
  constructor(
    readonly model: LlamaConfig,
    readonly config: LoraConfig,
    seed: string | number = 0,
    init = true,
  ) {
    for (const t of config.targetModules)
      if (!LORA_TARGETS.includes(t))
        throw new Error(`LoRA: unknown target module '${t}' (choose from ${LORA_TARGETS.join(', ')})`);
    if (!(config.r > 0) || !Number.isInteger(config.r))
      throw new Error(`LoRA: r must be a positive integer, got ${config.r}`);
    if (!(config.dropout >= 0 && config.dropout < 1))
      throw new Error(`LoRA: dropout must be a number in [0, 1), got ${config.dropout}`);
    if (!Number.isFinite(config.alpha)) throw new Error(`LoRA: alpha must be a finite number, got ${config.alpha}`);
    this.scaling = config.useRslora ? config.alpha / Math.sqrt(config.r) : config.alpha / config.r;
    this.scalingT = tf.keep(tf.scalar(this.scaling));
    this.dropoutRng = seedrandom(`lora-dropout:${seed}`);
    if (!init) return;
    const rng = seedrandom(`lora-init:${seed}`);
    for (let l = 0; l < model.numLayers; l++) {
      for (const t of config.targetModules) {
        const [inF, outF] = projDims(model, t);
        const bound = 1 / Math.sqrt(inF);
        // A is (r, in) in PEFT; we hold Aᵀ (in, r). Draw in PEFT's (r, in) order so a seed means the same matrix.
        const a = new Float32Array(config.r * inF);
        for (let i = 0; i < a.length; i++) a[i] = (2 * rng() - 1) * bound;
        this.set(l, t, a, new Float32Array(outF * config.r));
      }
    }
  }

  /** Set A (r, in) and B (out, r) of one module from PEFT-layout data. */
  set(layer: number, target: LoraTarget, a: Float32Array, b: Float32Array): void {
    const [inF, outF] = projDims(this.model, target);
    const r = this.config.r;
    const key = `${layer}.${target}`;
    const [aT, bT] = tf.tidy(() => [
      tf.transpose(tf.tensor2d(a, [r, inF])), // (in, r)
      tf.transpose(tf.tensor2d(b, [outF, r])), // (r, out)
    ]);
    this.aT.get(key)?.dispose();
    this.bT.get(key)?.dispose();
    this.aT.set(key, tf.variable(aT, true));
    this.bT.set(key, tf.variable(bT, true));
    aT.dispose();
    bT.dispose();
  }

  has(layer: number, target: LoraTarget): boolean {
    return this.enabled && this.aT.has(`${layer}.${target}`);
  }

  /**
   * Restart the dropout mask stream from `seed`. The trainer calls this once per micro-batch with a seed that
   * depends only on (run seed, epoch, micro-batch), so a resumed run draws the same masks as an uninterrupted one.
   */
  reseedDropout(seed: string | number): void {
    this.dropoutRng = seedrandom(`lora-dropout:${seed}`);
  }

  /** The adapter's contribution for input x (N, in): scaling · (dropout(x)·Aᵀ)·Bᵀ → (N, out). */
  delta(layer: number, target: LoraTarget, x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const key = `${layer}.${target}`;
    const aT = this.aT.get(key)!;
    const bT = this.bT.get(key)!;
    const xIn =
      training && this.config.dropout > 0
        ? tf.dropout(x, this.config.dropout, undefined, Math.floor(this.dropoutRng() * 2 ** 31))
        : x;
    return tf.mul(tf.matMul(tf.matMul(xIn as tf.Tensor2D, aT), bT), this.scalingT); // (N, r) → (N, out)
  }

  /** The adapter's weights as a dense update ΔWᵀ = scaling · Aᵀ·Bᵀ (in, out), for merging. */
  denseDeltaT(layer: number, target: LoraTarget): tf.Tensor2D {
    const key = `${layer}.${target}`;
    return tf.tidy(() => tf.mul(tf.matMul(this.aT.get(key)!, this.bT.get(key)!), this.scalingT));
  }

  /**
   * W + scaling·Aᵀ·Bᵀ (in, out) of one projection for inference, `base` its weight W (in, out): cached, and
   * rebuilt whenever W or either adapter matrix holds new data (a trainer's update or a reload replaces a
   * variable's dataId).
   */
  merged(layer: number, target: LoraTarget, base: tf.Variable): tf.Tensor2D {
    const key = `${layer}.${target}`;
    const sources = [base.dataId, this.aT.get(key)!.dataId, this.bT.get(key)!.dataId];
    const hit = this.mergedCopies.get(key);
    if (hit && hit.sources.every((d, i) => d === sources[i])) return hit.t;
    hit?.t.dispose();
    const t = tf.tidy(() => tf.keep(tf.add(base, this.denseDeltaT(layer, target)) as tf.Tensor2D));
    this.mergedCopies.set(key, { sources, t });
    return t;
  }

  /** Only the LoRA variables: what a trainer updates (the base stays frozen). */
  variables(): tf.Variable[] {
    return [...this.aT.values(), ...this.bT.values()];
  }

  dispose(): void {
    for (const v of this.variables()) v.dispose();
    for (const { t } of this.mergedCopies.values()) t.dispose();
    this.mergedCopies.clear();
    this.aT.clear();
    this.bT.clear();
    this.scalingT.dispose();
  }

  /** Write PEFT's adapter_config.json + adapter_model.safetensors into `dir`. */
  save(dir: string, baseModelNameOrPath: string | null = null): void {
    const tensors: [string, TensorSource][] = [];
    for (let l = 0; l < this.model.numLayers; l++) {
      for (const t of this.config.targetModules) {
        const key = `${l}.${t}`;
        const [inF, outF] = projDims(this.model, t);
        const r = this.config.r;
        const read = (v: tf.Variable) => () => tf.tidy(() => tf.transpose(v)).dataSync() as Float32Array;
        tensors.push([peftName(l, t, 'A'), { dtype: 'float32', shape: [r, inF], read: read(this.aT.get(key)!) }]);
        tensors.push([peftName(l, t, 'B'), { dtype: 'float32', shape: [outF, r], read: read(this.bT.get(key)!) }]);
      }
    }
    writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
    writeJson(join(dir, 'adapter_config.json'), {
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: baseModelNameOrPath,
      r: this.config.r,
      lora_alpha: this.config.alpha,
      lora_dropout: this.config.dropout,
      target_modules: this.config.targetModules,
      bias: 'none',
      fan_in_fan_out: false,
      use_rslora: this.config.useRslora ?? false,
      use_dora: false,
      init_lora_weights: true,
      inference_mode: true,
      modules_to_save: null,
      layers_to_transform: null,
      rank_pattern: {},
      alpha_pattern: {},
    });
  }

  /**
   * Load a PEFT LoRA adapter directory for `model`: a loaded model (its folder is then compared with the adapter's
   * base_model_name_or_path, adapter-base.ts) or just its config. An adapter of another base is refused before any
   * weight is read, naming both folders.
   */
  static load(dir: string, target: LlamaConfig | { config: LlamaConfig; dir?: string | null }): LoraAdapter {
    const model = 'config' in target ? target.config : target;
    const modelDir = 'config' in target ? (target.dir ?? null) : null;
    const cfgFile = join(dir, 'adapter_config.json');
    const j = readJson<Record<string, unknown>>(cfgFile);
    const bad = (key: string, why: string) => new Error(`${cfgFile}: key '${key}' ${why}`);
    if (j.peft_type !== undefined && j.peft_type !== 'LORA')
      throw bad('peft_type', `is '${String(j.peft_type)}', only LORA is supported`);
    if (j.use_dora) throw bad('use_dora', 'is true; DoRA is not supported');
    if (j.fan_in_fan_out) throw bad('fan_in_fan_out', 'is true; not supported for LLaMA');
    if (j.bias !== undefined && j.bias !== 'none')
      throw bad('bias', `is '${String(j.bias)}'; only 'none' is supported`);
    for (const k of ['rank_pattern', 'alpha_pattern']) {
      if (j[k] && Object.keys(j[k] as object).length)
        throw bad(k, 'is not empty; per-module ranks/alphas are not supported');
    }
    if (j.layers_to_transform != null)
      throw bad('layers_to_transform', 'is set; adapters on a subset of layers are not supported');
    if (j.modules_to_save != null && (j.modules_to_save as unknown[]).length)
      throw bad('modules_to_save', 'is set; fully trained extra modules are not supported');
    if (typeof j.r !== 'number' || !Number.isInteger(j.r) || j.r < 1)
      throw bad('r', `must be a positive integer, got ${JSON.stringify(j.r)}`);
    if (typeof j.lora_alpha !== 'number' || !Number.isFinite(j.lora_alpha))
      throw bad('lora_alpha', `must be a finite number, got ${JSON.stringify(j.lora_alpha)}`);
    if (j.lora_dropout != null && !(typeof j.lora_dropout === 'number' && j.lora_dropout >= 0 && j.lora_dropout < 1))
      throw bad('lora_dropout', `must be a number in [0, 1), got ${JSON.stringify(j.lora_dropout)}`);
    if (!Array.isArray(j.target_modules))
      throw bad('target_modules', 'must be a list of module names (a regex string is not supported)');
    const targets = j.target_modules as string[];
    for (const t of targets)
      if (!LORA_TARGETS.includes(t as LoraTarget))
        throw bad('target_modules', `names '${t}', not one of ${LORA_TARGETS.join(', ')}`);
    const config: LoraConfig = {
      r: j.r,
      alpha: j.lora_alpha,
      dropout: typeof j.lora_dropout === 'number' ? j.lora_dropout : 0,
      targetModules: LORA_TARGETS.filter((t) => targets.includes(t)),
      useRslora: Boolean(j.use_rslora),
    };
    const adapter = new LoraAdapter(model, config, 0, false);
    const file = join(dir, 'adapter_model.safetensors');
    if (!existsSync(file)) {
      adapter.dispose();
      throw new Error(
        `${file}: file not found${existsSync(join(dir, 'adapter_model.bin')) ? ' (only adapter_model.bin exists; convert it to safetensors)' : ''}`,
      );
    }
    const st = SafetensorsFile.open(file);
    try {
      checkAdapterBase({
        adapterDir: dir,
        adapterConfig: j,
        st,
        targets: config.targetModules,
        model,
        modelDir,
        name: peftName,
      });
      const expected = new Set<string>();
      for (let l = 0; l < model.numLayers; l++) {
        for (const t of config.targetModules) {
          const [inF, outF] = projDims(model, t);
          const get = (which: 'A' | 'B', shape: number[]) => {
            const name = peftName(l, t, which);
            expected.add(name);
            if (!st.has(name)) throw new Error(`${file}: missing tensor '${name}'`);
            const e = st.entry(name);
            if (e.shape.join(',') !== shape.join(','))
              throw new Error(
                `${file}: tensor '${name}' has shape [${e.shape.join(', ')}], expected [${shape.join(', ')}]`,
              );
            const h = st.read(name);
            if (h.dtype !== 'float32') throw new Error(`${file}: tensor '${name}' is integer, expected floating point`);
            assertFiniteWeights(h.data, file, name);
            return h.data;
          };
          adapter.set(l, t, get('A', [config.r, inF]), get('B', [outF, config.r]));
        }
      }
      const extra = st.names().filter((n) => !expected.has(n));
      if (extra.length)
        throw new Error(
          `${file}: unexpected tensor '${extra[0]}'${extra.length > 1 ? ` (and ${extra.length - 1} more)` : ''} for target modules ${config.targetModules.join(', ')}`,
        );
    } catch (e) {
      adapter.dispose();
      throw e;
    } finally {
      st.close();
    }
    return adapter;
  }
}
