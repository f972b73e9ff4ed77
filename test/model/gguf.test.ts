/**
 * GGUF in and out (src/model/gguf): tiny-v3 → F32 GGUF → read back gives bit-identical weights and identical logits;
 * F16 within half-precision rounding; a Q8_0 file written byte by byte here dequantizes to d·q; the Q/K row permutation
 * keeps the rotary attention scores (HF's rotate-half on HF rows = llama.cpp's adjacent pairs on GGUF rows); the
 * tokenizer read from the metadata equals the folder's; the SentencePiece tokenizer of a full LLaMA-1 vocabulary
 * (pieces + scores as we write them) encodes as the built-in LLaMA-1 tokenizer; bad files fail naming file/key/tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { loadLlama } from '../../src/model/checkpoint.js';
import { Llama } from '../../src/model/llama.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';
import { llamaTokenizer } from '../../src/tokenizer/llama.js';
import { GgufFile, loadModelTokenizer, permuteRotary, readLlamaGguf, writeGguf } from '../../src/model/gguf/index.js';
import { writeLlamaGguf } from '../../src/model/gguf/export.js';
import { tokenizerEntries } from '../../src/model/gguf/tokenizer.js';
import { GgmlType, GgufValueType, halfToFloat, encodeTensor } from '../../src/model/gguf/format.js';
import { spmTokenizer } from '../../src/model/gguf/spm.js';
import { tinyConfig } from './helpers.js';
import { repoPath } from '../helpers/paths.js';

const TINY = repoPath('ckpts/tiny-v3');
let tmp: string;
beforeAll(async () => {
  await initBackend('wasm');
  tmp = mkdtempSync(join(tmpdir(), 'seqsch-gguf-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const weights = (m: Llama) =>
  new Map(m.hfWeights().map(([n, t]) => [n, Float32Array.from(('data' in t ? t.data : t.read()) as Float32Array)]));
/** Logits (B, T, V) of a fixed batch of token ids. */
function logits(m: Llama): Float32Array {
  const V = m.config.vocabSize;
  const ids = Array.from({ length: 2 * 12 }, (_, i) => 3 + ((i * 37) % (V - 3)));
  return tf.tidy(() => m.forward(tf.tensor2d(ids, [2, 12], 'int32')).dataSync() as Float32Array);
}

