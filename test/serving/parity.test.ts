/**
 * Token parity, the golden-output test of continuous batching: on the embedded default (ckpts/tiny-v3, 64
 * sampled val queries of data/synthetic-v3), greedy decoding through the step engine — rows at different
 * positions in one running batch, freed cache rows reused, new requests prefilled in a forward of their own
 * (right-padded, with and without the shared system-prompt prefix copied in), preempted and resumed — gives
 * every request exactly the tokens `generate` gives it alone. Three arrival orders; each request has its own
 * cap (3–24 new tokens), so rows end at different steps by EOS or by cap. The test runs on the kernel path the
 * process has (CI: native fused kernels, and again under SEQSCH_BLAS=0 on plain wasm). Exact equality, no
 * tolerance: each row's arithmetic is the same as alone (its own attention lengths; matmul rows independent).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend.js';
import { loadModel, type LoadedModel } from '../../src/engines/load.js';
import { loadBenchItems } from '../../src/workload/items.js';
import type { BenchItem } from '../../src/core/query.js';
import { generate, sharedPrefixLength } from '../../src/generation/generate.js';
import { TfjsStepEngine, type TfjsStepRequest } from '../../src/engines/step-tfjs.js';
import { fusedKernelsActive, rowSlotAttentionActive } from '../../src/kernels/fused.js';
import { repoPath } from '../helpers/paths.js';

const N = 64;
const maxNew = (i: number) => 3 + ((i * 7) % 22);
let m: LoadedModel;
let items: BenchItem[];
let alone: number[][];
let prefix: number[];

beforeAll(async () => {
  await initBackend('wasm');
  m = await loadModel(repoPath('ckpts/tiny-v3'));
  items = loadBenchItems({ data: repoPath('data/synthetic-v3/val.json'), numData: N, seed: 42 });
  alone = [];
  for (const [i, it] of items.entries()) {
    const g = await generate(m.model, [m.tokenizer.encode(it.prompt)], {
      maxNewTokens: maxNew(i),
      eosTokenId: m.tokenizer.eosId,
    });
    alone.push(g.items[0].outputIds);
  }
  const ids = items.map((it) => m.tokenizer.encode(it.prompt));
  prefix = ids[0].slice(0, sharedPrefixLength(ids));
  console.log(
    `parity on ${fusedKernelsActive() ? `native kernels (per-row attention: ${rowSlotAttentionActive()})` : 'plain wasm (composite attention)'}; shared prefix ${prefix.length} tokens`,
  );
});
afterAll(() => m.model.dispose());

/**
 * Serve `order` (indices into items) with up to `perAdmit` admissions per step; every `preemptEvery` steps the
 * newest running row is preempted and the oldest paused one resumed. Returns each request's tokens and the
 * cache rows each request used.
 */
async function serve(
  order: number[],
  o: { maxBatch: number; perAdmit: number; prefix: boolean; preemptEvery?: number },
) {
  const eng = new TfjsStepEngine(m.model, m.tokenizer, {
    maxBatch: o.maxBatch,
    pausedRows: o.preemptEvery ? 2 : 0,
    capacity: 64,
    prefix: o.prefix ? prefix : [],
  });
  const queue = order.map((i) => eng.request(items[i].id, items[i].prompt, maxNew(i)));
  const out = new Map<string, number[]>();
  const rowsUsed = new Set<number>();
  let steps = 0;
  let preempted = 0;
  try {
    while (out.size < order.length) {
      const preemptNow = o.preemptEvery !== undefined && steps % o.preemptEvery === o.preemptEvery - 1;
      if (preemptNow && eng.paused().length < 2 && eng.running().length > 1) {
        eng.preempt(eng.running().at(-1)!);
        preempted++;
      } else if (eng.paused().length && eng.freeSlots() > 0) eng.resume(eng.paused()[0]); // paused rows go first
      const adm: TfjsStepRequest[] = [];
      while (queue.length && adm.length < o.perAdmit && eng.fits([...adm, queue[0]])) adm.push(queue.shift()!);
      const results = [];
      if (adm.length) results.push(await eng.admit(adm));
      if (eng.running().length) {
        results.push(await eng.step());
        steps++;
      }
      for (const r of results)
        for (const u of r.updates) {
          if (!u.finished) continue;
          out.set(u.id, eng.outputIds(u.id));
          eng.evict(u.id);
        }
      for (const id of [...eng.running(), ...eng.paused()])
        rowsUsed.add((eng as unknown as { rows: Map<string, { slot: number }> }).rows.get(id)!.slot);
    }
  } finally {
    eng.dispose();
  }
  return { out, rowsUsed, preempted };
}

function expectParity(out: Map<string, number[]>): void {
  const wrong = items.flatMap((it, i) => (JSON.stringify(out.get(it.id)) === JSON.stringify(alone[i]) ? [] : [it.id]));
  expect(wrong).toEqual([]);
  expect(out.size).toBe(N);
}

test('the references: 64 requests whose answers end at different steps, some by EOS and some by their cap', () => {
  const eos = alone.filter((a, i) => a.length < maxNew(i)).length;
  expect(eos).toBeGreaterThan(4);
  expect(N - eos).toBeGreaterThan(4);
  expect(new Set(alone.map((a) => a.length)).size).toBeGreaterThan(8);
});

test('arrival in sampled order, shared prefix copied in: every request gets its tokens from generating it alone', async () => {
  const before = tf.memory().numTensors;
  const { out, rowsUsed } = await serve(
    items.map((_, i) => i),
    { maxBatch: 8, perAdmit: 3, prefix: true },
  );
  expectParity(out);
  expect(rowsUsed.size).toBe(8); // 64 requests through 8 rows: every freed row was reused
  expect(tf.memory().numTensors).toBe(before);
});

test('reversed arrival, no prefix cache, one admission per step', async () => {
  const { out } = await serve(
    items.map((_, i) => N - 1 - i),
    { maxBatch: 6, perAdmit: 1, prefix: false },
  );
  expectParity(out);
});

test('interleaved arrival with rows preempted and resumed (KV kept)', async () => {
  const { out, preempted } = await serve(
    items.map((_, k) => (k * 37) % N),
    { maxBatch: 8, perAdmit: 4, prefix: true, preemptEvery: 3 },
  );
  expectParity(out);
  expect(preempted).toBeGreaterThan(20);
});
