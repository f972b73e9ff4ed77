/**
 * The GPU simulator against an independent simulator: Vidur (microsoft/vidur, run by validation/vidur/, its
 * per-request results committed there) on two of its cases at half load — Azure conv under its vllm scheduler
 * (prefill-first, padded 4,096-token budget) and Azure code under Sarathi (chunked, 512) — Llama-2-7B on an A100,
 * like for like (validation/vidur/cases.json). Every metric compare.mjs computes (throughput, e2e / TTFT / TBT mean,
 * p50, p99) must lie within 10 % of Vidur's: the bound; the measured differences are ≤ 4.1 %.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveSchema } from '../../src/serving/config.js';
import { runServe } from '../../src/serving/run.js';

const CASES = [
  { name: 'azure-conv-load50-vllm', trace: 'azure-conv-load50', batching: 'prefill-first', tokens: 4096 },
  { name: 'azure-code-load50-sarathi', trace: 'azure-code-load50', batching: 'chunked', tokens: 512 },
] as const;

test.each(CASES)('$name: every metric within 10 % of Vidur', async (k) => {
  const c = serveSchema.parse({
    engine: 'sim',
    trace: `validation/vidur/traces/${k.trace}.csv`,
    trace_requests: true,
    arrival: 'trace',
    cost_model: 'data/costmodels/a100-llama2-7b.json',
    batching: k.batching,
    max_num_batched_tokens: k.tokens,
    prefill_budget: k.batching === 'prefill-first' ? 'padded' : 'sum',
    max_batch: 128,
    block_size: 16,
    num_gpu_blocks: 7424,
    kv_watermark: 0.01,
    max_length: 4096,
    recorded_max_length: 4096,
  });
  const run = await runServe(c);
  const dir = mkdtempSync(join(tmpdir(), 'vidur-'));
  try {
    writeFileSync(join(dir, 'ours.json'), JSON.stringify({ records: run.result.records }));
    execFileSync(process.execPath, [
      'validation/vidur/compare.mjs',
      k.name,
      join(dir, 'ours.json'),
      '--json',
      join(dir, 'cmp.json'),
    ]);
    const cmp = JSON.parse(readFileSync(join(dir, 'cmp.json'), 'utf8')) as {
      rows: { metric: string; diff_pct: number }[];
    };
    expect(cmp.rows.length).toBeGreaterThanOrEqual(13);
    const off = cmp.rows.filter((r) => !(Math.abs(r.diff_pct) <= 10));
    expect(off).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
