/**
 * HF checkpoint and PEFT adapter files: save → load bit-identical (single file and sharded), the HF
 * fixture re-saved bit-identically, half-precision upcast, and one test per corrupt input, each
 * checking that the error names the file and (where there is one) the tensor or key.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { Llama } from '../../src/model/llama.js';
import { loadLlama, saveLlama } from '../../src/model/checkpoint.js';
import { configFromHF, configToHF } from '../../src/model/config.js';
import { hfWeightNames } from '../../src/model/hf-weights.js';
import { LoraAdapter } from '../../src/model/lora.js';
import { SafetensorsFile, readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import { HF_FIXTURE } from '../helpers/paths.js';
import { tinyConfig } from './helpers.js';

let tmp: string;
beforeAll(async () => {
  await initBackend('wasm');
  tmp = mkdtempSync(join(tmpdir(), 'seqsch-ckpt-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function weights(m: Llama): Map<string, Float32Array> {
  return new Map(m.hfWeights().map(([n, t]) => [n, ('data' in t ? t.data : t.read()) as Float32Array]));
}
function expectBitIdentical(a: Map<string, Float32Array>, b: Map<string, Float32Array>) {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [n, x] of a) expect(Buffer.from(b.get(n)!.buffer).equals(Buffer.from(x.buffer))).toBe(true);
}

/** A raw safetensors file from a header object and data bytes. */
function writeRaw(file: string, header: object, data: Uint8Array, headerLenOverride?: number) {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLenOverride ?? h.length));
  writeFileSync(file, Buffer.concat([len, h, data]));
}

describe('checkpoint round trip', () => {
  test('save → load is bit-identical (single file), GQA + tied embeddings', () => {
    const m = Llama.random(tinyConfig({ numKvHeads: 2, tieWordEmbeddings: true }), 'rt');
    const dir = join(tmp, 'single');
    saveLlama(m, dir);
    const back = loadLlama(dir);
    expect(back.config).toEqual(m.config);
    expectBitIdentical(weights(m), weights(back));
    expect(readSafetensors(join(dir, 'model.safetensors')).has('lm_head.weight')).toBe(false);
    m.dispose();
    back.dispose();
  });

  test('sharded save writes model.safetensors.index.json; loading it is bit-identical', () => {
    const m = Llama.random(tinyConfig(), 'shard');
    const dir = join(tmp, 'sharded');
    saveLlama(m, dir, { maxShardBytes: 20_000 });
    const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
    expect(files.length).toBeGreaterThan(2);
    expect(files).not.toContain('model.safetensors');
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(Object.keys(index.weight_map).sort()).toEqual(hfWeightNames(m.config).sort());
    const back = loadLlama(dir);
    expectBitIdentical(weights(m), weights(back));
    m.dispose();
    back.dispose();
  });

  test('LoRA adapter save → load is bit-identical and in PEFT naming', () => {
    const cfg = tinyConfig({ numKvHeads: 2 });
    const a = new LoraAdapter(
      cfg,
      { r: 4, alpha: 8, dropout: 0.1, targetModules: ['q_proj', 'k_proj', 'down_proj'] },
      3,
    );
    for (const v of a.bT.values()) v.assign(tf.randomNormal(v.shape, 0, 1, 'float32', 4));
    const dir = join(tmp, 'adapter');
    a.save(dir);
    const names = SafetensorsFile.open(join(dir, 'adapter_model.safetensors')).names();
    expect(names).toContain('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight');
    expect(names).toContain('base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight');
    const b = LoraAdapter.load(dir, cfg);
    expect(b.config).toEqual({ ...a.config, useRslora: false });
    for (const key of a.aT.keys()) {
      for (const m of ['aT', 'bT'] as const) {
        expect(
          Buffer.from(b[m].get(key)!.dataSync().buffer).equals(Buffer.from(a[m].get(key)!.dataSync().buffer)),
        ).toBe(true);
      }
    }
    a.dispose();
    b.dispose();
  });

  test('config.json round trip, defaults, and old-style top-level rope_theta', () => {
    const cfg = tinyConfig({ numKvHeads: 2, ropeTheta: 500000 });
    expect(configFromHF(configToHF(cfg))).toEqual(cfg);
    const old = {
      hidden_size: 64,
      intermediate_size: 100,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      vocab_size: 10,
      rope_theta: 1e6,
      eos_token_id: [7, 8],
    };
    const c = configFromHF(old);
    expect([c.ropeTheta, c.numKvHeads, c.headDim, c.eosTokenId]).toEqual([1e6, 4, 16, 7]);
    expect(configFromHF({ ...old, rope_theta: undefined }).ropeTheta).toBe(10000);
    expect(() => configFromHF({ ...old, hidden_size: undefined }, 'x/config.json')).toThrow(
      "x/config.json: missing key 'hidden_size'",
    );
    expect(() => configFromHF({ ...old, num_key_value_heads: 3 }, 'c.json')).toThrow(
      "c.json: key 'num_key_value_heads' (3) must divide",
    );
    expect(() => configFromHF({ ...old, rope_scaling: { rope_type: 'yarn' } }, 'c.json')).toThrow(
      /c\.json: key 'rope_scaling\.rope_type' is 'yarn'/,
    );
  });
});

