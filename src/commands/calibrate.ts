/**
 * `seqsch calibrate`: fit the simulator's cost model on the per-batch traces of real benchmark runs
 * (`seqsch benchmark --trace`) and write it as a cost-model file for `seqsch simulate --cost-model`. Prints
 * the fitted constants and, per trace, measured generation seconds next to what the fitted model charges.
 */
import { JSON_OPTION, report } from '../core/options/common.js';
import { command, defineOptions } from '../core/options/spec.js';
import type { TraceBatch } from '../cost/calls.js';
import { readJson, writeJson } from '../util/fs.js';

export const calibrateOptions = defineOptions({
  trace: { type: 'list', of: 'string', required: true, describe: 'trace JSON files from seqsch benchmark --trace' },
  out: { type: 'string', required: true, describe: 'cost-model JSON to write' },
  'default-prompt-tokens': { type: 'number', int: true, min: 1, default: 64, describe: 'prompt width for batches without promptTokens' },
  json: JSON_OPTION,
});

/** The batches of a trace file: `{ trace: [...] }` as `seqsch benchmark --trace` writes it, or a bare array. */
export function readTrace(path: string): TraceBatch[] {
  const raw = readJson<unknown>(path);
  const list = Array.isArray(raw) ? raw : (raw as { trace?: unknown })?.trace;
  if (!Array.isArray(list)) throw new Error(`${path}: expected { trace: [{ size, promptTokens, decodeSteps, seconds }, …] }`);
  return list.map((t, i) => {
    const b = t as Record<string, unknown>;
    for (const k of ['size', 'decodeSteps', 'seconds']) {
      if (typeof b[k] !== 'number') throw new Error(`${path}: trace[${i}].${k} must be a number`);
    }
    return b as unknown as TraceBatch;
  });
}

export const calibrateCommand = command({
  command: 'calibrate',
  describe: 'fit the simulator cost model (step and prefill ms) on measured benchmark traces',
  options: calibrateOptions,
  handler: async (argv) => {
    const { costModelFile, fitCostModel, fittedCostModel, replaySeconds } = await import('../cost/calibrate-batches.js');
    const traces = argv.trace.map((p) => ({ path: p, batches: readTrace(p) }));
    const cal = fitCostModel(traces.flatMap((t) => t.batches), argv['default-prompt-tokens']);
    writeJson(argv.out, costModelFile(cal, `fitted by seqsch calibrate on ${traces.map((t) => t.path).join(', ')}`));
    const cm = fittedCostModel(cal.fit);
    const perTrace = traces.map((t) => {
      const measured = t.batches.reduce((s, b) => s + b.seconds, 0);
      const fitted = replaySeconds(cm, t.batches, argv['default-prompt-tokens']);
      return { trace: t.path, batches: t.batches.length, measured_seconds: measured, fitted_seconds: fitted, rel_error: (fitted - measured) / measured };
    });
    const out = { out: argv.out, ...cal.fit, batches: cal.batches, rms_rel_error: cal.rmsRelError, max_rel_error: cal.maxRelError, traces: perTrace };
    report(argv.json, out, () => [
      `step(bs, ctx) = ${cal.fit.stepBaseMs.toFixed(4)} + ${cal.fit.stepPerRowMs.toFixed(4)}·bs + ${cal.fit.stepPerRowTokenMs.toExponential(3)}·bs·ctx ms`,
      `prefill(bs, P) = ${cal.fit.prefillBaseMs.toFixed(4)} + ${cal.fit.prefillPerTokenMs.toExponential(3)}·bs·P ms`,
      `batches: ${cal.batches}, per-batch error: rms ${(cal.rmsRelError * 100).toFixed(1)} %, max ${(cal.maxRelError * 100).toFixed(1)} %`,
      ...perTrace.map((t) => `${t.trace}: measured ${t.measured_seconds.toFixed(2)} s, fitted ${t.fitted_seconds.toFixed(2)} s (${(t.rel_error * 100).toFixed(1)} %)`),
      `wrote ${argv.out}`,
    ].join('\n'));
  },
});