describe('GGUF round trip of tiny-v3', () => {
  let base: Llama;
  beforeAll(() => (base = loadLlama(TINY)));
  afterAll(() => base.dispose());

  test('F32: config, weights bit-identical, logits exactly equal; tokenizer from the metadata', async () => {
    const file = join(tmp, 'tiny.f32.gguf');
    writeLlamaGguf(base, await loadTokenizer(TINY), file, 'f32');
    const back = readLlamaGguf(file);
    expect(back.config).toEqual(base.config);
    const a = weights(base),
      b = weights(back);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [n, x] of a) expect(Buffer.from(b.get(n)!.buffer).equals(Buffer.from(x.buffer))).toBe(true);
    const la = logits(base),
      lb = logits(back);
    expect(Buffer.from(lb.buffer).equals(Buffer.from(la.buffer))).toBe(true);
    back.dispose();
    // loadLlama takes the .gguf path too, and the tokenizer comes from the file
    const viaLoad = loadLlama(file);
    expect(viaLoad.config.vocabSize).toBe(891);
    viaLoad.dispose();
    const text = 'USER: Count from 3 to 7.\nASSISTANT: 3 of 7, 4 of 7';
    const [t1, t2] = [await loadTokenizer(TINY), await loadModelTokenizer(file)];
    expect(t2.encode(text)).toEqual(t1.encode(text));
    expect(t2.decode(t1.encode(text))).toBe(t1.decode(t1.encode(text)));
    // llama.cpp's names, ggml dims innermost first, metadata keys
    const g = GgufFile.open(file);
    expect(g.version).toBe(3);
    expect(g.info('blk.0.attn_q.weight').dims).toEqual([192, 192]);
    expect(g.info('blk.0.ffn_gate.weight').dims).toEqual([192, 512]);
    expect(g.info('token_embd.weight').dims).toEqual([192, 891]);
    expect(g.metadata.get('llama.block_count')).toBe(4);
    expect(g.metadata.get('llama.attention.head_count')).toBe(3);
    expect(g.metadata.get('tokenizer.ggml.model')).toBe('llama');
    expect((g.metadata.get('tokenizer.ggml.tokens') as string[]).slice(0, 4)).toEqual([
      '<unk>',
      '<s>',
      '</s>',
      '<0x0A>',
    ]);
    g.close();
  });

  test('F16: matrices within half rounding (norms stay F32), logits close', async () => {
    const file = join(tmp, 'tiny.f16.gguf');
    writeLlamaGguf(base, await loadTokenizer(TINY), file, 'f16');
    const g = GgufFile.open(file);
    expect(g.info('blk.0.attn_norm.weight').type).toBe(GgmlType.F32);
    expect(g.info('blk.0.attn_k.weight').type).toBe(GgmlType.F16);
    g.close();
    const back = readLlamaGguf(file);
    const a = weights(base),
      b = weights(back);
    // half has 11 significant bits: |error| ≤ 2^-11 |x| for normal halves, ≤ 2^-25 below 2^-14 (subnormals)
    const over: string[] = [];
    let changed = 0;
    for (const [n, x] of a) {
      const y = b.get(n)!;
      for (let i = 0; i < x.length; i++) {
        if (y[i] !== x[i]) changed++;
        if (Math.abs(y[i] - x[i]) > Math.max(Math.abs(x[i]) * 2 ** -11, 2 ** -25)) over.push(`${n}[${i}]`);
      }
    }
    expect(over.slice(0, 5)).toEqual([]);
    expect(changed).toBeGreaterThan(1_000_000); // it was rounded
    const la = logits(base),
      lb = logits(back);
    let maxAbs = 0,
      maxDiff = 0;
    la.forEach((v, i) => {
      maxAbs = Math.max(maxAbs, Math.abs(v));
      maxDiff = Math.max(maxDiff, Math.abs(v - lb[i]));
    });
    expect(maxDiff / maxAbs).toBeLessThan(5e-3);
    back.dispose();
  });
});

