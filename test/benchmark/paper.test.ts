/**
 * The paper's benchmark rows replayed on the recorded Vicuna-7B lengths. The paper's figures come from real
 * generation, where a batch's composition changes fp16 results and so the lengths, so the simulation is held
 * to 3% (relative) on average length and 3 percentage points on ETR, as the issue states.
 */
import { ALPACA } from '../helpers/paths.js';
import { loadBenchItems } from '../../src/workload/items.js';
import { simulate } from '../../src/benchmark/simulate.js';
import { DEFAULT_SCHEDULE } from '../../src/scheduling/schedule.js';

describe('simulated paper table (alpaca val, 1024 queries, seed 42)', () => {
  const items = loadBenchItems({ data: ALPACA.valData, lengths: ALPACA.valLengths, numData: 1024, seed: 42 });
  const run = (strategy: 'vanilla' | 'gt', vbs: boolean, fcr: boolean) =>
    simulate(items, {
      strategy,
      schedule: { ...DEFAULT_SCHEDULE, vbs, fcr },
      maxLength: 512,
      groupSize: 256,
      realLengths: 'L_t0.0',
      recordedMaxLength: 512,
    });

  test('the sample is numpy permutation(10000)[:1024] with seed 42 (record 6252 first)', () => {
    expect(items).toHaveLength(1024);
    expect(items[0].id).toBe('32304');
  });

  test('vanilla: average length within 3% of 370.84, ETR within 3 points of 33.91%', async () => {
    const r = await run('vanilla', false, false);
    expect(Math.abs(r.average_length / 370.84 - 1)).toBeLessThan(0.03);
    expect(Math.abs(r.effective_token_ratio * 100 - 33.91)).toBeLessThan(3);
    expect(r.failure_ratio).toBe(0);
  });

  test('gt + VBS + FCR: average length within 3% of 196.34, ETR within 3 points of 61.57%', async () => {
    const r = await run('gt', true, true);
    expect(Math.abs(r.average_length / 196.34 - 1)).toBeLessThan(0.03);
    expect(Math.abs(r.effective_token_ratio * 100 - 61.57)).toBeLessThan(3);
  });
});
