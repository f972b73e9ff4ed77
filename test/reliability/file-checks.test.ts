/**
 * Issue 27, "files that lie": each file is checked for what it claims before it is used, and the refusal names
 * the file and the tensor, id or entry — a safetensors header whose offsets overlap, leave a gap or stop short
 * of the file; a LoRA adapter of another base (other weights, or other widths and layers); data the tokenizer
 * cannot read (unknown-token share); repeated ids in data and lengths files; lengths above recorded_max_length;
 * predictions with negative, non-numeric lengths or seconds. Every case also checks that nothing on disk changed.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../src/model/safetensors.js';
import { readPredictions } from '../../src/perception/predictions-file.js';
import { loadConversations, loadLengths } from '../../src/data/conversation.js';
import { writeTinyTrace } from '../helpers/experiments.js';
import { conversation } from '../helpers/conversations.js';
import { ALPACA, repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';
import { seqsch } from './helpers.js';
import { snapshot } from './snapshot.js';

const tmp = tmpDirs('seqsch-rel-files-');

/** `seqsch train` of ckpts/tiny-v3 (LoRA) on the first `n` conversations of `data`, batches of 4, into `out`. */
const tinyTrainArgsWith = (data: string, n: number, out: string) => [
  'train',
  '--model',
  repoPath('ckpts/tiny-v3'),
  '--data',
  data,
  '--num-data',
  String(n),
  '--batch-size',
  '4',
  '--grad-accum',
  '1',
  '--epochs',
  '1',
  '--lr',
  '1e-3',
  '--backend',
  'wasm',
  '--out',
  out,
];

/** Copy `src` to `dst` with its safetensors JSON header changed by `mutate` (padded to its old length). */
function rewriteHeader(src: string, dst: string, mutate: (h: Record<string, { data_offsets: number[] }>) => void) {
  const buf = readFileSync(src);
  const n = Number(buf.readBigUInt64LE(0));
  const h = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  mutate(h);
  const json = JSON.stringify(h);
  if (Buffer.byteLength(json) > n) throw new Error('test setup: the new header is longer than the old');
  writeFileSync(dst, Buffer.concat([buf.subarray(0, 8), Buffer.from(json.padEnd(n, ' ')), buf.subarray(8 + n)]));
}