describe('HF fixture checkpoint', () => {
  test('loading the fixture and saving it again reproduces every tensor bit for bit', () => {
    const m = loadLlama(join(HF_FIXTURE, 'model'));
    const dir = join(tmp, 'fixture-resave');
    saveLlama(m, dir);
    const orig = readSafetensors(join(HF_FIXTURE, 'model/model.safetensors'));
    const ours = readSafetensors(join(dir, 'model.safetensors'));
    expect([...ours.keys()].sort()).toEqual([...orig.keys()].sort());
    for (const [n, t] of orig) {
      expect(ours.get(n)!.shape).toEqual(t.shape);
      expect(Buffer.from(ours.get(n)!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
    }
    expect(configFromHF(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')))).toEqual(m.config);
    m.dispose();
  });
});

describe('safetensors dtypes', () => {
  test('F16 and BF16 are upcast to float32, I64 narrowed to int32', () => {
    const f = join(tmp, 'dtypes.safetensors');
    // F16: 1.0 = 0x3c00, -2.5 = 0xc100, 2^-24 (smallest subnormal) = 0x0001; BF16: 1.0 = 0x3f80, -3.0 = 0xc040
    const f16 = new Uint16Array([0x3c00, 0xc100, 0x0001]);
    const bf16 = new Uint16Array([0x3f80, 0xc040]);
    const i64 = new BigInt64Array([5n, -7n]);
    const data = Buffer.concat([Buffer.from(f16.buffer), Buffer.from(bf16.buffer), Buffer.from(i64.buffer)]);
    writeRaw(
      f,
      {
        a: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
        c: { dtype: 'I64', shape: [2], data_offsets: [10, 26] },
      },
      data,
    );
    const t = readSafetensors(f);
    expect(Array.from(t.get('a')!.data)).toEqual([1, -2.5, 2 ** -24]);
    expect(t.get('a')!.dtype).toBe('float32');
    expect(Array.from(t.get('b')!.data)).toEqual([1, -3]);
    expect(t.get('c')!.dtype).toBe('int32');
    expect(Array.from(t.get('c')!.data)).toEqual([5, -7]);
  });

  test('an I64 value outside int32 is refused, naming file and tensor', () => {
    const f = join(tmp, 'big.safetensors');
    writeRaw(
      f,
      { ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } },
      Buffer.from(new BigInt64Array([2n ** 40n]).buffer),
    );
    expect(() => readSafetensors(f)).toThrow(`${f}: tensor 'ids' (I64) holds 1099511627776, outside the int32 range`);
  });
});

describe('corrupt inputs give errors naming the file and tensor', () => {
  let good: string; // a valid checkpoint directory to corrupt copies of
  beforeAll(() => {
    const m = Llama.random(tinyConfig(), 'corrupt');
    good = join(tmp, 'good');
    saveLlama(m, good);
    m.dispose();
  });
  const copy = (name: string) => {
    const d = join(tmp, name);
    cpSync(good, d, { recursive: true });
    return d;
  };

  test('missing file', () => {
    const d = join(tmp, 'empty');
    cpSync(good, d, { recursive: true });
    rmSync(join(d, 'model.safetensors'));
    expect(() => loadLlama(d)).toThrow(`${d}: no model.safetensors or model.safetensors.index.json`);
    rmSync(join(d, 'config.json'));
    expect(() => loadLlama(d)).toThrow(`${join(d, 'config.json')}: file not found`);
    expect(() => SafetensorsFile.open(join(d, 'nope.safetensors'))).toThrow(
      `${join(d, 'nope.safetensors')}: file not found`,
    );
  });

  test('truncated header', () => {
    const d = copy('trunc-header');
    const f = join(d, 'model.safetensors');
    truncateSync(f, 5);
    expect(() => loadLlama(d)).toThrow(`${f}: truncated safetensors file (5 bytes, no header length)`);
    truncateSync(f, 0);
    writeFileSync(f, readFileSync(join(good, 'model.safetensors')).subarray(0, 100));
    expect(() => loadLlama(d)).toThrow(
      new RegExp(`${f}: truncated safetensors header \\(needs \\d+ bytes, file has 92`),
    );
  });

  test('corrupt header (not JSON, absurd length, bad entry)', () => {
    const f = join(tmp, 'bad.safetensors');
    writeFileSync(f, Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a"')]));
    expect(() => SafetensorsFile.open(f)).toThrow(new RegExp(`^${f}: corrupt safetensors header \\(not valid JSON`));
    writeRaw(f, {}, new Uint8Array(0), 2 ** 40);
    expect(() => SafetensorsFile.open(f)).toThrow(
      `${f}: corrupt safetensors header (header length 1099511627776 bytes exceeds the 100 MB limit)`,
    );
    writeRaw(f, { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8));
    expect(() => SafetensorsFile.open(f)).toThrow(
      `${f}: corrupt safetensors header for tensor 'w' (shape [3] of F32 needs 12 bytes, data_offsets span 8)`,
    );
  });

  test('data offsets out of range (file cut inside the data)', () => {
    const d = copy('trunc-data');
    const f = join(d, 'model.safetensors');
    const st = SafetensorsFile.open(f);
    const last = [...st.entries.values()].sort((a, b) => b.end - a.end)[0];
    st.close();
    truncateSync(f, last.end - 4);
    expect(() => loadLlama(d)).toThrow(
      new RegExp(`${f}: tensor '${last.name.replace(/\./g, '\\.')}' data offsets \\[\\d+, \\d+\\] are out of range`),
    );
  });

  test('unsupported dtype', () => {
    const f = join(tmp, 'c64.safetensors');
    writeRaw(f, { z: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8));
    expect(() => readSafetensors(f)).toThrow(`${f}: tensor 'z' has unsupported dtype C64`);
  });

  test('missing tensor, unexpected tensor, shape mismatch', () => {
    const d = copy('names');
    const f = join(d, 'model.safetensors');
    const all = readSafetensors(join(good, 'model.safetensors'));
    const without = [...all].filter(([n]) => n !== 'model.layers.1.mlp.up_proj.weight');
    writeSafetensors(f, without);
    expect(() => loadLlama(d)).toThrow(`${f}: missing tensor 'model.layers.1.mlp.up_proj.weight'`);
    writeSafetensors(f, [...all, ['model.layers.2.mlp.up_proj.weight', all.get('model.layers.1.mlp.up_proj.weight')!]]);
    expect(() => loadLlama(d)).toThrow(
      `${f}: unexpected tensor 'model.layers.2.mlp.up_proj.weight' for a 2-layer LLaMA`,
    );
    writeSafetensors(f, all);
    const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 40 }));
    expect(() => loadLlama(d)).toThrow(
      `${f}: tensor 'model.layers.0.mlp.gate_proj.weight' has shape [48, 32], expected [40, 32] from ${join(d, 'config.json')}`,
    );
  });

  test('sharded index pointing at a shard without the tensor', () => {
    const m = Llama.random(tinyConfig(), 'idx');
    const d = join(tmp, 'bad-index');
    saveLlama(m, d, { maxShardBytes: 20_000 });
    m.dispose();
    const indexFile = join(d, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexFile, 'utf8'));
    const shards = [...new Set(Object.values(index.weight_map))] as string[];
    const name = Object.keys(index.weight_map).find((n) => index.weight_map[n] === shards[0])!;
    index.weight_map[name] = shards[1];
    writeFileSync(indexFile, JSON.stringify(index));
    expect(() => loadLlama(d)).toThrow(
      `${join(d, shards[1])}: missing tensor '${name}' (listed for this shard in ${indexFile})`,
    );
  });

  test('adapter: missing tensor and wrong shape', () => {
    const cfg = tinyConfig();
    const a = new LoraAdapter(cfg, { r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj', 'v_proj'] }, 1);
    const d = join(tmp, 'bad-adapter');
    a.save(d);
    a.dispose();
    const f = join(d, 'adapter_model.safetensors');
    const all = readSafetensors(f);
    const drop = 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight';
    writeSafetensors(
      f,
      [...all].filter(([n]) => n !== drop),
    );
    expect(() => LoraAdapter.load(d, cfg)).toThrow(`${f}: missing tensor '${drop}'`);
    // another width: refused before any tensor is read, every module named (src/model/adapter-base.ts)
    expect(() => LoraAdapter.load(d, tinyConfig({ hiddenSize: 16, headDim: 4 }))).toThrow(
      `LoRA adapter ${d} does not belong to the model (given by its config):\n  q_proj (self_attn.q_proj): the adapter maps 32 → 32 features, the model's 16 → 16 (its hidden size is 16)`,
    );
    const cfgFile = join(d, 'adapter_config.json');
    writeFileSync(
      cfgFile,
      JSON.stringify({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), target_modules: ['q_proj', 'lm_head'] }),
    );
    expect(() => LoraAdapter.load(d, cfg)).toThrow(`${cfgFile}: key 'target_modules' names 'lm_head'`);
  });
});
