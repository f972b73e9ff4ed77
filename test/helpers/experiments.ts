/** Experiment files and the tiny traces they read, shared by the experiment tests. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conversation } from './conversations.js';
import { repoPath } from './paths.js';

/** A `benchmark` stage on the embedded default's model and val queries; `keys` (YAML lines indented by 4) complete it. */
export function tinyBenchmarkStage(keys: string): string {
  return `  - stage: benchmark
    model: ${repoPath('ckpts/tiny-v3')}
    data: ${repoPath('data/synthetic-v3/val.json')}
    lengths: ${repoPath('data/synthetic-v3/val-length.json')}
${keys}`;
}

/**
 * A trace of one query per entry of `real` (its recorded length, tokens) written into `dir`: conv.json (ids from 1,
 * "query i" and a one-letter answer) and len.json (L_gt and every L_t* equal to `real`, L_t0.5 one longer).
 * Returns the two paths.
 */
export function writeTinyTrace(dir: string, real: number[]): { data: string; lengths: string } {
  const data = join(dir, 'conv.json');
  const lengths = join(dir, 'len.json');
  writeFileSync(data, JSON.stringify(real.map((_, i) => conversation(String(i + 1), `query ${i}`, 'a'))));
  writeFileSync(
    lengths,
    JSON.stringify(
      real.map((r, i) => ({ id: String(i + 1), L_gt: r, 'L_t0.0': r, 'L_t0.3': r, 'L_t0.5': r + 1, 'L_t0.7': r })),
    ),
  );
  return { data, lengths };
}

/** Writes `<dir>/<name>.yaml`, the experiment `name` of the given `stages:` list (YAML indented by 2); its path. */
export function experimentFile(dir: string, name: string, stages: string): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, `experiment: ${name}\nstages:\n${stages}`);
  return f;
}
