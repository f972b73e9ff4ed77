/**
 * AdamW with decoupled weight decay, PyTorch `torch.optim.AdamW` semantics: each update first shrinks
 * the parameter (p ← p − lr·wd·p), then takes the bias-corrected Adam step. The moments (m, v) and the
 * per-parameter step counts save to and load from a checkpoint folder so a run resumes bit-exactly.
 * It does not compute gradients, clip them or schedule the learning rate (see trainer.ts, schedule.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeFileAtomic, writeJson } from '../util/fs.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** optimizer.json: everything but the moment values, which live in optimizer.bin (float32, little-endian). */
interface AdamWFile {
  format: 'seqsch-adamw-1';
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** one entry per parameter, in the order given to the optimizer; m then v of each are stored in this order */
  params: { name: string; shape: number[]; step: number }[];
}

export const OPTIMIZER_JSON = 'optimizer.json';
export const OPTIMIZER_BIN = 'optimizer.bin';

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** first and second moments, same shapes as the parameters (float32, not trainable) */
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  /** updates taken per parameter (PyTorch keeps one per parameter; a parameter without gradient is skipped) */
  private readonly steps: number[];

  constructor(
    readonly params: tf.Variable[],
    opts: AdamWOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    params.forEach((p, i) => {
      if (p.dtype !== 'float32') throw new Error(`AdamW: parameter ${i} ('${p.name}') is ${p.dtype}, expected float32`);
    });
    // tidy: the zeros tensor would otherwise outlive the variable that copies its data reference
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.steps = params.map(() => 0);
  }

  /**
   * One update with learning rate `lr`. `grads[i]` belongs to `params[i]`; an undefined entry leaves that
   * parameter and its state untouched (PyTorch skips parameters whose `.grad` is None). Grads are not disposed.
   */
  step(grads: (tf.Tensor | undefined)[], lr: number): void {
    if (grads.length !== this.params.length) {
      throw new Error(`AdamW.step: got ${grads.length} gradients for ${this.params.length} parameters`);
    }
    const { beta1, beta2, eps, weightDecay } = this;
    grads.forEach((g, i) => {
      if (g === undefined) return;
      const p = this.params[i];
      if (!tf.util.arraysEqual(g.shape, p.shape)) {
        throw new Error(`AdamW.step: gradient ${i} has shape [${g.shape}], parameter '${p.name}' has [${p.shape}]`);
      }
      const t = ++this.steps[i];
      // Scalars are computed in float64 here and rounded once to float32, as PyTorch does for python floats.
      const stepSize = lr / (1 - beta1 ** t);
      const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
      tf.tidy(() => {
        const decayed = weightDecay !== 0 ? tf.mul(p, 1 - lr * weightDecay) : p; // p ← p·(1 − lr·wd)
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1)); // m ← β1·m + (1−β1)·g
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2)); // v ← β2·v + (1−β2)·g²
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps); // √v / √(1−β2^t) + ε
        this.m[i].assign(m);
        this.v[i].assign(v);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize))); // p ← p − lr/(1−β1^t) · m / denom
      });
    });
  }

  /** Updates taken so far by parameter `i`. */
  stepCount(i = 0): number {
    return this.steps[i];
  }

  /** Write optimizer.json + optimizer.bin into `dir`. */
  async save(dir: string): Promise<void> {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < this.params.length; i++) {
      for (const s of [this.m[i], this.v[i]]) {
        const a = (await s.data()) as Float32Array;
        chunks.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      }
    }
    writeFileAtomic(join(dir, OPTIMIZER_BIN), Buffer.concat(chunks));
    const file: AdamWFile = {
      format: 'seqsch-adamw-1',
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      params: this.params.map((p, i) => ({ name: p.name, shape: p.shape, step: this.steps[i] })),
    };
    writeJson(join(dir, OPTIMIZER_JSON), file);
  }

  /**
   * Restore state saved by `save`. Parameters are matched by position (tfjs variable names are not stable
   * across processes), so they must be passed in the same order; shapes are checked.
   */
  load(dir: string): void {
    const jsonPath = join(dir, OPTIMIZER_JSON);
    const binPath = join(dir, OPTIMIZER_BIN);
    const file = readJson<AdamWFile>(jsonPath);
    if (file.format !== 'seqsch-adamw-1') throw new Error(`${jsonPath}: unknown format '${file.format}'`);
    if (file.params.length !== this.params.length) {
      throw new Error(`${jsonPath}: state for ${file.params.length} parameters, optimizer has ${this.params.length}`);
    }
    if (!existsSync(binPath)) throw new Error(`${binPath}: file not found`);
    const bin = readFileSync(binPath);
    let offset = 0;
    file.params.forEach((saved, i) => {
      const p = this.params[i];
      if (!tf.util.arraysEqual(saved.shape, p.shape)) {
        throw new Error(
          `${jsonPath}: parameter ${i} ('${saved.name}') has shape [${saved.shape}], model has [${p.shape}] ('${p.name}')`,
        );
      }
      for (const s of [this.m[i], this.v[i]]) {
        const bytes = p.size * 4;
        if (offset + bytes > bin.length) throw new Error(`${binPath}: truncated at parameter ${i} ('${saved.name}')`);
        // copy into an aligned buffer (the Buffer's offset may not be a multiple of 4)
        const values = new Float32Array(bin.buffer.slice(bin.byteOffset + offset, bin.byteOffset + offset + bytes));
        tf.tidy(() => s.assign(tf.tensor(values, p.shape, 'float32')));
        offset += bytes;
      }
      this.steps[i] = saved.step;
    });
    if (offset !== bin.length) throw new Error(`${binPath}: ${bin.length - offset} bytes left over`);
  }

  dispose(): void {
    for (const s of [...this.m, ...this.v]) s.dispose();
  }
}
