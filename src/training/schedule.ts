/**
 * Learning-rate schedule: linear warmup then cosine decay to zero, exactly as Hugging Face's
 * `get_cosine_schedule_with_warmup` (num_cycles 0.5), with the warmup length HF TrainingArguments
 * derives from `warmup_ratio` (ceil(ratio × total optimizer steps)). It only computes numbers; the
 * trainer decides which step uses which value.
 */

/** HF `TrainingArguments.get_warmup_steps`: an explicit count wins, else ceil(ratio × total steps). */
export function warmupSteps(totalSteps: number, warmupRatio: number, explicitWarmup = 0): number {
  if (!(warmupRatio >= 0 && warmupRatio <= 1)) throw new Error(`warmupRatio must be in [0, 1], got ${warmupRatio}`);
  return explicitWarmup > 0 ? explicitWarmup : Math.ceil(totalSteps * warmupRatio);
}

/**
 * The multiplier HF's LambdaLR applies after `step` scheduler steps, i.e. the factor used by the
 * optimizer update number `step` (0-based: the first update uses step 0, which is 0 under warmup).
 */
export function cosineWithWarmup(step: number, warmup: number, totalSteps: number, numCycles = 0.5): number {
  if (step < warmup) return step / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, totalSteps - warmup);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
}

/** Learning rate of the 0-based optimizer update `step` for peak `lr`. */
export function learningRate(step: number, lr: number, totalSteps: number, warmupRatio: number): number {
  return lr * cosineWithWarmup(step, warmupSteps(totalSteps, warmupRatio), totalSteps);
}
