/**
 * LLaMA (Touvron et al. 2023) in TensorFlow.js, written top-down: forward → decoder layer → attention / MLP,
 * numerically matching Hugging Face's LlamaForCausalLM (RMSNorm, rotary embeddings in HF's rotate_half
 * convention, SwiGLU, grouped-query attention, left-padded batches with position ids = cumsum(attention_mask) − 1,
 * a KV cache for incremental decoding).
 *
 * One level down: the weights' HF names and layout (hf-weights.ts; projections held transposed, (in, out)),
 * positions and composite attention (attention.ts), each op as a native kernel or composite tfjs ops (fused.ts)
 * and which of those paths a forward takes (paths.ts), the forward's options (forward-options.ts). q/k/v and
 * gate/up are deliberately not fused into one matmul: splitting the fused output costs more than it saves on wasm,
 * whose Slice kernel copies its whole input. LoRA adapters (lora.ts) add to each projection's output exactly as
 * PEFT does. Lifecycle: built from a WeightReader (loadLlama in checkpoint.ts reads a checkpoint, Llama.random
 * draws HF's init), an adapter attached / detached / merged, dispose() frees every tensor. This file does not
 * read files or sample tokens.
 */
import * as tf from '@tensorflow/tfjs-core';
import { countParameters, type LlamaConfig } from './config.js';
import type { AttentionCache } from './kvcache.js';
import { SelfAttention, type AttentionLayout } from './attention.js';
import {
  addRmsNorm,
  decodeAttention,
  decodeModel,
  decoderLayer as layerKernel,
  rmsNorm,
  swiGLU,
  type Eps,
} from './fused.js';
import { checkForward, checkHiddenLayer } from './forward-options.js';
import type { ForwardInputs, HiddenReadOut, LogitsReadOut } from './forward-options.js';
import { hfInit, hfTensors, loadWeights, namedWeights } from './hf-weights.js';
import type { LayerVariables, LlamaWeights, WeightReader } from './hf-weights.js';
import { DEFAULT_LORA, LORA_TARGETS, LoraAdapter, type LoraConfig, type LoraTarget } from './lora.js';
import { executionPath, type ExecutionPath } from './paths.js';
import type { TensorSource } from './safetensors.js';

/** What every layer of one forward shares. */
interface LayerContext {
  B: number;
  T: number;
  cache?: AttentionCache;
  training: boolean;
  /** the attached adapter when enabled, else null */
  lora: LoraAdapter | null;
  path: ExecutionPath;
  /** positions as attention takes them (native kernel or composite ops) */
  at: AttentionLayout;
  /** only each row's last position is read out of the last layer: the layer kernel may compute only those */
  lastRowsOnly: boolean;
}

export class Llama implements LlamaWeights {
  readonly embed: tf.Variable; // (V, d) model.embed_tokens.weight
  readonly layers: LayerVariables[];
  readonly norm: tf.Variable; // (d) model.norm.weight
  readonly lmHeadT: tf.Variable | null; // (d, V) = lm_head.weightᵀ; null when tied to the embedding
  /** the attached LoRA adapter, if any; `lora.enabled = false` runs the plain base model */
  lora: LoraAdapter | null = null;

  private readonly attn: SelfAttention; // rotary tables and the composite attention, shared by all layers
  private tiedHead: { dataId: object; t: tf.Tensor2D } | null = null; // embedᵀ (d, V) for inference, and its source
  private readonly eps: Eps;

  // ---------------------------------------------------------------------------------------------- load / dispose

  /** The model of `config` with every weight read once through `read` (HF names and layout). */
  /** the folder it was loaded from (checkpoint.ts loadLlama), so an adapter's base can be checked against it */
  dir: string | null = null;

  constructor(
    readonly config: LlamaConfig,
    read: WeightReader,
  ) {
    this.attn = new SelfAttention(config); // first: refuses an odd head_dim before any weight is read
    try {
      ({ embed: this.embed, layers: this.layers, norm: this.norm, lmHeadT: this.lmHeadT } = loadWeights(config, read));
    } catch (e) {
      this.attn.dispose();
      throw e;
    }
    this.eps = { value: config.rmsNormEps, scalar: tf.keep(tf.scalar(config.rmsNormEps)) };
    if (config.tieWordEmbeddings) this.tiedHeadT(); // made now so a forward never changes the tensor count
  }

