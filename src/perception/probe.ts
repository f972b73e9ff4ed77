/**
 * A hidden-state length probe on the serving model (after TRAIL, ICLR 2025): a small head on one layer's hidden
 * state that predicts how long the answer will be, read from a forward the engine runs anyway — the generation
 * prompt's prefill (total length, for the scheduler) and each decode step (remaining length, for a serving
 * policy such as srpt). Two heads share the layer: `total` (the state at the prompt's last position → the answer's
 * length in the lenpred records' units, L_max or L_t0.0; or the same layer averaged over the prompt) and `remaining` (the state after t generated tokens →
 * decode steps left, EOS included). Each head is an MLP with one hidden ReLU layer (or linear) on standardised
 * inputs, whose outputs a proxy head kind reads (src/scoring/heads.ts: length buckets or log-length regression).
 * Folder: probe_config.json + probe.safetensors. Training is probe-train.ts's; this file runs and stores a probe.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import seedrandom from 'seedrandom';
import { decode, headOutputs, type HeadConfig } from '../scoring/heads.js';
import { decodeRuleProblem } from '../scoring/kinds.js';
import { readSafetensors, writeSafetensors } from '../model/safetensors.js';
import { readJson, writeJson } from '../util/fs.js';
import { PROBE_CONFIG, PROBE_WEIGHTS } from './probe-folder.js';

export type ProbeHeadName = 'total' | 'remaining';
export type ProbeTarget = 'L_max' | 'L_t0.0';

export interface ProbeHeadConfig {
  /** hidden ReLU width; 0 = a linear head */
  hiddenSize: number;
  /** what the outputs mean and how they become a length (buckets or a regression) */
  head: HeadConfig;
}

export interface ProbeConfig {
  format: 'seqsch-probe-1';
  /** the serving model's folder the probe was trained on (informational) */
  model: string;
  /** HF hidden-state index: 0 = embeddings, l = after decoder layer l, numLayers = after the final norm */
  layer: number;
  /** the total head's input: the state at the prompt's last position, or its mean over the prompt's positions */
  pool: 'last' | 'mean';
  /** the model's hidden size */
  inputSize: number;
  /** the lenpred record the total head was trained towards */
  target: ProbeTarget;
  heads: Partial<Record<ProbeHeadName, ProbeHeadConfig>>;
}

/** One head's weights: standardisation of the input, then [x·W1 + b1]₊ · W2 + b2 (or x·W2 + b2 when linear). */
interface HeadWeights {
  mean: tf.Variable; // (d) input mean, fixed
  invStd: tf.Variable; // (d) 1 / input std, fixed
  w1?: tf.Variable; // (d, h)
  b1?: tf.Variable; // (h)
  w2: tf.Variable; // (h | d, A)
  b2: tf.Variable; // (A)
}

/** Variable names must be unique per tfjs engine; a counter keeps them deterministic. */
let created = 0;

export class LengthProbe {
  private readonly w = new Map<ProbeHeadName, HeadWeights>();

