import { cosineWithWarmup, learningRate, warmupSteps } from '../../src/training/schedule.js';

// Reference: HF get_cosine_schedule_with_warmup's lr_lambda (num_cycles 0.5) and TrainingArguments.get_warmup_steps
// (ceil(total × warmup_ratio)), evaluated in float64 by test/training/reference.py (values copied below).
describe('cosine schedule with warmup (HF semantics)', () => {
  test('warmup steps are ceil(ratio × total), an explicit count wins', () => {
    expect(warmupSteps(100, 0.03)).toBe(3);
    expect(warmupSteps(10, 0.03)).toBe(1); // 0.3 rounds up, as HF does
    expect(warmupSteps(1000, 0)).toBe(0);
    expect(warmupSteps(100, 0.03, 7)).toBe(7);
    expect(() => warmupSteps(100, 1.5)).toThrow(/warmupRatio/);
  });

  test('multiplier at steps 0, 1, 2, 3, 10, 50, 99, 100 of a 100-step run with ratio 0.03', () => {
    const expected = [0.0, 1 / 3, 2 / 3, 1.0, 0.9872052623234631, 0.5242811110572242, 0.00026221547724253336, 0.0];
    [0, 1, 2, 3, 10, 50, 99, 100].forEach((s, i) => {
      // same float64 formula, so agreement to 1e-15 (only libm cos rounding can differ)
      expect(Math.abs(cosineWithWarmup(s, 3, 100) - expected[i])).toBeLessThan(1e-15);
    });
  });

  test('a 10-step run with ratio 0.03 warms up for one step', () => {
    const expected = [0.0, 1.0, 0.5868240888334653, 0.03015368960704584];
    [0, 1, 5, 9].forEach((s, i) =>
      expect(Math.abs(learningRate(s, 2e-5, 10, 0.03) - 2e-5 * expected[i])).toBeLessThan(1e-20),
    );
  });

  test('without warmup the first update uses the peak rate', () => {
    expect(learningRate(0, 1e-3, 50, 0)).toBe(1e-3);
  });
});