  /** A randomly initialised model (HF's init: N(0, std) matrices, unit norms), reproducible from `seed`. */
  static random(config: LlamaConfig, seed: string | number = 0, std = 0.02): Llama {
    return new Llama(config, hfInit(seed, std));
  }

  dispose(): void {
    for (const v of this.baseVariables()) v.dispose();
    this.lora?.dispose(); // with its merged weight copies
    this.lora = null;
    this.attn.dispose();
    this.tiedHead?.t.dispose();
    this.tiedHead = null;
    this.eps.scalar.dispose();
  }

  // ------------------------------------------------------------------------------------------------------ forward

  /** input ids (B, T) int32 → logits (B, T, V), or (B, 1, V) with lastOnly or logitsAt. */
  forward(inputIds: tf.Tensor2D, opts: ForwardInputs & LogitsReadOut = {}): tf.Tensor3D {
    return this.run(inputIds, opts).logits;
  }

  /**
   * The same forward, also returning the hidden state at `opts.hiddenLayer`, (B, T, d) (or (B, 1, d) with lastOnly,
   * unless hiddenAll). Logits, cache writes and the execution path are exactly those of forward().
   */
  forwardWithHidden(
    inputIds: tf.Tensor2D,
    opts: ForwardInputs & LogitsReadOut & HiddenReadOut,
  ): { logits: tf.Tensor3D; hidden: tf.Tensor3D } {
    checkHiddenLayer(opts.hiddenLayer, this.layers.length);
    const r = this.run(inputIds, opts, opts);
    return { logits: r.logits, hidden: r.hidden! };
  }

  private run(
    inputIds: tf.Tensor2D,
    opts: ForwardInputs & LogitsReadOut,
    read?: HiddenReadOut,
  ): { logits: tf.Tensor3D; hidden?: tf.Tensor3D } {
    const { hiddenSize: d, vocabSize: V } = this.config;
    const [B, T] = inputIds.shape;
    const L = this.layers.length;
    const { cache, training = false, logitsAt } = opts;
    const past = cache ? cache.pastLength() : 0;
    checkForward(inputIds, opts, past);
    const lastOnly = (opts.lastOnly ?? false) && T > 1 && !logitsAt; // logitsAt names the rows itself
    const finalAll = read?.hiddenLayer === L && (read.hiddenAll ?? false); // every position's final state wanted
    const lora = this.lora?.enabled ? this.lora : null;
    const path = executionPath(training, T, cache, lora);
    return tf.tidy(() => {
      const at = this.attn.layout(B, T, past, opts, path.nativeAttention);
      // a plain decode step (one position per row, logits only): the whole model as one native kernel
      if (path.wholeStep && !read && !logitsAt) return { logits: this.wholeStep(inputIds, cache!, at, lora) };
      const f: LayerContext = { B, T, cache, training, lora, path, at, lastRowsOnly: lastOnly && !finalAll };
      let x = tf.gather(this.embed, tf.reshape(inputIds, [B * T])) as tf.Tensor2D; // token embeddings (B·T, d)
      let hidden = read?.hiddenLayer === 0 ? x : undefined; // (B·T, d) when asked for
      for (let l = 0; l < L; l++) {
        x = this.decoderLayer(l, x, f); // (B·T, d); (B, d) out of a last layer that kept the last rows only
        if (read?.hiddenLayer === l + 1 && l + 1 < L) hidden = x;
      }
      // ---- read-outs: the rows b·T + logitsAt_b (right-padded prefill), or b·T + T − 1 (lastOnly: left padding
      // puts the last real token last) — already all x holds when the last layer kept only those; else a row copy
      // (slicing (B, T, d) took 20 ms in a 128 × 80 prefill) before the norm of B rows only. The norm is row-wise,
      // so norming before or after taking rows gives the same rows.
      const lastRows = (h: tf.Tensor2D): tf.Tensor2D =>
        h.shape[0] === B * T ? tf.gather(h, tf.range(T - 1, B * T, T, 'int32')) : h; // (B, d)
      const pick = (h: tf.Tensor2D): tf.Tensor2D =>
        logitsAt ? tf.gather(h, tf.add(tf.range(0, B * T, T, 'int32'), logitsAt)) : lastOnly ? lastRows(h) : h;
      const Tout = lastOnly || logitsAt ? 1 : T;
      if (read?.hiddenLayer === L) {
        hidden = rmsNorm(x, this.norm, this.eps, path.native); // every row x holds
        x = pick(hidden);
      } else {
        x = rmsNorm(pick(x), this.norm, this.eps, path.native); // (B·Tout, d)
      }
      const logits = tf.reshape(this.lmHead(x, training), [B, Tout, V]) as tf.Tensor3D; // (B, Tout, V)
      if (!hidden) return { logits };
      const all = !lastOnly || (read?.hiddenAll ?? false);
      return { logits, hidden: tf.reshape(all ? hidden : lastRows(hidden), [B, all ? T : 1, d]) as tf.Tensor3D };
    });
  }