  constructor(
    readonly config: ProbeConfig,
    weights: Map<string, Float32Array> | null,
    seed = 0,
  ) {
    const d = config.inputSize;
    for (const [name, hc] of Object.entries(config.heads) as [ProbeHeadName, ProbeHeadConfig][]) {
      const rng = seedrandom(`seqsch-probe/${seed}/${name}`);
      const normal = (n: number, std: number) =>
        Float32Array.from(
          { length: n },
          () => std * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng()),
        );
      const v = (key: string, shape: number[], init: () => Float32Array, trainable = true) => {
        const full = `${name}.${key}`;
        const n = shape.reduce((a, b) => a * b, 1);
        const data = weights ? weights.get(full) : init();
        if (!data || data.length !== n)
          throw new Error(`${PROBE_WEIGHTS}: tensor '${full}' missing or not of shape [${shape}]`);
        const t = tf.tensor(data, shape);
        const out = tf.variable(t, trainable, `probe/${created++}/${full}`);
        t.dispose();
        return out;
      };
      const A = headOutputs(hc.head);
      const h = hc.hiddenSize;
      const inW = h > 0 ? h : d;
      this.w.set(name, {
        mean: v('mean', [d], () => new Float32Array(d), false),
        invStd: v('inv_std', [d], () => new Float32Array(d).fill(1), false),
        ...(h > 0
          ? { w1: v('w1', [d, h], () => normal(d * h, Math.sqrt(2 / d))), b1: v('b1', [h], () => new Float32Array(h)) }
          : {}),
        w2: v('w2', [inW, A], () => normal(inW * A, 0.01)),
        b2: v('b2', [A], () => new Float32Array(A)),
      });
    }
  }

  get layer(): number {
    return this.config.layer;
  }

  /** Refuses (naming `where`) a model whose hidden size or layer count this probe was not trained for. */
  checkFits(model: { hiddenSize: number; numLayers: number }, where: string): void {
    if (this.config.inputSize !== model.hiddenSize || this.layer > model.numLayers) {
      throw new Error(
        `${where}: the probe reads layer ${this.layer} of hidden size ${this.config.inputSize}, but the serving model has ${model.numLayers} layers of hidden size ${model.hiddenSize}`,
      );
    }
  }

  /** What the prefill must hand the total head (generate.ts prefillPrompts). */
  get promptHidden(): { layer: number; pool: 'last' | 'mean' } {
    return { layer: this.config.layer, pool: this.config.pool };
  }

  has(head: ProbeHeadName): boolean {
    return this.w.has(head);
  }

  private weights(head: ProbeHeadName): HeadWeights {
    const w = this.w.get(head);
    if (!w) throw new Error(`length probe: no '${head}' head (this probe has: ${[...this.w.keys()].join(', ')})`);
    return w;
  }

  /** Set a head's input standardisation from training features (N, d): mean and 1/std per column. */
  setStandardisation(head: ProbeHeadName, features: Float32Array, n: number): void {
    const d = this.config.inputSize;
    if (features.length !== n * d)
      throw new Error(`setStandardisation: ${features.length} values for ${n} rows of ${d}`);
    const mean = new Float64Array(d);
    const sq = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) mean[k] += features[i * d + k];
    for (let k = 0; k < d; k++) mean[k] /= n;
    for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) sq[k] += (features[i * d + k] - mean[k]) ** 2;
    const w = this.weights(head);
    w.mean.assign(tf.tensor1d(Float32Array.from(mean)));
    w.invStd.assign(tf.tensor1d(Float32Array.from(sq, (s) => 1 / Math.sqrt(s / n + 1e-6))));
  }

  /** Head outputs (N, A) for hidden states x (N, d); differentiable in the head's trainable weights. */
  outputs(head: ProbeHeadName, x: tf.Tensor2D): tf.Tensor2D {
    const w = this.weights(head);
    return tf.tidy(() => {
      let z = tf.mul(tf.sub(x, w.mean), w.invStd) as tf.Tensor2D; // (N, d) standardised
      if (w.w1) z = tf.relu(tf.add(tf.matMul(z, w.w1), w.b1!)) as tf.Tensor2D; // (N, h)
      return tf.add(tf.matMul(z, w.w2), w.b2) as tf.Tensor2D; // (N, A)
    });
  }

  /**
   * Predicted lengths (tokens) of hidden-state rows: `total` = the answer's length (lenpred units) from the state at
   * the prompt's last position; `remaining` = decode steps left (EOS included) from the state of the latest token.
   * `hidden` is (N, d) or (N, 1, d) as forwardWithHidden returns it with lastOnly, or N·d floats.
   */
  predict(head: ProbeHeadName, hidden: tf.Tensor | Float32Array): number[] {
    const d = this.config.inputSize;
    const n = (hidden instanceof Float32Array ? hidden.length : hidden.size) / d;
    if (!Number.isInteger(n))
      throw new Error(
        `length probe: ${hidden instanceof Float32Array ? hidden.length : hidden.size} values are not rows of the hidden size ${d}`,
      );
    if (n === 0) return [];
    const out = tf.tidy(() =>
      this.outputs(
        head,
        hidden instanceof Float32Array ? tf.tensor2d(hidden, [n, d]) : (tf.reshape(hidden, [n, d]) as tf.Tensor2D),
      ),
    );
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return decode(this.config.heads[head]!.head, data, n);
  }

  /** The serving policy's estimate: one hidden-state row per running request → predicted remaining tokens. */
  remainingTokens(hidden: tf.Tensor | Float32Array): number[] {
    return this.predict('remaining', hidden);
  }

  /** The trainable variables of one head. */
  variables(head: ProbeHeadName): tf.Variable[] {
    const w = this.weights(head);
    return [w.w1, w.b1, w.w2, w.b2].filter((x): x is tf.Variable => x !== undefined);
  }

  numParameters(): number {
    return [...this.w.keys()].reduce((s, h) => s + this.variables(h).reduce((a, v) => a + v.size, 0), 0);
  }

  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeJson(join(dir, PROBE_CONFIG), this.config);
    const entries: [string, { dtype: 'float32'; shape: number[]; read: () => Float32Array }][] = [];
    for (const [name, w] of this.w) {
      const named: [string, tf.Variable | undefined][] = [
        ['mean', w.mean],
        ['inv_std', w.invStd],
        ['w1', w.w1],
        ['b1', w.b1],
        ['w2', w.w2],
        ['b2', w.b2],
      ];
      for (const [k, v] of named)
        if (v)
          entries.push([
            `${name}.${k}`,
            { dtype: 'float32', shape: v.shape.slice(), read: () => v.dataSync() as Float32Array },
          ]);
    }
    writeSafetensors(join(dir, PROBE_WEIGHTS), entries, { format: 'seqsch-probe-1' });
  }

  dispose(): void {
    for (const w of this.w.values())
      tf.dispose([w.mean, w.invStd, w.w1, w.b1, w.w2, w.b2].filter((x): x is tf.Variable => x !== undefined));
    this.w.clear();
  }

  static load(dir: string): LengthProbe {
    const file = join(dir, PROBE_CONFIG);
    const config = readJson<ProbeConfig>(file);
    if (config?.format !== 'seqsch-probe-1')
      throw new Error(`${file}: not a length probe config (format must be "seqsch-probe-1")`);
    if (!config.heads || Object.keys(config.heads).length === 0) throw new Error(`${file}: "heads" names no head`);
    if (config.pool !== 'last' && config.pool !== 'mean')
      throw new Error(`${file}: "pool" must be "last" or "mean", got ${JSON.stringify(config.pool)}`);
    for (const [name, h] of Object.entries(config.heads)) {
      const problem = h?.head?.kind === 'buckets' ? decodeRuleProblem(String(h.head.decode)) : undefined;
      if (problem) throw new Error(`${file}: heads.${name}.head.decode: ${problem}`);
    }
    const w = new Map([...readSafetensors(join(dir, PROBE_WEIGHTS))].map(([n, t]) => [n, t.data as Float32Array]));
    return new LengthProbe(config, w);
  }
}