describe('GGUF format pieces', () => {
  test('a Q8_0 tensor written byte by byte dequantizes to d·q', () => {
    // header by hand: magic, version 3, 1 tensor, 1 key (general.architecture = "x"), tensor info, pad to 32, data
    const parts: Buffer[] = [];
    const u32 = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      parts.push(b);
    };
    const u64 = (v: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(v));
      parts.push(b);
    };
    const str = (s: string) => {
      u64(Buffer.byteLength(s));
      parts.push(Buffer.from(s));
    };
    parts.push(Buffer.from('GGUF'));
    u32(3);
    u64(1);
    u64(1);
    str('general.architecture');
    u32(8);
    str('x');
    str('w');
    u32(2);
    u64(32); // ne0: one block per row
    u64(2); // ne1: two rows
    u32(8); // Q8_0
    u64(0);
    let len = parts.reduce((s, b) => s + b.length, 0);
    parts.push(Buffer.alloc((32 - (len % 32)) % 32));
    // block 0: d = 0.5 (f16 0x3800), q = -16..15; block 1: d = 2^-10 (f16 0x1400), q = 127, -127, 0, …
    const blocks = Buffer.alloc(68);
    blocks.writeUInt16LE(0x3800, 0);
    for (let j = 0; j < 32; j++) blocks.writeInt8(j - 16, 2 + j);
    blocks.writeUInt16LE(0x1400, 34);
    blocks.writeInt8(127, 36);
    blocks.writeInt8(-127, 37);
    parts.push(blocks);
    const file = join(tmp, 'q8.gguf');
    writeFileSync(file, Buffer.concat(parts));
    const g = GgufFile.open(file);
    expect(g.shape('w')).toEqual([2, 32]);
    const w = g.read('w');
    for (let j = 0; j < 32; j++) expect(w[j]).toBe(0.5 * (j - 16));
    expect(w[32]).toBe(127 / 1024);
    expect(w[33]).toBe(-127 / 1024);
    expect(Array.from(w.subarray(34))).toEqual(new Array(30).fill(0));
    g.close();
  });

  test('Q8_0 encoding: d = max|x|/127 as f16, q = round(x/d); a Q8_0 model runs close to F32', async () => {
    const x = Float32Array.from({ length: 32 }, (_, j) => (j - 8) * 0.25); // max |x| = 5.75
    const bytes = encodeTensor(GgmlType.Q8_0, x, 't');
    const view = new DataView(bytes.buffer);
    const d = halfToFloat(view.getUint16(0, true));
    expect(Math.abs(d - 5.75 / 127)).toBeLessThan(5.75 / 127 / 1024);
    expect(view.getInt8(2 + 31)).toBe(127); // 5.75 / d
    expect(view.getInt8(2 + 8)).toBe(0);
    expect(view.getInt8(2 + 0)).toBe(Math.round(-2 / Math.fround(5.75 / 127)));
    const m = Llama.random(tinyConfig({ hiddenSize: 64, headDim: 16, intermediateSize: 96, vocabSize: 3 + 29 }), 'q8');
    const file = join(tmp, 'rand.q8_0.gguf');
    // a 32-id vocabulary: the first 32 LLaMA-1 ids, as an id map
    const { remapTokenizer } = await import('../../src/tokenizer/idmap.js');
    writeLlamaGguf(
      m,
      remapTokenizer(
        llamaTokenizer(),
        Array.from({ length: 32 }, (_, i) => i),
      ),
      file,
      'q8_0',
    );
    const back = readLlamaGguf(file);
    const la = logits(m),
      lb = logits(back);
    let maxAbs = 0,
      maxDiff = 0;
    la.forEach((v, i) => {
      maxAbs = Math.max(maxAbs, Math.abs(v));
      maxDiff = Math.max(maxDiff, Math.abs(v - lb[i]));
    });
    expect(maxDiff / maxAbs).toBeLessThan(3e-2);
    expect(maxDiff).toBeGreaterThan(0); // it was quantized
    m.dispose();
    back.dispose();
  });

  test('the Q/K permutation keeps rotary attention scores (rotate-half on HF rows = adjacent pairs on GGUF rows)', () => {
    const heads = 2,
      hd = 8,
      cols = 5;
    const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 3);
    const Wq = rnd(heads * hd * cols, 1),
      Wk = rnd(heads * hd * cols, 2),
      x = rnd(cols, 3),
      y = rnd(cols, 4);
    const mv = (W: Float32Array, v: Float32Array) =>
      Array.from({ length: W.length / cols }, (_, r) => v.reduce((s, vi, c) => s + W[r * cols + c] * vi, 0));
    const theta = (i: number, p: number) => p * 10000 ** ((-2 * i) / hd);
    // HF: pair (i, i + hd/2) of each head
    const ropeHalf = (q: number[], p: number) =>
      q.map((_, r) => {
        const h = Math.floor(r / hd),
          k = r % hd,
          i = k % (hd / 2),
          a = theta(i, p);
        const [u, v] = [q[h * hd + i], q[h * hd + i + hd / 2]];
        return k < hd / 2 ? u * Math.cos(a) - v * Math.sin(a) : v * Math.cos(a) + u * Math.sin(a);
      });
    // llama.cpp (NORM rope): pair (2i, 2i + 1)
    const ropePairs = (q: number[], p: number) =>
      q.map((_, r) => {
        const h = Math.floor(r / hd),
          k = r % hd,
          i = Math.floor(k / 2),
          a = theta(i, p);
        const [u, v] = [q[h * hd + 2 * i], q[h * hd + 2 * i + 1]];
        return k % 2 === 0 ? u * Math.cos(a) - v * Math.sin(a) : v * Math.cos(a) + u * Math.sin(a);
      });
    const scores = (q: number[], k: number[]) =>
      Array.from({ length: heads }, (_, h) =>
        q.slice(h * hd, (h + 1) * hd).reduce((s, v, i) => s + v * k[h * hd + i], 0),
      );
    const hf = scores(ropeHalf(mv(Wq, x), 3), ropeHalf(mv(Wk, y), 7));
    const Pq = permuteRotary(Wq, heads, cols, true),
      Pk = permuteRotary(Wk, heads, cols, true);
    const gg = scores(ropePairs(mv(Pq, x), 3), ropePairs(mv(Pk, y), 7));
    gg.forEach((v, h) => expect(v).toBeCloseTo(hf[h], 9));
    // and the unpermuted rows would not match
    const wrong = scores(ropePairs(mv(Wq, x), 3), ropePairs(mv(Wk, y), 7));
    expect(wrong.some((v, h) => Math.abs(v - hf[h]) > 1e-3)).toBe(true);
    expect(Array.from(permuteRotary(Pq, heads, cols, false))).toEqual(Array.from(Wq));
  });

  test('SentencePiece from the metadata of the full LLaMA-1 vocabulary encodes as the built-in tokenizer', () => {
    const e = new Map(tokenizerEntries(llamaTokenizer(), 'test'));
    const val = (k: string) => (e.get(k) as { value: unknown }).value;
    const spm = spmTokenizer({
      tokens: val('tokenizer.ggml.tokens') as string[],
      scores: val('tokenizer.ggml.scores') as number[],
      types: val('tokenizer.ggml.token_type') as number[],
      bosId: 1,
      eosId: 2,
      unkId: 0,
      padId: -1,
      addBos: true,
      name: 'spm',
    });
    const ref = llamaTokenizer();
    for (const text of [
      'Write a short story about a cat who learns to swim.',
      'Count from 17 to 23.\n17 of 23, 18 of 23',
      'The quick brown fox jumps over the lazy dog; naïve café — 3.14159!',
      '  leading spaces and\ttabs',
    ]) {
      expect(spm.encode(text)).toEqual(ref.encode(text));
      expect(spm.decode(ref.encode(text))).toBe(ref.decode(ref.encode(text)));
    }
  });

  test('bad files fail naming the file, key or tensor', async () => {
    const junk = join(tmp, 'junk.gguf');
    writeFileSync(junk, Buffer.alloc(64));
    expect(() => GgufFile.open(junk)).toThrow(`${junk}: not a GGUF file`);
    const noArch = join(tmp, 'noarch.gguf');
    writeGguf(noArch, [['general.architecture', { type: GgufValueType.STRING, value: 'gpt2' }]], []);
    expect(() => readLlamaGguf(noArch)).toThrow(`${noArch}: key 'general.architecture' is 'gpt2', expected 'llama'`);
    // a LLaMA missing one tensor: copy the F32 file's metadata and all tensors but one
    const full = join(tmp, 'tiny.f32.gguf');
    const g = GgufFile.open(full);
    const keep = [...g.tensors.keys()].filter((n) => n !== 'blk.2.ffn_up.weight');
    const entries = tokenizerEntries(await loadTokenizer(TINY), 'x');
    const meta = [...g.metadata.entries()]
      .filter(([k]) => k.startsWith('llama.') || k === 'general.architecture')
      .map(
        ([k, v]) =>
          [
            k,
            typeof v === 'string'
              ? { type: GgufValueType.STRING, value: v }
              : k.endsWith('epsilon') || k.endsWith('freq_base')
                ? { type: GgufValueType.FLOAT32, value: v }
                : { type: GgufValueType.UINT32, value: v },
          ] as const,
      );
    const missing = join(tmp, 'missing.gguf');
    writeGguf(
      missing,
      [...meta, ...entries] as Parameters<typeof writeGguf>[1],
      keep.map((n) => ({ name: n, shape: g.shape(n), type: g.info(n).type, read: () => g.read(n) })),
    );
    g.close();
    expect(() => readLlamaGguf(missing)).toThrow(`${missing}: missing tensor 'blk.2.ffn_up.weight'`);
    // truncated data
    const cut = join(tmp, 'cut.gguf');
    writeFileSync(cut, readFileSync(full).subarray(0, 4_000_000));
    expect(() => GgufFile.open(cut)).toThrow(/cut\.gguf: tensor '.*' \(F32\) runs past the end of the file/);
  });
});