  /** One pre-norm decoder layer on the residual stream x (B·T, d): x = x + attn(norm(x)); x = x + mlp(norm(x)). */
  private decoderLayer(l: number, x: tf.Tensor2D, f: LayerContext): tf.Tensor2D {
    const W = this.layers[l];
    // the whole layer as one native kernel, bit-identical to the three lines below
    if (f.path.wholeLayer) return this.wholeLayer(l, x, f);
    const h = rmsNorm(x, W.inputNorm, this.eps, f.path.native); // (B·T, d)
    const [x1, h1] = addRmsNorm(x, this.attention(l, h, f), W.postNorm, this.eps, f.path.native); // x + attn, its norm
    return tf.add(x1, this.mlp(l, h1, f)); // (B·T, d)
  }

  /** Self-attention of layer l: h (B·T, d) → (B·T, d); this step's keys/values go into the cache. */
  private attention(l: number, h: tf.Tensor2D, f: LayerContext): tf.Tensor2D {
    const q = this.proj(l, 'q_proj', h, f); // (B·T, nH·hd)
    const k = this.proj(l, 'k_proj', h, f); // (B·T, nKv·hd)
    const v = this.proj(l, 'v_proj', h, f); // (B·T, nKv·hd)
    const o = f.at.decode // (B·T, nH·hd)
      ? decodeAttention(f.cache, l, q, k, v, f.at.decode, f.T) // native: rotary, cache write, softmax in one kernel
      : this.attn.attend(l, q, k, v, f.at, f.B, f.T, f.cache);
    return this.proj(l, 'o_proj', o, f);
  }

  /** SwiGLU MLP of layer l: h (B·T, d) → down(SiLU(gate(h))·up(h)) (B·T, d). */
  private mlp(l: number, h: tf.Tensor2D, f: LayerContext): tf.Tensor2D {
    const act = swiGLU(this.proj(l, 'gate_proj', h, f), this.proj(l, 'up_proj', h, f), f.path.native); // (B·T, I)
    return this.proj(l, 'down_proj', act, f);
  }

  /** x (N, in) → (N, out) through projection `t` of layer l, plus its LoRA update when an adapter is on. */
  private proj(l: number, t: LoraTarget, x: tf.Tensor2D, f: LayerContext): tf.Tensor2D {
    const W = this.layers[l][t];
    if (!f.lora?.has(l, t)) return tf.matMul(x, W);
    if (f.path.mergedLora) return tf.matMul(x, f.lora.merged(l, t, W));
    return tf.add(tf.matMul(x, W), f.lora.delta(l, t, x, f.training)) as tf.Tensor2D;
  }

  /** Layer l as one native kernel: the adapted projections as their merged copies. */
  private wholeLayer(l: number, x: tf.Tensor2D, f: LayerContext): tf.Tensor2D {
    const lastRows = f.lastRowsOnly && l === this.layers.length - 1;
    return layerKernel(f.cache, l, x, this.kernelWeights(l, f.lora), f.at.decode!, this.eps.value, f.T, lastRows);
  }

  /** Layer l's weights as the native kernels take them: an adapted projection as its merged copy. */
  private kernelWeights(l: number, lora: LoraAdapter | null): Record<keyof LayerVariables, tf.Tensor> {
    const w = { ...this.layers[l] } as Record<keyof LayerVariables, tf.Tensor>;
    for (const t of LORA_TARGETS) if (lora?.has(l, t)) w[t] = lora.merged(l, t, this.layers[l][t]);
    return w;
  }

