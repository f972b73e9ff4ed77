/**
 * Calibration: on a synthetic trace charged by a known linear cost model, the NNLS fit recovers its five
 * constants (to 1e-6 relative: the data are exact, only float64 rounding remains), the written file
 * interpolates back to the same model, and a zero constant is fitted as exactly zero, never negative.
 */
import { batchSeconds, costModelFromPoints, type CostModel } from '../../src/cost/costmodel.js';
import { costModelFile, fitCostModel, replaySeconds, type CostFit } from '../../src/cost/calibrate-batches.js';
import type { TraceBatch } from '../../src/cost/calls.js';

const truth: CostFit = {
  stepBaseMs: 7.5,
  stepPerRowMs: 1.25,
  stepPerRowTokenMs: 0.004,
  prefillBaseMs: 3,
  prefillPerTokenMs: 0.02,
};
const model = (f: CostFit): CostModel => ({
  description: 'truth',
  stepMs: (bs, ctx) => f.stepBaseMs + f.stepPerRowMs * bs + f.stepPerRowTokenMs * bs * ctx,
  prefillMs: (bs, p) => f.prefillBaseMs + f.prefillPerTokenMs * bs * p,
});

/** Batches of varied size, prompt width and steps, timed by `f` exactly. */
function syntheticTrace(f: CostFit): TraceBatch[] {
  const out: TraceBatch[] = [];
  for (const size of [1, 4, 16, 64])
    for (const promptTokens of [30, 80])
      for (const decodeSteps of [5, 40, 200])
        out.push({ size, promptTokens, decodeSteps, seconds: batchSeconds(model(f), size, promptTokens, decodeSteps) });
  return out;
}

test('recovers known step and prefill constants from an exact synthetic trace', () => {
  const cal = fitCostModel(syntheticTrace(truth));
  for (const k of Object.keys(truth) as (keyof CostFit)[])
    expect(Math.abs(cal.fit[k] - truth[k]) / truth[k]).toBeLessThan(1e-6);
  expect(cal.maxRelError).toBeLessThan(1e-9);
  expect(cal.batches).toBe(24);
});

test('the written cost-model file replays the trace with the fitted model (bilinear, so interpolation is exact)', () => {
  const trace = syntheticTrace(truth);
  const file = costModelFile(fitCostModel(trace), 'test');
  const cm = costModelFromPoints(file, 'test');
  const measured = trace.reduce((s, t) => s + t.seconds, 0);
  expect(Math.abs(replaySeconds(cm, trace) - measured) / measured).toBeLessThan(1e-6);
  // off-node values interpolate exactly too (bs 24, ctx 300 lie between grid nodes)
  expect(cm.stepMs(24, 300)).toBeCloseTo(7.5 + 1.25 * 24 + 0.004 * 24 * 300, 4);
});

test('a constant absent from the truth is fitted as 0, not negative; noise of ±3% leaves the total within 1%', () => {
  const noBase = { ...truth, stepBaseMs: 0, prefillBaseMs: 0 };
  const cal = fitCostModel(syntheticTrace(noBase));
  expect(cal.fit.stepBaseMs).toBeGreaterThanOrEqual(0);
  expect(cal.fit.stepBaseMs).toBeLessThan(1e-6);
  // deterministic ±3% multiplicative noise, alternating sign
  const noisy = syntheticTrace(truth).map((t, i) => ({ ...t, seconds: t.seconds * (i % 2 ? 1.03 : 0.97) }));
  const c2 = fitCostModel(noisy);
  expect(Math.abs(c2.fittedSeconds - c2.measuredSeconds) / c2.measuredSeconds).toBeLessThan(0.01);
  expect(Object.values(c2.fit).every((v) => v >= 0)).toBe(true);
});

test('an empty trace is refused', () => {
  expect(() => fitCostModel([])).toThrow(/no batch/);
});