describe('safetensors offsets tile the data section (the reference loader refuses the rest)', () => {
  // a [0, 16), b [16, 32), c [32, 48): three F32 tensors
  const dir = tmp();
  const good = join(dir, 'good.safetensors');
  const t = (n: number) => ({ dtype: 'float32' as const, shape: [n], data: new Float32Array(n).fill(1) });
  writeSafetensors(good, [
    ['a', t(4)],
    ['b', t(4)],
    ['c', t(4)],
  ]);
  const refused = (name: string, mutate: Parameters<typeof rewriteHeader>[2], extra?: Buffer) => {
    const f = join(dir, `${name}.safetensors`);
    rewriteHeader(good, f, mutate);
    if (extra) writeFileSync(f, Buffer.concat([readFileSync(f), extra]));
    const before = snapshot(f);
    let msg = '';
    try {
      SafetensorsFile.open(f).close();
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(snapshot(f)).toEqual(before);
    return msg;
  };

  test('the well-formed file opens', () => {
    expect(SafetensorsFile.open(good).names()).toEqual(['a', 'b', 'c']);
  });
  test('overlapping offsets: named with both tensors', () => {
    const f = join(dir, 'overlap.safetensors');
    expect(refused('overlap', (h) => (h.b.data_offsets = [8, 24]))).toBe(
      `${f}: tensor 'b' data_offsets [8, 24] overlap tensor 'a' [0, 16]`,
    );
  });
  test('a shifted tensor leaves a gap: named with the bytes no tensor claims', () => {
    const f = join(dir, 'shifted.safetensors');
    expect(refused('shifted', (h) => (h.b.data_offsets = [20, 36]))).toBe(
      `${f}: tensor 'b' data_offsets [20, 36] leave bytes [16, 20) unclaimed after tensor 'a' (offsets must be contiguous)`,
    );
  });
  test('trailing bytes after the last tensor', () => {
    const f = join(dir, 'trailing.safetensors');
    expect(refused('trailing', () => {}, Buffer.alloc(8))).toBe(
      `${f}: the tensors end at byte 48 of the data section, which holds 56 bytes (last tensor 'c'): trailing bytes no tensor claims`,
    );
  });
  test("a tensor's byte length must be dtype size × its shape", () => {
    expect(refused('short', (h) => ((h.c as unknown as { shape: number[] }).shape = [5]))).toContain(
      "tensor 'c' (shape [5] of F32 needs 20 bytes, data_offsets span 16)",
    );
  });

  test('seqsch logits on a model whose header overlaps two weights: refused naming the file and a tensor', () => {
    const d = tmp();
    const model = join(d, 'model');
    mkdirSync(model);
    for (const f of ['config.json', 'generation_config.json', 'tokenizer_idmap.json'])
      cpSync(repoPath('ckpts/tiny-v3', f), join(model, f));
    // the tensor stored after q_proj of layer 0, moved 4 bytes back into it (its length unchanged)
    const q = 'model.layers.0.self_attn.q_proj.weight';
    let moved = '';
    let qEnd = 0;
    rewriteHeader(repoPath('ckpts/tiny-v3/model.safetensors'), join(model, 'model.safetensors'), (h) => {
      qEnd = h[q].data_offsets[1];
      moved = Object.keys(h).find((n) => n !== '__metadata__' && h[n].data_offsets[0] === qEnd)!;
      h[moved].data_offsets = h[moved].data_offsets.map((o) => o - 4);
    });
    const input = join(d, 'in.safetensors');
    writeSafetensors(input, [['input_ids', { dtype: 'int32', shape: [1, 3], data: Int32Array.from([1, 5, 6]) }]]);
    const out = join(d, 'out.safetensors');
    const before = snapshot(model, input, out);
    const r = seqsch(['logits', '--backend', 'wasm', '--model', model, '--input', input, '--output', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${join(model, 'model.safetensors')}: tensor '${moved}' data_offsets [${qEnd - 4}, `);
    expect(r.stderr).toContain(`] overlap tensor '${q}' [`);
    expect(snapshot(model, input, out)).toEqual(before);
  });
});

describe('a LoRA adapter is checked against the model it is applied to', () => {
  const d = tmp();
  const input = join(d, 'in.safetensors');
  writeSafetensors(input, [['input_ids', { dtype: 'int32', shape: [1, 3], data: Int32Array.from([1, 5, 6]) }]]);
  const logits = (model: string, lora: string, out: string) =>
    seqsch(['logits', '--backend', 'wasm', '--model', model, '--lora', lora, '--input', input, '--output', out]);

  test('ckpts/tiny-v3-lenpred on ckpts/tiny-v2 (same shapes, other weights): refused naming both folders', () => {
    const out = join(d, 'v2.safetensors');
    const before = snapshot(repoPath('ckpts/tiny-v2'), repoPath('ckpts/tiny-v3-lenpred'), input, out);
    const r = logits('ckpts/tiny-v2', 'ckpts/tiny-v3-lenpred', out); // relative, as the adapter records its base
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('LoRA adapter ckpts/tiny-v3-lenpred does not belong to the model ckpts/tiny-v2:');
    expect(r.stderr).toContain(
      "base_model_name_or_path: the adapter was trained on ckpts/tiny-v3 (ckpts/tiny-v3-lenpred/adapter_config.json), whose config or weights differ from ckpts/tiny-v2's",
    );
    expect(snapshot(repoPath('ckpts/tiny-v2'), repoPath('ckpts/tiny-v3-lenpred'), input, out)).toEqual(before);
  });

  test('the same adapter on a copy of its base (same bytes, another folder) is accepted', () => {
    const copy = join(d, 'copy-of-tiny-v3');
    cpSync(repoPath('ckpts/tiny-v3'), copy, { recursive: true });
    const out = join(d, 'copy.safetensors');
    const r = logits(copy, 'ckpts/tiny-v3-lenpred', out);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(existsSync(out)).toBe(true);
  });

  test("the HF fixture's adapter (2 layers, hidden size 64) on ckpts/tiny-v3 (4 layers, 192): every difference named", () => {
    const out = join(d, 'fixture.safetensors');
    const lora = repoPath('test/fixtures/hf-llama-tiny/lora');
    const before = snapshot(lora, input, out);
    const r = logits('ckpts/tiny-v3', lora, out);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`LoRA adapter ${lora} does not belong to the model ckpts/tiny-v3:`);
    expect(r.stderr).toContain("number of layers: the adapter's tensors cover 2, the model has 4");
    expect(r.stderr).toContain(
      "q_proj (self_attn.q_proj): the adapter maps 64 → 64 features, the model's 192 → 192 (its hidden size is 192)",
    );
    expect(r.stderr).toContain("v_proj (self_attn.v_proj): the adapter maps 64 → 64 features, the model's 192 → 192");
    expect(snapshot(lora, input, out)).toEqual(before);
  });
});

describe('data the tokenizer cannot read is refused, naming the data file', () => {
  test('Alpaca conversations on the tiny-vocabulary model: about 40 % unknown tokens', () => {
    const out = join(tmp(), 'run');
    const before = snapshot(ALPACA.valData, repoPath('ckpts/tiny-v3'), out);
    const r = seqsch(tinyTrainArgsWith(ALPACA.valData, 16, out));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `${ALPACA.valData}: (\\d+\\.\\d) % of its tokens \\(\\d+ of \\d+\\) are unknown to the tokenizer llama-1\\+idmap\\(891\\) \\(at most 1 % accepted\\)`,
      ),
    );
    const share = Number(/: (\d+\.\d) % of its tokens/.exec(r.stderr)![1]);
    expect(share).toBeGreaterThan(30);
    expect(snapshot(ALPACA.valData, repoPath('ckpts/tiny-v3'), out)).toEqual(before);
  });

  test('seqsch lenpred of Alpaca queries on the tiny-vocabulary model: refused before generating', () => {
    const out = join(tmp(), 'lengths.json');
    const before = snapshot(ALPACA.valData, out, `${out}.partial.json`);
    const r = seqsch(
      ['lenpred', '--model', repoPath('ckpts/tiny-v3'), '--data', ALPACA.valData, '--num-data', '8'].concat([
        '--out',
        out,
        '--backend',
        'wasm',
      ]),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`${ALPACA.valData}: \\d+\\.\\d % of its tokens \\(\\d+ of \\d+\\) are unknown`),
    );
    expect(snapshot(ALPACA.valData, out, `${out}.partial.json`)).toEqual(before);
  });

  test("an id map holding 500 of the model's 891 ids: refused on its own training data", () => {
    const d = tmp();
    const model = join(d, 'v3-500');
    cpSync(repoPath('ckpts/tiny-v3'), model, { recursive: true });
    const idmap = JSON.parse(readFileSync(join(model, 'tokenizer_idmap.json'), 'utf8'));
    writeFileSync(
      join(model, 'tokenizer_idmap.json'),
      JSON.stringify({ ...idmap, kept_ids: idmap.kept_ids.slice(0, 500) }),
    );
    const data = repoPath('data/synthetic-v3/train-instruct.json');
    const out = join(d, 'run');
    const before = snapshot(model, data, out);
    const r = seqsch(['train', '--model', model, ...tinyTrainArgsWith(data, 16, out).slice(3)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`${data}: \\d+\\.\\d % of its tokens .* unknown to the tokenizer llama-1\\+idmap\\(500\\)`),
    );
    expect(snapshot(model, data, out)).toEqual(before);
  });
});

describe('ids are unique in data and lengths files', () => {
  const d = tmp();
  const { data, lengths } = writeTinyTrace(d, [5, 6, 7]);
  test('a repeated id in a conversations file', () => {
    const f = join(d, 'dup-conv.json');
    writeFileSync(
      f,
      JSON.stringify([conversation('1', 'q', 'a'), conversation('2', 'q', 'a'), conversation('1', 'q', 'a')]),
    );
    const before = snapshot(f, lengths);
    const r = seqsch(['simulate', '--data', f, '--lengths', lengths]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${f}: id "1" appears twice (items 0 and 2)`);
    expect(snapshot(f, lengths)).toEqual(before);
  });
  test('a repeated id in a lengths file', () => {
    const f = join(d, 'dup-len.json');
    const recs = JSON.parse(readFileSync(lengths, 'utf8'));
    writeFileSync(f, JSON.stringify([...recs, { ...recs[1] }]));
    const before = snapshot(data, f);
    const r = seqsch(['simulate', '--data', data, '--lengths', f]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${f}: id "2" appears twice (items 1 and 3)`);
    expect(snapshot(data, f)).toEqual(before);
    expect(() => loadLengths(f)).toThrow(`${f}: id "2" appears twice`);
    expect(loadConversations(data)).toHaveLength(3);
  });
});

test('--recorded-max-length below the recorded lengths is refused naming the file, the id and the flag', () => {
  const data = repoPath('data/synthetic-v3/val.json');
  const lengths = repoPath('data/synthetic-v3/val-length.json');
  const before = snapshot(data, lengths);
  const r = seqsch([
    'simulate',
    '--data',
    data,
    '--lengths',
    lengths,
    '--num-data',
    '64',
    '--recorded-max-length',
    '10',
  ]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(
    new RegExp(
      `${lengths}: query id \\d+ records L_t0\\.0 = \\d+, which a recording cut at recorded_max_length \\(--recorded-max-length\\) 10 cannot hold \\(at most 12\\)`,
    ),
  );
  expect(snapshot(data, lengths)).toEqual(before);
  // the recording's own limit (lenpred at 256 for this corpus) is accepted
  expect(
    seqsch(['simulate', '--data', data, '--lengths', lengths, '--num-data', '64', '--recorded-max-length', '256'])
      .status,
  ).toBe(0);
});

describe('predictions files: unique ids, finite lengths ≥ 0, finite seconds ≥ 0', () => {
  const d = tmp();
  const file = (name: string, content: unknown) => {
    const f = join(d, name);
    writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
    return f;
  };
  test.each([
    [
      'negative',
      [
        { id: '1', predicted: 4 },
        { id: '2', predicted: -3 },
      ],
      'entry 1 (id 2): "predicted" must be a finite length ≥ 0, got -3',
    ],
    ['string', [{ id: '1', predicted: 'NaN' }], 'entry 0 (id 1): "predicted" must be a finite length ≥ 0, got "NaN"'],
    ['missing', [{ id: 7 }], 'entry 0 (id 7): "predicted" must be a finite length ≥ 0, got undefined'],
    ['no-id', [{ predicted: 3 }], 'entry 0 has no id (got undefined)'],
    [
      'dup',
      [
        { id: '1', predicted: 3 },
        { id: '1', predicted: 4 },
      ],
      'id "1" appears twice (entries 0 and 1)',
    ],
    [
      'seconds-negative',
      { seconds: -1, predictions: [{ id: '1', predicted: 3 }] },
      '"seconds" must be a finite number ≥ 0',
    ],
    [
      'seconds-text',
      { seconds: 'abc', predictions: [{ id: '1', predicted: 3 }] },
      '"seconds" must be a finite number ≥ 0 (the predictor\'s cost), got "abc"',
    ],
  ])('%s', (name, content, why) => {
    const f = file(`${name}.json`, content);
    expect(() => readPredictions(f)).toThrow(`${f}: ${why}`);
  });
  test('seqsch simulate --strategy po with a negative prediction: refused naming the file and id', () => {
    const { data, lengths } = writeTinyTrace(d, [5, 6, 7]);
    const f = file('po.json', [
      { id: '1', predicted: 4 },
      { id: '2', predicted: -3 },
      { id: '3', predicted: 5 },
    ]);
    const before = snapshot(data, lengths, f);
    const r = seqsch(['simulate', '--data', data, '--lengths', lengths, '--strategy', 'po', '--predictions', f]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${f}: entry 1 (id 2): "predicted" must be a finite length ≥ 0, got -3`);
    expect(snapshot(data, lengths, f)).toEqual(before);
  });
});