  /** A decode step, ids (B, 1) → logits (B, 1, V), as one native kernel; adapted projections as their merged copies. */
  private wholeStep(
    ids: tf.Tensor2D,
    cache: AttentionCache,
    at: AttentionLayout,
    lora: LoraAdapter | null,
  ): tf.Tensor3D {
    const layers = this.layers.map((_, l) => this.kernelWeights(l, lora));
    const head = this.lmHeadT ?? this.tiedHeadT();
    const [B] = ids.shape;
    const flat = tf.reshape(ids, [B]) as tf.Tensor1D;
    const logits = decodeModel(
      cache,
      flat,
      { embed: this.embed, norm: this.norm, head, layers },
      at.decode!,
      this.eps.value,
    );
    return tf.reshape(logits, [B, 1, this.config.vocabSize]) as tf.Tensor3D;
  }

  /** Logits of hidden states x (N, d) → (N, V). */
  private lmHead(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    if (this.lmHeadT) return tf.matMul(x, this.lmHeadT);
    // Tied: under a gradient tape use the embedding itself; for inference a cached transpose keeps the
    // matmul on XNNPACK's fast path (the wasm backend only takes it without transposes).
    if (training || tf.engine().state.gradientDepth > 0) return tf.matMul(x, this.embed, false, true);
    return tf.matMul(x, this.tiedHeadT());
  }

  /** embedᵀ (d, V), rebuilt when the embedding changed (Variable.assign gives it a new dataId). */
  private tiedHeadT(): tf.Tensor2D {
    if (!this.tiedHead || this.tiedHead.dataId !== this.embed.dataId) {
      this.tiedHead?.t.dispose();
      this.tiedHead = { dataId: this.embed.dataId, t: tf.keep(tf.transpose(this.embed as tf.Tensor2D)) };
    }
    return this.tiedHead.t;
  }

  // ------------------------------------------------------------------------------------ LoRA: attach / detach / merge

  /** Attach a fresh adapter (A random, B zero) and freeze the base. */
  attachLora(config: Partial<LoraConfig> = {}, seed: string | number = 0): LoraAdapter {
    return this.setLora(new LoraAdapter(this.config, { ...DEFAULT_LORA, ...config }, seed));
  }

  /** Attach `adapter` (or detach with null: the adapter is disposed). The base is frozen while one is attached. */
  setLora(adapter: LoraAdapter | null): LoraAdapter {
    if (this.lora && this.lora !== adapter) this.lora.dispose();
    this.lora = adapter;
    for (const v of this.baseVariables()) v.trainable = adapter === null;
    return adapter as LoraAdapter;
  }

  /** Fold the adapter into the base weights (W += scaling·B·A) and detach it. */
  mergeLora(): void {
    const lora = this.lora;
    if (!lora) throw new Error('mergeLora: no LoRA adapter attached');
    this.layers.forEach((W, l) => {
      // (in, out) += scaling·Aᵀ·Bᵀ
      for (const t of lora.config.targetModules) tf.tidy(() => W[t].assign(tf.add(W[t], lora.denseDeltaT(l, t))));
    });
    this.setLora(null);
  }

  // ---------------------------------------------------------------------------------------------------- weights

  /** Base weight variables under their HF names; projections and lm_head are held transposed, (in, out). */
  namedVariables(): Map<string, tf.Variable> {
    return namedWeights(this);
  }

  /** Every base weight variable (what full fine-tuning would update). */
  baseVariables(): tf.Variable[] {
    return [...this.namedVariables().values()];
  }

  /** What a trainer should update: the LoRA variables when an adapter is attached (base frozen), else the base. */
  trainableVariables(): tf.Variable[] {
    return this.lora ? this.lora.variables() : this.baseVariables();
  }

  /** The base weights in HF's names, order and layout ((out, in) projections), each read back when asked for. */
  hfWeights(): [string, TensorSource][] {
    return hfTensors(this);
  }

  numParameters(): number {
    return countParameters(this.config);
  }
}
